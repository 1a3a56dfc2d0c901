"""What a bot is, read from its files: README, languages, frameworks, entry point, systems, and the optional
`rpabank.yaml` manifest that overrides and adds. A broken manifest is reported, never silently dropped."""

from __future__ import annotations

import contextlib
import json
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

import msgspec
import yaml

from codebank.git import Entry, is_binary
from codebank.markdown import first_heading_and_paragraph

MANIFEST = "rpabank.yaml"
LANGUAGES = {
    ".py": "Python",
    ".cs": "C#",
    ".ps1": "PowerShell",
    ".js": "JavaScript",
    ".ts": "TypeScript",
    ".sql": "SQL",
    ".xaml": "XAML",
    ".vb": "Visual Basic",
    ".java": "Java",
    ".json": "JSON",
    ".yaml": "YAML",
    ".yml": "YAML",
    ".md": "Markdown",
    ".sh": "Shell",
    ".bas": "VBA",
    ".html": "HTML",
    ".css": "CSS",
    ".xml": "XML",
}
KNOWN_SYSTEMS = [
    "eDoc",
    "KMD Opus",
    "KMD Nexus",
    "Nexus",
    "SAPA",
    "KSD",
    "DUBU",
    "Aula",
    "Serviceplatformen",
    "CPR",
    "Digital Post",
    "NemRefusion",
    "SOFD Core",
    "OS2rollekatalog",
    "FK Organisation",
    "Politiets attestløsning",
    "SharePoint",
    "Outlook",
    "Microsoft Teams",
    "eIndkomst",
    "NemHandel",
]
_SYSTEM_RES = [(name, re.compile(r"(?<![\w])" + re.escape(name) + r"(?![\w])", re.I)) for name in KNOWN_SYSTEMS]


class Manifest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: str | None = None
    summary: str | None = None
    processes: list[str] = msgspec.field(default_factory=list)
    technologies: list[str] = msgspec.field(default_factory=list)
    systems: list[str] = msgspec.field(default_factory=list)
    principles: list[str] = msgspec.field(default_factory=list)
    licence: str | None = None


def parse_manifest(text: str) -> tuple[dict[str, Any] | None, str | None]:
    """(the manifest as a dict, None) or (None, what is wrong with it)."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return None, f"{MANIFEST} is not valid YAML: " + str(exc).replace("\n", " ")[:300]
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        return None, f"{MANIFEST} must be a mapping (name: …, processes: […])"
    if "license" in raw and "licence" not in raw:
        raw["licence"] = raw.pop("license")
    try:
        manifest = msgspec.convert(raw, Manifest)
    except msgspec.ValidationError as exc:
        return None, f"{MANIFEST}: {exc}"
    return msgspec.to_builtins(manifest), None


def extract(files: list[Entry], read: Callable[[list[Entry]], dict[str, bytes]]) -> dict[str, Any]:
    """Facts about a repository at one commit. `read` returns the contents of the given entries by path."""
    blobs = [f for f in files if f.kind == "file"]
    by_path = {f.path: f for f in blobs}
    languages = Counter(LANGUAGES[ext] for f in blobs if (ext := _ext(f.path)) in LANGUAGES)
    readme_entry = next(
        (
            f
            for f in sorted(blobs, key=lambda f: len(f.path))
            if "/" not in f.path and f.path.lower().split(".")[0] == "readme"
        ),
        None,
    )
    interesting = [
        f
        for f in blobs
        if (f.size or 0) <= 256 * 1024
        and (
            f is readme_entry
            or f.path in ("pyproject.toml", "requirements.txt", "project.json", MANIFEST)
            or f.path.endswith((".csproj", "definition.json", "manifest.json"))
        )
    ]
    contents = read(interesting)
    text = {p: c.decode("utf-8", "replace") for p, c in contents.items() if not is_binary(c)}

    frameworks: list[str] = []
    technologies: list[str] = []
    entry_point: str | None = None
    if "pyproject.toml" in by_path or "requirements.txt" in by_path:
        frameworks.append("Python-pakke" if "pyproject.toml" in by_path else "Python (requirements.txt)")
    if languages.get("Python"):
        technologies.append("Python")
        entry_point = next(
            (p for p in ("__main__.py", "main.py", "src/main.py", "bot.py") if p in by_path), None
        ) or next((f.path for f in blobs if f.path.endswith("__main__.py")), None)
    csproj = [f.path for f in blobs if f.path.endswith(".csproj")]
    if csproj:
        frameworks.append(".NET (" + ", ".join(csproj[:3]) + ")")
        technologies.append("C#")
        entry_point = entry_point or next((f.path for f in blobs if f.path.endswith("Program.cs")), csproj[0])
    flows = [p for p, t in text.items() if p.endswith("definition.json") and _is_flow(t)]
    if flows or any(f.path.startswith("Microsoft.Flow/") for f in blobs):
        frameworks.append("Power Automate flow export")
        technologies.append("Power Automate")
        entry_point = entry_point or (flows[0] if flows else None)
    if "project.json" in text and any(f.path.endswith(".xaml") for f in blobs):
        frameworks.append("UiPath")
        technologies.append("UiPath")
        with contextlib.suppress(ValueError, AttributeError):
            entry_point = entry_point or json.loads(text["project.json"]).get("main")

    readme_title, readme_excerpt = (None, None)
    readme_text = text.get(readme_entry.path, "") if readme_entry else ""
    if readme_text:
        readme_title, readme_excerpt = first_heading_and_paragraph(readme_text)
    haystack = readme_text + "\n" + "\n".join(text.values())
    systems = [name for name, pattern in _SYSTEM_RES if pattern.search(haystack)]
    if "KMD Nexus" in systems and "Nexus" in systems:
        systems.remove("Nexus")
    return {
        "readme_path": readme_entry.path if readme_entry else None,
        "readme_title": readme_title,
        "readme_excerpt": readme_excerpt,
        "languages": dict(languages.most_common()),
        "frameworks": frameworks,
        "technologies": technologies,
        "entry_point": entry_point,
        "systems": systems,
        "manifest_text": text.get(MANIFEST),
        "has_manifest": MANIFEST in by_path,
    }


def _ext(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""


def _is_flow(text: str) -> bool:
    return "Microsoft.Logic" in text or ('"triggers"' in text and '"actions"' in text)
