"""Safe, read-only access to bot repositories kept as bare mirrors.

Nothing from a repository is ever executed: mirrors are bare (no checkout, so no filters or checkout hooks),
hooks are pointed at an empty path, submodules are never fetched, symlinks are reported and never followed,
and no user text reaches git as an option or an unchecked revision. Clone and fetch have time and size limits.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from git import Git as GitCommand
from git.exc import GitCommandError

from codebank.errors import GitError
from core.errors import Invalid, NotFound
from core.urls import split_url

MODE_SYMLINK = "120000"
MAX_BLOB = 1024 * 1024  # larger blobs are listed, not returned or indexed
CLONE_TIMEOUT = 300  # a clone or fetch, all in all
CONNECT_TIMEOUT = 10.0  # reaching the host (TCP and TLS, or ssh)
STALL_SECONDS = 30  # a transfer slower than 1 KB/s for this long is given up
MAX_REPO_BYTES = 500 * 1024 * 1024
MAX_REPO_FILES = 20_000  # paths at the head; a larger repository is refused before anything is read

_SCP = re.compile(r"^(?P<user>[A-Za-z0-9._-]+)@(?P<host>[A-Za-z0-9.-]+):(?P<path>[^\s]+)$")
_REF = re.compile(r"^(?!-)(?!.*\.\.)(?!.*//)(?!/)(?!.*@\{)[A-Za-z0-9._/+-]{1,200}(?<!/)(?<!\.lock)(?<!\.)$")
_SHA = re.compile(r"^[0-9a-f]{7,40}$")


# ---------------------------------------------------------------- validation


def validate_url(url: str, *, allow_local: bool) -> str:
    """The repository URL if it is one we accept; Invalid (400/422) with a reason otherwise.

    Accepted: https://host/path, ssh://[user@]host/path, user@host:path (scp form), and — only with
    `allow_local` — an absolute path to a local repository. Never: ext::, fd::, option-like text,
    other schemes, or credentials in the URL.
    """
    url = url.strip()
    if not url:
        raise Invalid("url must not be empty.", field="url", code="empty")
    if url.startswith("-"):
        raise Invalid("url must not start with '-'.", field="url", code="option")
    if any(ch in url for ch in "\0\n\r\t ") or "::" in url:
        raise Invalid(
            "url has characters or a transport (such as ext:: or fd::) that are not allowed.",
            field="url",
            code="characters",
        )
    if url.startswith("/"):
        if not allow_local:
            raise Invalid(
                "Local paths are not allowed here (set RPABANK_ALLOW_LOCAL_REPOS=1 to allow them).",
                field="url",
                code="local_not_allowed",
            )
        if not Path(url).exists():
            raise Invalid(f"No repository at {url}.", field="url", code="no_repository")
        return str(Path(url).resolve())
    if _SCP.match(url) and "://" not in url:
        if ":" in _SCP.match(url).group("user"):  # type: ignore[union-attr]
            raise Invalid("url must not contain credentials.", field="url", code="credentials")
        return url
    parts = split_url(url)
    if parts.scheme not in ("https", "ssh"):
        raise Invalid(
            f"url scheme {parts.scheme or '(none)'!r} is not allowed; use https://, ssh:// or git@host:path.",
            field="url",
            code="scheme",
        )
    if not parts.hostname:
        raise Invalid("url has no host.", field="url", code="no_host")
    if parts.password is not None or (parts.scheme == "https" and parts.username is not None):
        raise Invalid(
            "url must not contain credentials; give the bank read access another way.",
            field="url",
            code="credentials",
        )
    return url


def validate_ref(ref: str) -> str:
    """A branch, tag or commit name that cannot be mistaken for an option or a revision expression."""
    if not ref or not _REF.match(ref):
        raise Invalid(f"ref {ref[:80]!r} is not a valid branch, tag or commit name.", field="ref")
    return ref


def validate_path(path: str) -> str:
    """A relative path inside the repository ('' for the root). No absolute paths, no '..'."""
    if path in ("", "/", "."):
        return ""
    if "\0" in path or path.startswith("/") or path.startswith("\\"):
        raise Invalid("path must be relative to the repository root.", field="path")
    parts = PurePosixPath(path).parts
    if any(p in ("..", ".") for p in parts) or ".." in path.split("/"):
        raise Invalid("path must not contain '..'.", field="path")
    return "/".join(parts)


# ---------------------------------------------------------------- running git


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        {
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_ASKPASS": "true",
            "SSH_ASKPASS": "true",
            "GIT_SSH_COMMAND": (
                f"ssh -o BatchMode=yes -o StrictHostKeyChecking=accept-new -o ConnectTimeout={CONNECT_TIMEOUT:.0f}"
            ),
            "GIT_ALLOW_PROTOCOL": "https:ssh:file",
            "LC_ALL": "C",
        }
    )
    return env


SAFE_CONFIG = [
    "-c",
    "core.hooksPath=/dev/null",
    "-c",
    "protocol.ext.allow=never",
    "-c",
    "protocol.fd.allow=never",
    "-c",
    "core.symlinks=false",
    "-c",
    "submodule.recurse=false",
    "-c",
    "core.fsmonitor=false",
    "-c",
    "uploadpack.allowFilter=false",
    "-c",
    "http.lowSpeedLimit=1000",
    "-c",
    f"http.lowSpeedTime={STALL_SECONDS}",
]


def run_git(args: list[str], *, cwd: Path | None = None, timeout: float = 60) -> bytes:
    """Run one git command through GitPython, with the safe configuration, a clean environment and a timeout."""
    try:
        out = GitCommand(str(cwd) if cwd else None).execute(
            ["git", *SAFE_CONFIG, *args],
            env=_env(),
            kill_after_timeout=timeout,
            stdout_as_string=False,
            with_extended_output=False,
        )
    except GitCommandError as exc:
        stderr = (exc.stderr or "").strip().splitlines()
        last = stderr[-1] if stderr else f"exit {exc.status}"
        if exc.status == -9 or "timeout" in last.lower():
            raise GitError(f"git {args[0]} took longer than {timeout:.0f} s") from exc
        raise GitError(f"git {args[0]} failed: {last}") from exc
    return out if isinstance(out, bytes) else str(out).encode()


def probe(url: str, *, timeout: float = CONNECT_TIMEOUT) -> None:
    """Check that the host of a remote repository answers within `timeout` (git itself would wait minutes for a
    host that accepts the connection and then stays silent). Local paths need no probe, and neither do hosts
    reached through a proxy (git then talks to the proxy, not the host; its stall limit still applies)."""
    if url.startswith("/") or _proxied(url):
        return
    scp = _SCP.match(url)
    if scp and "://" not in url:
        host, port, tls = scp.group("host"), 22, False
    else:
        parts = urlsplit(url)
        host, tls = parts.hostname or "", parts.scheme == "https"
        port = parts.port or (443 if tls else 22)
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            if tls:
                context = _probe_context()
                sock.settimeout(timeout)
                with context.wrap_socket(sock, server_hostname=host):
                    pass
            else:
                sock.settimeout(timeout)
                if not sock.recv(1):  # an ssh server speaks first
                    raise OSError("the connection was closed")
    except (OSError, ssl.SSLError) as exc:
        reason = "no answer" if isinstance(exc, TimeoutError) else type(exc).__name__
        raise GitError(f"{host}:{port} did not answer within {timeout:.0f} s ({reason})") from None


def _probe_context() -> ssl.SSLContext:
    """A TLS context that only asks whether the host answers (git checks the certificate). It loads no
    certificate store: `ssl.create_default_context()` reads the system's, which holds the GIL for a few tenths
    of a second and so stalls every request of the server while a bot is registered."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _proxied(url: str) -> bool:
    names = ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY") if url.startswith("https://") else ()
    return any(os.environ.get(name) for name in names)


def count_paths(repo: Path, commit: str, limit: int) -> int:
    """The number of files (paths) at `commit`, counting no further than `limit` + 1: a repository made to list
    millions of paths (a "git bomb") is stopped as soon as it is over the limit."""
    process = subprocess.Popen(
        ["git", *SAFE_CONFIG, "ls-tree", "-r", "-z", "--name-only", commit],
        cwd=repo,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    count = 0
    assert process.stdout is not None
    try:
        while chunk := process.stdout.read(65536):
            count += chunk.count(b"\0")
            if count > limit:
                break
    finally:
        process.kill()
        process.wait()
    return min(count, limit + 1)


def _dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def clone_mirror(url: str, dest: Path, *, timeout: float = CLONE_TIMEOUT, max_bytes: int = MAX_REPO_BYTES) -> None:
    """A bare mirror of `url` at `dest` (replaced if a half-made one is there)."""
    tmp = dest.with_name(dest.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    try:
        run_git(["clone", "--mirror", "--no-local", "--", url, str(tmp)], timeout=timeout)
        if _dir_size(tmp) > max_bytes:
            raise GitError(f"the repository is larger than {max_bytes // (1024 * 1024)} MB")
        shutil.rmtree(tmp / "hooks", ignore_errors=True)
        shutil.rmtree(dest, ignore_errors=True)
        tmp.rename(dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def move_into_place(staging: Path, mirror: Path) -> None:
    """Put a complete clone where the mirror belongs, atomically (a rename on one file system). A mirror already
    there (left by an earlier registration of the same slug) is moved aside first and removed."""
    mirror.parent.mkdir(parents=True, exist_ok=True)
    old = mirror.with_name(f".old-{mirror.name}-{os.getpid()}-{id(staging)}")
    if mirror.exists():
        os.rename(mirror, old)
    os.rename(staging, mirror)
    shutil.rmtree(old, ignore_errors=True)


def remove_mirror(mirror: Path, trash: Path) -> None:
    """Remove a mirror: first renamed out of the way (atomic), then deleted."""
    try:
        os.rename(mirror, trash)
    except FileNotFoundError:
        return
    shutil.rmtree(trash, ignore_errors=True)


def fetch_mirror(repo: Path, *, timeout: float = CLONE_TIMEOUT, max_bytes: int = MAX_REPO_BYTES) -> None:
    """Bring a mirror up to date; force-pushed and deleted refs follow the origin."""
    run_git(["fetch", "--prune", "--force", "--no-recurse-submodules", "origin"], cwd=repo, timeout=timeout)
    if _dir_size(repo) > max_bytes:
        raise GitError(f"the repository grew larger than {max_bytes // (1024 * 1024)} MB")


# ---------------------------------------------------------------- reading


@dataclass(frozen=True)
class RefInfo:
    name: str
    kind: str  # branch | tag
    commit: str
    date: str  # ISO 8601 of the commit (or tag)


@dataclass(frozen=True)
class Entry:
    path: str  # display path (UTF-8, undecodable bytes replaced)
    name: str
    kind: str  # file | dir | symlink | submodule
    mode: str
    sha: str
    size: int | None


def decode_name(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def refs(repo: Path) -> list[RefInfo]:
    out = run_git(
        [
            "for-each-ref",
            "--format=%(refname)%00%(objectname)%00%(*objectname)%00%(creatordate:iso-strict)",
            "refs/heads",
            "refs/tags",
        ],
        cwd=repo,
    )
    found = []
    for line in out.decode("utf-8", "replace").splitlines():
        name, obj, peeled, date = line.split("\0")
        if name.startswith("refs/heads/"):
            found.append(RefInfo(name=name[len("refs/heads/") :], kind="branch", commit=obj, date=date))
        else:
            found.append(RefInfo(name=name[len("refs/tags/") :], kind="tag", commit=peeled or obj, date=date))
    return found


def default_branch(repo: Path) -> str | None:
    try:
        head = run_git(["symbolic-ref", "--quiet", "HEAD"], cwd=repo).decode().strip()
    except GitError:
        return None
    return head.removeprefix("refs/heads/") or None


def resolve(repo: Path, ref: str | None) -> str:
    """The commit a ref names (default: HEAD). Unknown refs are NotFound."""
    if ref is None:
        ref = "HEAD"
    else:
        ref = validate_ref(ref)
        if not _SHA.match(ref):
            # only real branch and tag names, never revision expressions
            names = {r.name for r in refs(repo)}
            if ref not in names:
                raise NotFound(f"No branch or tag called {ref!r}.", field="ref")
            ref = (
                f"refs/tags/{ref}"
                if any(r.name == ref and r.kind == "tag" for r in refs(repo))
                else f"refs/heads/{ref}"
            )
    try:
        return (
            run_git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"], cwd=repo)
            .decode()
            .strip()
        )
    except GitError:
        raise NotFound(f"No commit {ref!r} in this repository.", field="ref") from None


def tree(repo: Path, commit: str, path: str = "") -> list[Entry]:
    """The entries of one folder at a commit. NotFound when the path is not a folder there."""
    path = validate_path(path)
    spec = f"{commit}:{path}" if path else f"{commit}^{{tree}}"
    try:
        kind = run_git(["cat-file", "-t", spec], cwd=repo).decode().strip()
    except GitError:
        raise NotFound(f"No folder {path!r} at this ref.", field="path") from None
    if kind != "tree":
        raise NotFound(f"{path!r} is not a folder.", field="path")
    out = run_git(["ls-tree", "-z", "--long", "--end-of-options", spec], cwd=repo)
    entries = [_entry(raw, path) for raw in out.split(b"\0") if raw]
    entries.sort(key=lambda e: (e.kind != "dir", e.name.lower()))
    return entries


def _entry(raw: bytes, parent: str) -> Entry:
    meta, _, name_raw = raw.partition(b"\t")
    mode, otype, sha, size = meta.decode().split(maxsplit=3)
    name = decode_name(name_raw)
    kind = {"tree": "dir", "commit": "submodule"}.get(otype, "file")
    if mode == MODE_SYMLINK:
        kind = "symlink"
    return Entry(
        path=f"{parent}/{name}" if parent else name,
        name=name,
        kind=kind,
        mode=mode,
        sha=sha,
        size=int(size) if size.strip().isdigit() else None,
    )


def all_files(repo: Path, commit: str) -> list[Entry]:
    """Every blob of a commit (recursively), with sizes; symlinks and submodules included as such."""
    out = run_git(["ls-tree", "-r", "-z", "--long", "--end-of-options", commit], cwd=repo)
    return [_entry(raw, "") for raw in out.split(b"\0") if raw]


def entry_at(repo: Path, commit: str, path: str) -> Entry:
    path = validate_path(path)
    if not path:
        raise Invalid("path names a file; give one.", field="path")
    parent, _, _name = path.rpartition("/")
    for entry in tree(repo, commit, parent):
        if entry.path == path:
            return entry
    raise NotFound(f"No file {path!r} at this ref.", field="path")


_OBJECT_ID = re.compile(r"[0-9a-fA-F]{40}(?:[0-9a-fA-F]{24})?")  # SHA-1 or SHA-256


def read_blobs(repo: Path, shas: list[str]) -> Iterator[tuple[str, bytes]]:
    """(sha, content) for many blobs, in their order, streamed from one `git cat-file --batch`: the names go in
    from a thread while the contents are read, so git never waits for a round trip. Missing ones and names that
    are not object ids are left out."""
    wanted = [sha for sha in shas if _OBJECT_ID.fullmatch(sha)]
    if not wanted:
        return
    process = subprocess.Popen(
        ["git", *SAFE_CONFIG, "cat-file", "--batch"],
        cwd=repo,
        env=_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert process.stdin is not None and process.stdout is not None
    stdin, stdout = process.stdin, process.stdout

    def feed() -> None:
        with contextlib.suppress(OSError):  # git stopped early (the reader gave up): nothing more to say
            stdin.write("".join(f"{sha}\n" for sha in wanted).encode())
        with contextlib.suppress(OSError):
            stdin.close()

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    try:
        for sha in wanted:
            header = stdout.readline().split()
            if len(header) == 3 and header[1] == b"blob":
                content = stdout.read(int(header[2]))
                stdout.read(1)  # the newline after each object
                yield sha, content
            elif len(header) == 3:  # an object of another kind
                stdout.read(int(header[2]) + 1)
            elif not header:
                raise GitError("git cat-file stopped before it was done")
    finally:
        process.kill()
        process.wait()
        writer.join()
        stdout.close()


def read_blob(repo: Path, sha: str) -> bytes:
    for _, content in read_blobs(repo, [sha]):
        return content
    raise NotFound("That file's content is missing from the mirror.")


def changed_files(repo: Path, old: str, new: str) -> list[tuple[str, str]]:
    """(status A/M/D/T, path) between two commits; renames are a delete and an add."""
    out = run_git(["diff-tree", "-r", "-z", "--no-renames", "--name-status", "--end-of-options", old, new], cwd=repo)
    items = [x for x in out.split(b"\0") if x]
    return [(items[i].decode()[0], decode_name(items[i + 1])) for i in range(0, len(items) - 1, 2)]


def commit_exists(repo: Path, sha: str) -> bool:
    try:
        run_git(["cat-file", "-e", f"{sha}^{{commit}}"], cwd=repo)
        return True
    except GitError:
        return False


def is_binary(content: bytes) -> bool:
    return b"\0" in content[:8000]
