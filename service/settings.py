"""Settings, read from the environment once and passed in explicitly (never a global)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import ClassVar

from sqlalchemy.engine import URL

from catalogue.formulas import DEFAULT_SETTINGS, BenefitSettings
from catalogue.search_documents import EXTERNAL_BODIES
from codebank.git import CONNECT_TIMEOUT, MAX_REPO_FILES
from codebank.services import CodebankConfig
from search.backends import SearchBackend, open_backend
from service.logs import LOG_FORMATS

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

# Used when RPABANK_SESSION_SECRET is unset: sign-ins then last as long as this process, and several
# workers do not share them.
_PROCESS_SESSION_SECRET = secrets.token_urlsafe(32)


@dataclass(frozen=True)
class OidcSettings:
    """Sign-in with the municipality's OpenID Connect provider (Entra ID, AD FS, KOMBIT's context handler behind
    an OIDC bridge, …). Set when `RPABANK_OIDC_ISSUER` is."""

    issuer: str
    client_id: str
    client_secret: str | None = None
    # the provider's name on the login page: "Log ind med <name>"
    name: str = "din kommunes login"
    scopes: str = "openid email profile"
    # where the municipality code comes from: a claim holding the code, else the e-mail's domain
    municipality_claim: str | None = None
    domains: tuple[tuple[str, str], ...] = ()  # (domain, code), from "greve.dk=253,koege.dk=259"
    groups_claim: str = "groups"
    admin_group: str | None = None
    editor_group: str | None = None

    ENV: ClassVar[dict[str, str]] = {
        "issuer": "RPABANK_OIDC_ISSUER",
        "client_id": "RPABANK_OIDC_CLIENT_ID",
        "client_secret": "RPABANK_OIDC_CLIENT_SECRET",
        "name": "RPABANK_OIDC_NAME",
        "scopes": "RPABANK_OIDC_SCOPES",
        "municipality_claim": "RPABANK_OIDC_MUNICIPALITY_CLAIM",
        "groups_claim": "RPABANK_OIDC_GROUPS_CLAIM",
        "admin_group": "RPABANK_OIDC_ADMIN_GROUP",
        "editor_group": "RPABANK_OIDC_EDITOR_GROUP",
    }

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> OidcSettings | None:
        values = {attr: env[name].strip() for attr, name in cls.ENV.items() if (env.get(name) or "").strip()}
        if "issuer" not in values:
            return None
        if "client_id" not in values:
            raise ValueError("RPABANK_OIDC_ISSUER is set but RPABANK_OIDC_CLIENT_ID is not.")
        return cls(**values, domains=parse_domains(env.get("RPABANK_OIDC_DOMAINS") or ""))

    def to_env(self) -> dict[str, str]:
        env = {name: str(getattr(self, attr)) for attr, name in self.ENV.items() if getattr(self, attr)}
        if self.domains:
            env["RPABANK_OIDC_DOMAINS"] = ",".join(f"{domain}={code}" for domain, code in self.domains)
        return env


def parse_domains(text: str) -> tuple[tuple[str, str], ...]:
    """ "greve.dk=253, koege.dk=259" → (("greve.dk", "253"), ("koege.dk", "259"))."""
    pairs = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        domain, _, code = part.partition("=")
        if not domain.strip() or not code.strip().isdigit() or len(code.strip()) != 3:
            raise ValueError(f"RPABANK_OIDC_DOMAINS: {part!r} is not 'domain=three-digit municipality code'.")
        pairs.append((domain.strip().lower().lstrip("@"), code.strip()))
    return tuple(pairs)


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(default_factory=lambda: Path("rpabank-data"))
    database_url: str | None = None
    admin_token: str | None = None
    meili_url: str | None = None
    meili_key: str | None = None
    meili_index: str = "rpabank"
    index_retry_seconds: float = 10.0
    # Benefit figures: the network's default hourly cost (a municipality may set its own) and the
    # annual working hours of one full-time employee (1,628 h is a common Danish public-sector norm).
    hourly_cost_dkk: Decimal = DEFAULT_SETTINGS.hourly_cost_dkk
    annual_hours: Decimal = DEFAULT_SETTINGS.annual_hours
    session_secret: str | None = None
    secure_cookies: bool = False
    # Code bank: local repository paths only when allowed (the demo allows them), the principles repository,
    # the webhook secret, and minutes between scheduled syncs (0: none).
    allow_local_repos: bool = False
    max_repo_files: int = MAX_REPO_FILES
    git_connect_timeout: float = CONNECT_TIMEOUT
    principles_url: str | None = None
    webhook_secret: str | None = None
    sync_interval_minutes: float = 0.0
    # The search engine: "fts5", "postgres" or "meilisearch"; unset, it follows the database (see open_search).
    search_engine: str | None = None
    # Logs on stderr: "text" or "json" (one JSON object a line), at this level (see service.observability).
    log_level: str = "INFO"
    log_format: str = "text"
    # Sign-in: the municipality's OpenID Connect provider (None: not offered); the token form on /login
    # (RPABANK_TOKEN_LOGIN=0 switches it off); whom a person without a municipality should ask.
    oidc: OidcSettings | None = None
    token_login: bool = True
    contact: str = "netværkets sekretariat"
    # Exports (CSV, XLSX) made at once by one instance; more answer 429 with Retry-After.
    export_concurrency: int = 2
    # The address people reach the service at (behind a proxy): the OIDC redirect URI is made from it.
    base_url: str | None = None
    # E-mail of notifications: smtp://user:password@host:port (smtps:// for TLS, smtp+starttls:// for STARTTLS)
    # and the sender address; unset: no e-mail. Outbound webhooks to private addresses only when allowed.
    smtp_url: str | None = None
    smtp_from: str = "rpabanken@localhost"
    webhook_allow_private: bool = False

    @property
    def effective_database_url(self) -> str:
        """`RPABANK_DATABASE_URL`, or SQLite in the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'rpabank.sqlite3').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    @property
    def effective_session_secret(self) -> str:
        """`RPABANK_SESSION_SECRET`, or a random secret made once per process."""
        return self.session_secret or _PROCESS_SESSION_SECRET

    def open_search(self) -> SearchBackend:
        """The search engine: `RPABANK_SEARCH` when set; else Meilisearch when configured, PostgreSQL on a
        PostgreSQL database (shared by every instance), FTS5 in the data folder on SQLite."""
        return open_backend(
            self.data_dir,
            self.meili_url,
            self.meili_key,
            self.meili_index,
            database_url=self.effective_database_url,
            engine=self.search_engine,
            external=EXTERNAL_BODIES,
        )

    @property
    def benefits(self) -> BenefitSettings:
        """The network's benefit settings (defaults in `catalogue.formulas.DEFAULT_SETTINGS`)."""
        return BenefitSettings(hourly_cost_dkk=self.hourly_cost_dkk, annual_hours=self.annual_hours)

    def codebank(self) -> CodebankConfig:
        config = CodebankConfig(self.data_dir, self.allow_local_repos, self.principles_url)
        return replace(config, max_repo_files=self.max_repo_files, connect_timeout=self.git_connect_timeout)

    def ensure_data_dir(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            data_dir=Path(env.get("RPABANK_DATA_DIR") or "rpabank-data"),
            database_url=env.get("RPABANK_DATABASE_URL") or database_url_from_parts(env),
            admin_token=env.get("RPABANK_ADMIN_TOKEN") or None,
            meili_url=env.get("RPABANK_MEILI_URL") or None,
            meili_key=env.get("RPABANK_MEILI_KEY") or None,
            meili_index=env.get("RPABANK_MEILI_INDEX") or "rpabank",
            hourly_cost_dkk=_positive_decimal(env, "RPABANK_HOURLY_COST_DKK", DEFAULT_SETTINGS.hourly_cost_dkk),
            annual_hours=_positive_decimal(env, "RPABANK_ANNUAL_HOURS", DEFAULT_SETTINGS.annual_hours),
            session_secret=env.get("RPABANK_SESSION_SECRET") or None,
            secure_cookies=(env.get("RPABANK_SECURE_COOKIES") or "").lower() in ("1", "true", "yes"),
            allow_local_repos=(env.get("RPABANK_ALLOW_LOCAL_REPOS") or "").lower() in ("1", "true", "yes"),
            principles_url=env.get("RPABANK_PRINCIPLES_URL") or None,
            max_repo_files=max(1, int(env.get("RPABANK_MAX_REPO_FILES") or MAX_REPO_FILES)),
            git_connect_timeout=float(env.get("RPABANK_GIT_CONNECT_TIMEOUT") or CONNECT_TIMEOUT),
            webhook_secret=env.get("RPABANK_WEBHOOK_SECRET") or None,
            sync_interval_minutes=float(env.get("RPABANK_SYNC_INTERVAL") or 0),
            search_engine=(env.get("RPABANK_SEARCH") or "").strip().lower() or None,
            log_level=_choice(env, "RPABANK_LOG_LEVEL", LOG_LEVELS, "INFO").upper(),
            log_format=_choice(env, "RPABANK_LOG_FORMAT", LOG_FORMATS, "text").lower(),
            oidc=OidcSettings.from_env(env),
            token_login=(env.get("RPABANK_TOKEN_LOGIN") or "1").lower() not in ("0", "false", "no"),
            contact=env.get("RPABANK_CONTACT") or "netværkets sekretariat",
            base_url=(env.get("RPABANK_BASE_URL") or "").rstrip("/") or None,
            export_concurrency=max(1, int(env.get("RPABANK_EXPORT_CONCURRENCY") or 2)),
            smtp_url=env.get("RPABANK_SMTP_URL") or None,
            smtp_from=env.get("RPABANK_SMTP_FROM") or "rpabanken@localhost",
            webhook_allow_private=(env.get("RPABANK_WEBHOOK_ALLOW_PRIVATE") or "").lower() in ("1", "true", "yes"),
        )

    def to_env(self) -> dict[str, str]:
        """These settings as the environment `from_env` reads: for worker processes started from this one.
        The session secret is passed on too, so that the workers share sign-ins."""
        env = {
            "RPABANK_DATA_DIR": str(self.data_dir),
            "RPABANK_HOURLY_COST_DKK": str(self.hourly_cost_dkk),
            "RPABANK_ANNUAL_HOURS": str(self.annual_hours),
            "RPABANK_SESSION_SECRET": self.effective_session_secret,
            "RPABANK_SECURE_COOKIES": "1" if self.secure_cookies else "0",
            "RPABANK_ALLOW_LOCAL_REPOS": "1" if self.allow_local_repos else "0",
            "RPABANK_MAX_REPO_FILES": str(self.max_repo_files),
            "RPABANK_GIT_CONNECT_TIMEOUT": str(self.git_connect_timeout),
            "RPABANK_SYNC_INTERVAL": str(self.sync_interval_minutes),
            "RPABANK_MEILI_INDEX": self.meili_index,
            "RPABANK_LOG_LEVEL": self.log_level,
            "RPABANK_LOG_FORMAT": self.log_format,
            "RPABANK_TOKEN_LOGIN": "1" if self.token_login else "0",
            "RPABANK_CONTACT": self.contact,
            "RPABANK_EXPORT_CONCURRENCY": str(self.export_concurrency),
            "RPABANK_SMTP_FROM": self.smtp_from,
            "RPABANK_WEBHOOK_ALLOW_PRIVATE": "1" if self.webhook_allow_private else "0",
            **(self.oidc.to_env() if self.oidc else {}),
        }
        optional = {
            "RPABANK_DATABASE_URL": self.database_url,
            "RPABANK_ADMIN_TOKEN": self.admin_token,
            "RPABANK_MEILI_URL": self.meili_url,
            "RPABANK_MEILI_KEY": self.meili_key,
            "RPABANK_PRINCIPLES_URL": self.principles_url,
            "RPABANK_WEBHOOK_SECRET": self.webhook_secret,
            "RPABANK_SEARCH": self.search_engine,
            "RPABANK_BASE_URL": self.base_url,
            "RPABANK_SMTP_URL": self.smtp_url,
        }
        env.update({name: value for name, value in optional.items() if value})
        return env


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    raw = (env.get(name) or default).strip()
    if raw.upper() not in (c.upper() for c in choices):
        raise ValueError(f"{name} must be one of {', '.join(choices)}, not {raw!r}.")
    return raw


def _positive_decimal(env: Mapping[str, str], name: str, default: Decimal) -> Decimal:
    raw = env.get(name) or str(default)
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        raise ValueError(f"{name} must be a number, not {raw!r}.") from None
    if not value.is_finite() or value <= 0:
        raise ValueError(f"{name} must be a number above 0, not {raw!r}.")
    return value


def database_url_from_parts(env: Mapping[str, str]) -> str | None:
    """`RPABANK_DB_HOST`, `_PORT`, `_NAME`, `_USER`, `_PASSWORD` as a PostgreSQL URL, every part escaped (so a
    password may hold `@`, `:`, `/` or `%`). None when `RPABANK_DB_HOST` is unset."""
    host = env.get("RPABANK_DB_HOST")
    if not host:
        return None
    url = URL.create(
        "postgresql+asyncpg",
        username=env.get("RPABANK_DB_USER") or None,
        password=env.get("RPABANK_DB_PASSWORD") or None,
        host=host,
        port=int(env.get("RPABANK_DB_PORT") or 5432),
        database=env.get("RPABANK_DB_NAME") or "rpabank",
    )
    return url.render_as_string(hide_password=False)
