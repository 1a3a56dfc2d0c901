"""A real OpenID Connect provider for the sign-in tests: the npm package `oidc-provider` (certified), run by
Node.js from tests/service/oidc_provider. Its packages are installed from the npm registry on first use
(`npm ci`; `.ci/run` does it up front). Without Node.js or npm, or when the install fails, the tests that need
it skip and say why.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest
from joserfc.jwk import RSAKey

from tests.conftest import free_port

HERE = Path(__file__).resolve().parent / "oidc_provider"
CLIENT_ID = "rpabank"
CLIENT_SECRET = "rpabank-test-client-secret-0123456789"
FORM = re.compile(r'<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>', re.S)
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


def ensure_installed() -> None:
    """Skip (saying why) unless Node.js can run the provider; install its packages on first use."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Node.js and npm are needed for the real OpenID provider (npm oidc-provider); not found")
    if (HERE / "node_modules" / "oidc-provider").is_dir():
        return
    done = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=HERE, capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"could not install the npm package oidc-provider (npm ci): {done.stderr.strip()[-300:]}")


@dataclass
class Provider:
    url: str
    key: RSAKey  # the key the provider signs with: tests mint tokens the provider would never issue
    accounts_file: Path

    def set_accounts(self, accounts: dict[str, dict[str, Any]]) -> None:
        self.accounts_file.write_text(json.dumps(accounts), encoding="utf-8")


@contextmanager
def running_provider(tmp: Path, redirect_uris: list[str], accounts: dict[str, dict[str, Any]]) -> Iterator[Provider]:
    ensure_installed()
    port = free_port()
    key = RSAKey.generate_key(2048, parameters={"kid": "rpabank-test", "use": "sig", "alg": "RS256"}, private=True)
    provider = Provider(f"http://127.0.0.1:{port}", key, tmp / "accounts.json")
    provider.set_accounts(accounts)
    bases = sorted({uri.split("/login/")[0] for uri in redirect_uris})
    env = {
        **os.environ,
        "OIDC_PORT": str(port),
        "OIDC_ACCOUNTS": str(provider.accounts_file),
        "OIDC_JWKS": json.dumps({"keys": [key.as_dict(private=True)]}),
        "OIDC_CLIENTS": json.dumps(
            [
                {
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                    "redirect_uris": redirect_uris,
                    "post_logout_redirect_uris": [f"{base}/" for base in bases],
                    "grant_types": ["authorization_code"],
                    "response_types": ["code"],
                }
            ]
        ),
    }
    log = (tmp / "provider.log").open("w")
    process = subprocess.Popen(["node", str(HERE / "provider.mjs")], cwd=HERE, env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(provider.url + "/.well-known/openid-configuration", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the OpenID provider did not start: {(tmp / 'provider.log').read_text()[-2000:]}")
            time.sleep(0.1)
        yield provider
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


async def sign_in_at_provider(authorization_url: str, login: str) -> str:
    """Be the person at the provider: open the authorization URL, fill in the provider's own login form and
    consent, and return the URL the provider sends the browser back to (with the code and state)."""
    async with httpx.AsyncClient(timeout=10) as browser:
        url, data = authorization_url, None
        for _ in range(12):
            response = await (browser.post(url, data=data) if data is not None else browser.get(url))
            data = None
            if response.is_redirect:
                target = urljoin(url, response.headers["location"])
                if not target.startswith(authorization_url.split("/auth")[0]):
                    return target  # leaving the provider: back to the app
                url = target
                continue
            form = FORM.search(response.text)
            if form is None:
                raise AssertionError(f"the provider showed no form: {response.status_code} {response.text[:500]}")
            url = urljoin(url, form.group(1))
            data = dict(HIDDEN.findall(form.group(2)))
            if data.get("prompt") == "login":
                data.update(login=login, password="any")
        raise AssertionError("the provider never sent the browser back")
