"""OpenID Connect sign-in (authorization code flow with PKCE) through Authlib.

Authlib makes the authorization URL (state, nonce, S256 code challenge) and exchanges the code; the ID token's
signature is checked with joserfc against the provider's published keys (fetched again once when a key id is
unknown: the provider rotated its keys), and its claims by Authlib's `CodeIDToken` rules: issuer, audience,
nonce, expiry and issued-at. Nothing here parses a JWT by hand.

Which municipality and role a person has is told from the claims (`identify`), by the settings: a claim holding
the municipality code, else the e-mail's domain; the role from group claims.
"""

from __future__ import annotations

import asyncio
import secrets
import time
import warnings
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.common.security import generate_token

with warnings.catch_warnings():  # Authlib 1.9 would rather have the httpx2 fork; httpx is what we test with
    import authlib.deprecate  # noqa: F401 - it sets its warnings to "always" when imported: let it, then override

    warnings.filterwarnings("ignore", message="The httpx module is deprecated")
    from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from catalogue.users import Identity
from service.settings import OidcSettings

METADATA_SECONDS = 3600.0  # discovery is fetched again after this long
LEEWAY_SECONDS = 60  # clock difference allowed between us and the provider
HTTP_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class SignInFailed(Exception):
    """A sign-in that must not go through; `reason` is for the log, the person gets a Danish page."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Pending:
    """What the session keeps between sending a person to the provider and their return (never a token)."""

    state: str
    nonce: str
    verifier: str
    next: str

    def as_dict(self) -> dict[str, str]:
        return {"state": self.state, "nonce": self.nonce, "verifier": self.verifier, "next": self.next}

    @classmethod
    def from_dict(cls, value: object) -> Pending | None:
        if not isinstance(value, dict) or not all(
            isinstance(value.get(k), str) for k in ("state", "nonce", "verifier")
        ):
            return None
        return cls(value["state"], value["nonce"], value["verifier"], str(value.get("next") or "/"))


class OidcClient:
    """One per app: caches the provider's discovery document and keys."""

    def __init__(self, settings: OidcSettings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        self._transport = transport
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._keys: dict[str, Any] | None = None
        self._lock = asyncio.Lock()

    def _client(self, **kwargs: Any) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self.settings.client_id,
            client_secret=self.settings.client_secret,
            scope=self.settings.scopes,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic" if self.settings.client_secret else "none",
            timeout=HTTP_TIMEOUT,
            transport=self._transport,
            **kwargs,
        )

    async def metadata(self) -> dict[str, Any]:
        """The provider's discovery document (`/.well-known/openid-configuration`), cached for an hour."""
        async with self._lock:
            if self._metadata is None or time.monotonic() - self._metadata_at > METADATA_SECONDS:
                url = self.settings.issuer.rstrip("/") + "/.well-known/openid-configuration"
                async with httpx.AsyncClient(timeout=HTTP_TIMEOUT, transport=self._transport) as http:
                    response = await http.get(url)
                    response.raise_for_status()
                    metadata = response.json()
                if metadata.get("issuer") != self.settings.issuer:
                    raise SignInFailed(
                        f"discovery names issuer {metadata.get('issuer')!r}, not {self.settings.issuer!r}"
                    )
                self._metadata, self._metadata_at, self._keys = metadata, time.monotonic(), None
            return self._metadata

    async def _key_set(self, refresh: bool = False) -> KeySet:
        metadata = await self.metadata()
        if self._keys is None or refresh:
            async with httpx.AsyncClient(timeout=HTTP_TIMEOUT, transport=self._transport) as http:
                response = await http.get(metadata["jwks_uri"])
                response.raise_for_status()
                self._keys = response.json()
        return KeySet.import_key_set(self._keys)  # type: ignore[arg-type]

    async def begin(self, redirect_uri: str, next_path: str) -> tuple[str, Pending]:
        """The provider's authorization URL to send the person to, and what to keep until they return."""
        metadata = await self.metadata()
        pending = Pending(
            state=generate_token(32), nonce=generate_token(32), verifier=secrets.token_urlsafe(64), next=next_path
        )
        async with self._client(redirect_uri=redirect_uri) as client:
            url, _ = client.create_authorization_url(
                metadata["authorization_endpoint"],
                state=pending.state,
                code_verifier=pending.verifier,
                nonce=pending.nonce,
            )
        return url, pending

    async def complete(self, redirect_uri: str, pending: Pending, query: dict[str, str]) -> dict[str, Any]:
        """The verified ID token claims of a person returning from the provider."""
        if query.get("error"):
            raise SignInFailed(f"the provider answered {query.get('error')}: {query.get('error_description', '')}")
        if not query.get("state") or not secrets.compare_digest(query["state"], pending.state):
            raise SignInFailed("the state does not match this browser's sign-in (replayed or forged)")
        if not query.get("code"):
            raise SignInFailed("the provider sent no code")
        metadata = await self.metadata()
        async with self._client(redirect_uri=redirect_uri) as client:
            try:
                token = await client.fetch_token(
                    metadata["token_endpoint"], code=query["code"], code_verifier=pending.verifier
                )
            except Exception as exc:  # noqa: BLE001 - Authlib raises OAuthError or httpx errors; both end the sign-in
                raise SignInFailed(f"the code exchange failed: {exc}") from None
        if "id_token" not in token:
            raise SignInFailed("the provider sent no ID token")
        return await self.verify(token["id_token"], pending.nonce, token.get("access_token"))

    async def verify(self, id_token: str, nonce: str, access_token: str | None = None) -> dict[str, Any]:
        """The claims of an ID token whose signature, issuer, audience, nonce and times hold."""
        metadata = await self.metadata()
        algorithms = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        registry = JWSRegistry(algorithms=[a for a in algorithms if a != "none"])
        try:
            try:
                decoded = jwt.decode(id_token, await self._key_set(), registry=registry)
            except InvalidKeyIdError:  # the provider rotated its keys
                decoded = jwt.decode(id_token, await self._key_set(refresh=True), registry=registry)
        except (JoseError, ValueError) as exc:
            raise SignInFailed(f"the ID token's signature does not hold: {exc}") from None
        params: dict[str, Any] = {"nonce": nonce, "client_id": self.settings.client_id}
        if access_token:
            params["access_token"] = access_token
        options = {
            "iss": {"essential": True, "values": [metadata["issuer"]]},
            "aud": {"essential": True, "values": [self.settings.client_id]},
        }
        claims = CodeIDToken(decoded.claims, decoded.header, options, params)
        try:
            claims.validate(now=int(time.time()), leeway=LEEWAY_SECONDS)
        except Exception as exc:  # noqa: BLE001 - Authlib's claim errors (JoseError subclasses of its own)
            raise SignInFailed(f"the ID token does not hold: {exc}") from None
        if not claims.get("sub"):
            raise SignInFailed("the ID token names no subject")
        return dict(claims)

    async def end_session_url(self, post_logout_redirect_uri: str) -> str | None:
        """The provider's end-session URL (RP-initiated logout), when it has one."""
        try:
            metadata = await self.metadata()
        except (httpx.HTTPError, SignInFailed):
            return None
        endpoint = metadata.get("end_session_endpoint")
        if not endpoint:
            return None
        request = httpx.Request(
            "GET",
            endpoint,
            params={"client_id": self.settings.client_id, "post_logout_redirect_uri": post_logout_redirect_uri},
        )
        return str(request.url)


def identify(claims: dict[str, Any], settings: OidcSettings) -> Identity:
    """Who the verified claims say a person is: name, e-mail, municipality (the configured claim, else the
    e-mail's domain) and role (the admin group, else the editor group, else reader)."""
    email = claims.get("email") if isinstance(claims.get("email"), str) else None
    name = next(
        (str(claims[k]) for k in ("name", "preferred_username") if isinstance(claims.get(k), str) and claims[k]),
        email or str(claims["sub"]),
    )
    municipality = None
    if settings.municipality_claim:
        value = claims.get(settings.municipality_claim)
        if isinstance(value, (str, int)) and str(value).strip().isdigit():
            municipality = str(value).strip().zfill(3)
    if municipality is None and email and "@" in email:
        domain = email.rsplit("@", 1)[1].lower()
        municipality = dict(settings.domains).get(domain)
    groups = claims.get(settings.groups_claim)
    group_set = (
        {str(g) for g in groups} if isinstance(groups, list) else ({groups} if isinstance(groups, str) else set())
    )
    if settings.admin_group and settings.admin_group in group_set:
        role = "admin"
    elif settings.editor_group and settings.editor_group in group_set:
        role = "editor"
    else:
        role = "reader"
    return Identity(
        issuer=str(claims["iss"]),
        subject=str(claims["sub"]),
        name=name[:200],
        email=email,
        municipality=municipality,
        role=role,
    )
