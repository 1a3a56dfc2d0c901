"""Which files of a repository are searched as its own code: not others' code kept beside it, not files that tools
write, not minified bundles (they stay among the bot's files)."""

from __future__ import annotations

import pytest

from codebank.search_documents import MINIFIED_SIZE, is_minified, is_own_code


@pytest.mark.parametrize(
    "path",
    [
        "src/robot.py",
        "Main.xaml",
        "Framework/Process.xaml",
        "project.json",
        "web/app.js",
        "vendored.py",  # a name that only sounds like a folder
        "docs/vendor-notes.md",
        "src/lock.json",
        "node_modules.md",
    ],
)
def test_a_bots_own_files_are_searched(path: str) -> None:
    assert is_own_code(path)


@pytest.mark.parametrize(
    "path",
    [
        "node_modules/left-pad/index.js",
        "web/node_modules/react/index.js",
        "vendor/github.com/x/y.go",
        "lib/third_party/zlib/zlib.h",
        ".venv/lib/python3.11/site-packages/requests/api.py",
        "src/__pycache__/robot.cpython-311.pyc",
        ".local/nuget/packages.json",
        ".objects/.metadata",
        ".settings/Debug.json",
        "package-lock.json",
        "web/yarn.lock",
        "Poetry.lock",
        "static/jquery.min.js",
        "static/site.MIN.CSS",
        "static/app.js.map",
        "Forms/Main.Designer.cs",
    ],
)
def test_vendored_and_generated_files_are_not_searched(path: str) -> None:
    assert not is_own_code(path)


def test_minified_text_is_told_from_written_code() -> None:
    written = "\n".join(f"def trin_{i}(sag):\n    return hent(sag, {i})" for i in range(200))
    bundle = "!function(e){" + ";".join(f"var a{i}=e.b{i}||{{}}" for i in range(400)) + "}(window);\n"
    one_line_config = '{"robot": "attester", "kø": "Straffeattester"}'
    assert len(written) > MINIFIED_SIZE and len(bundle) > MINIFIED_SIZE
    assert not is_minified(written)
    assert is_minified(bundle)
    assert not is_minified(one_line_config)  # short: a one-line file a person wrote
