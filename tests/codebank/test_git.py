"""Validation of URLs, refs and paths: nothing a user types reaches git as an option or escapes the repo."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codebank import git
from codebank.git import validate_path, validate_ref, validate_url
from core.errors import Invalid


@pytest.mark.parametrize(
    "url",
    [
        "ext::sh -c touch% /tmp/pwned",
        "fd::17",
        "-oProxyCommand=touch /tmp/x",
        "--upload-pack=touch /tmp/x",
        "http://git.example.dk/bot.git",
        "git://git.example.dk/bot.git",
        "file:///etc",
        "ftp://x/y",
        "https://user:secret@git.example.dk/bot.git",
        "https://token@git.example.dk/bot.git",
        "ssh://git:pw@git.example.dk/bot.git",
        "https:///nohost",
        "",
        "   ",
        "/tmp/local-path",
        "https://[git.example.dk/bot.git",  # an unclosed IPv6 bracket: urlsplit raises ValueError
        "https://git.example.dk:99999/bot.git",  # a port out of range
        "ssh://git.example.dk:port/bot.git",
    ],
)
def test_refused_urls(url: str) -> None:
    with pytest.raises(Invalid) as err:
        validate_url(url, allow_local=False)
    assert err.value.field == "url" and err.value.message


@pytest.mark.parametrize(
    "url",
    [
        "https://git.example.dk/robotter/straffeattest.git",
        "ssh://git@git.example.dk/robotter/x.git",
        "git@github.com:kommune/robot.git",
    ],
)
def test_accepted_urls(url: str) -> None:
    assert validate_url(url, allow_local=False) == url


def test_local_paths_only_when_allowed(tmp_path: Path) -> None:
    assert validate_url(str(tmp_path), allow_local=True)
    with pytest.raises(Invalid):
        validate_url(str(tmp_path) + "/missing", allow_local=True)


@pytest.mark.parametrize(
    "ref",
    [
        "-x",
        "--upload-pack=evil",
        "main..v1",
        "HEAD@{1}",
        "a b",
        "v1^",
        "v1~2",
        "a:b",
        "/abs",
        "x.lock",
        "",
        "a\x00b",
        "refs//x",
    ],
)
def test_refused_refs(ref: str) -> None:
    with pytest.raises(Invalid):
        validate_ref(ref)


@given(st.text(max_size=40))
def test_an_accepted_ref_never_looks_like_an_option_or_expression(ref: str) -> None:
    try:
        validate_ref(ref)
    except Invalid:
        return
    assert not ref.startswith("-") and ".." not in ref and "@{" not in ref and all(c not in ref for c in " ~^:?*[\\")


@pytest.mark.parametrize("path", ["../etc/passwd", "a/../../b", "/etc/passwd", "a/./b/..", "x\x00y", "\\x"])
def test_refused_paths(path: str) -> None:
    with pytest.raises(Invalid):
        validate_path(path)


def test_paths_are_normalised() -> None:
    assert validate_path("") == "" and validate_path("/") == ""
    assert validate_path("src//robot.py") == "src/robot.py"


def test_the_probe_gives_up_on_a_silent_host_and_skips_a_proxied_one(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket
    import time

    from codebank.errors import GitError

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)  # accepts (the kernel does), never answers
    url = f"https://127.0.0.1:{server.getsockname()[1]}/kommune/robot.git"
    try:
        started = time.monotonic()
        with pytest.raises(GitError, match="did not answer within 1 s"):
            git.probe(url, timeout=1)
        assert time.monotonic() - started < 5
        monkeypatch.setenv("HTTPS_PROXY", "http://proxy.kommune.dk:3128")
        git.probe(url, timeout=1)  # through a proxy git talks to the proxy: no probe of the host
    finally:
        server.close()


def _repo_with(tmp_path: Path, files: dict[str, bytes]) -> tuple[Path, str]:
    repo = tmp_path / "repo"
    repo.mkdir()
    for name, content in files.items():
        (repo / name).write_bytes(content)
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "x"]):
        subprocess.run(["git", "-C", str(repo), *args], check=True, env={**env, "PATH": "/usr/bin:/bin"})
    head = git.run_git(["rev-parse", "HEAD"], cwd=repo).decode().strip()
    return repo, head


def test_many_blobs_are_read_in_one_stream_each_as_git_shows_it(tmp_path: Path) -> None:
    files = {f"f{i}.py": (f"def f_{i}():\n    return {i}\n" * (i % 7 + 1)).encode() for i in range(300)}
    files["empty.txt"] = b""
    files["binary.bin"] = bytes(range(256)) * 50  # newlines and NULs inside: the sizes, not lines, delimit
    repo, head = _repo_with(tmp_path, files)
    entries = git.all_files(repo, head)
    shas = [e.sha for e in entries]
    tree = git.run_git(["rev-parse", f"{head}^{{tree}}"], cwd=repo).decode().strip()
    wanted = [*shas, "0" * 40, tree, "not-a-sha", shas[0]]  # missing, a tree, nonsense, a repeat

    found = list(git.read_blobs(repo, wanted))

    assert [sha for sha, _ in found] == [*shas, shas[0]]  # in order; missing, non-blobs and nonsense left out
    by_path = {e.sha: e.path for e in entries}
    for sha, content in found:
        assert content == files[by_path[sha]]


def test_a_reader_that_stops_early_leaves_no_git_behind(tmp_path: Path) -> None:
    repo, head = _repo_with(tmp_path, {f"f{i}.txt": b"x" * 70_000 + str(i).encode() for i in range(40)})
    shas = [e.sha for e in git.all_files(repo, head)]
    stream = git.read_blobs(repo, shas)
    sha, content = next(stream)
    assert content.startswith(b"xxx")
    stream.close()  # kills git and joins the feeding thread (else this would hang or leak)
    assert git.read_blob(repo, shas[1]).startswith(b"xxx")  # and the repository reads as before
