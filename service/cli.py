"""`rpabank`: serve, demo, database, tokens, import/export.

Every command that opens the database upgrades it to the newest schema first.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import msgspec
from sqlalchemy import make_url, select
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from catalogue.demo import catalogue_is_empty
from catalogue.imports import KINDS, import_sheet, parse_mapping
from catalogue.schemas import ImportReport
from catalogue.tokens import TokenService
from catalogue.transfer import export_catalogue, import_catalogue
from codebank.models import Bot
from codebank.services import BotService, PrincipleService
from core.actors import Actor
from core.db import create_engine, session_factories
from core.errors import DomainError
from service.backup import backup, restore
from service.db import upgrade
from service.demo import demo_settings, load_everything
from service.indexing import Indexer
from service.settings import Settings

T = TypeVar("T")


def in_engine(settings: Settings, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """Open the database (upgrading it first) and run `work` with its engine."""

    async def go() -> T:
        if settings.is_sqlite:
            settings.ensure_data_dir()
        engine = create_engine(settings.effective_database_url)
        try:
            await upgrade(engine)
            return await work(engine)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def in_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]], *, write: bool = True) -> T:
    """Run `work` in one transaction on the upgraded database; commit if it succeeds."""

    async def go(engine: AsyncEngine) -> T:
        reads, writes = session_factories(engine)
        async with (writes if write else reads)() as session:
            result = await work(session)
            if write:
                await session.commit()
            return result

    return in_engine(settings, go)


def serve(settings: Settings, host: str, port: int, workers: int = 1) -> None:
    """Serve with uvicorn. The database is already migrated: the app does not migrate again at start.

    With several workers this process becomes their supervisor (`service.server`, exec'd: it keeps no copy of
    the app); each worker builds the app from the environment, to which the settings are passed on.
    """
    from service.logs import configure_logging
    from service.server import become_supervisor, uvicorn_options

    if settings.is_sqlite:
        settings.ensure_data_dir()
    configure_logging(settings.log_level, settings.log_format)  # uvicorn's lines too: it gets no config of its own
    print(f"RPA-banken on http://{host}:{port}  (API docs: http://{host}:{port}/api/schema)", flush=True)
    if workers > 1:
        os.environ.update(settings.to_env())
        become_supervisor(host, port, workers, settings.log_level, settings.log_format)
    import uvicorn

    from service.app import create_app

    uvicorn.run(create_app(settings, migrate=False, long_lived=True), **uvicorn_options(host, port, settings.log_level))


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    if not args.no_migrate:
        in_engine(settings, lambda engine: asyncio.sleep(0))  # migrate once, before the first request
    serve(settings, args.host, args.port, args.workers)
    return 0


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    settings = demo_settings(settings)

    async def load(session: AsyncSession) -> dict[str, int] | None:
        if not await catalogue_is_empty(session):
            return None
        return await load_everything(session, settings)

    counts = in_session(settings, load)
    if counts is not None:
        in_engine(settings, lambda engine: _reindex(settings, engine))
    where = settings.data_dir.resolve() if settings.is_sqlite else "the configured database"
    if counts is None:
        print(f"The catalogue in {where} has data already; serving it as it is.", flush=True)
    else:
        print(f"Loaded the demo into {where}: " + ", ".join(f"{n} {k}" for k, n in counts.items()), flush=True)
    if args.no_serve:
        return 0
    serve(settings, args.host, args.port, args.workers)
    return 0


async def _with_indexer(settings: Settings, engine: AsyncEngine, work: Callable[[Indexer], Awaitable[T]]) -> T:
    reads, writes = session_factories(engine)
    backend = await asyncio.to_thread(settings.open_search)
    try:
        return await work(Indexer(backend, reads, writes, settings.codebank(), lock_dir=settings.data_dir))
    finally:
        backend.close()


async def _reindex(settings: Settings, engine: AsyncEngine) -> int:
    return await _with_indexer(settings, engine, lambda indexer: indexer.rebuild())


def cmd_reindex(settings: Settings, args: argparse.Namespace) -> int:
    started = time.perf_counter()
    count = in_engine(settings, lambda engine: _reindex(settings, engine))
    print(f"Rebuilt the search index: {count} documents in {time.perf_counter() - started:.1f} s.")
    return 0


def cmd_codebank_sync(settings: Settings, args: argparse.Namespace) -> int:
    config = settings.codebank()

    async def sync(session: AsyncSession) -> list[str]:
        lines = []
        slugs = [args.slug] if args.slug else list((await session.scalars(select(Bot.slug).order_by(Bot.slug))).all())
        for slug in slugs:
            bot = await BotService(session, config).sync(None, slug)
            lines.append(
                f"{slug}: {'failed: ' + bot.sync_error if bot.sync_error else 'at ' + (bot.head or '-')[:12]}"
                + (f" (manifest: {'; '.join(bot.manifest_errors)})" if bot.manifest_errors else "")
            )
        if not args.slug and config.principles_url:
            lines.append(f"principles: {len(await PrincipleService(session, config).sync())}")
        return lines

    for line in in_session(settings, sync):
        print(line)
    in_engine(settings, lambda engine: _with_indexer(settings, engine, lambda indexer: indexer.drain()))
    return 0


def cmd_db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    in_engine(settings, lambda engine: asyncio.sleep(0))
    print("The database is at the newest schema.")
    return 0


def cmd_backup(settings: Settings, args: argparse.Namespace) -> int:
    manifest = backup(settings, Path(args.dir))
    counts = ", ".join(f"{n} {table}" for table, n in manifest["counts"].items())
    print(f"Backed up {settings.data_dir} to {args.dir}: {counts}.")
    return 0


def cmd_restore(settings: Settings, args: argparse.Namespace) -> int:
    manifest = restore(settings, Path(args.dir))
    in_engine(settings, lambda engine: _reindex(settings, engine))  # the search index is rebuilt, not copied
    print(f"Restored the backup of {manifest['created_at']} into {settings.data_dir}; the search index is rebuilt.")
    return 0


def cmd_token_create(settings: Settings, args: argparse.Namespace) -> int:
    secret, _ = in_session(settings, lambda s: TokenService(s).create(args.role, args.municipality, args.name))
    print(secret)
    return 0


def cmd_token_list(settings: Settings, args: argparse.Namespace) -> int:
    tokens = in_session(settings, lambda s: TokenService(s).all(), write=False)
    if args.json:
        print(msgspec.json.encode(tokens).decode())
        return 0
    print(f"{'id':>4}  {'role':<7} {'kommune':<8} {'created':<20} {'revoked':<20} name")
    for t in tokens:
        revoked = t.revoked_at.strftime("%Y-%m-%d %H:%M") if t.revoked_at else "-"
        print(
            f"{t.id:>4}  {t.role:<7} {t.municipality_code or '-':<8} {t.created_at.strftime('%Y-%m-%d %H:%M'):<20} "
            f"{revoked:<20} {t.name}"
        )
    return 0


def cmd_token_revoke(settings: Settings, args: argparse.Namespace) -> int:
    token = in_session(settings, lambda s: TokenService(s).revoke(args.id))
    print(f"Token {token.id} ({token.name}) is revoked.")
    return 0


def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    data = in_session(settings, export_catalogue, write=False)
    if args.file == "-":
        sys.stdout.buffer.write(data)
    else:
        tmp = Path(args.file + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(args.file)
        print(f"Exported the catalogue to {args.file}.", file=sys.stderr)
    return 0


def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    raw = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    counts = in_session(settings, lambda s: import_catalogue(s, raw))
    print("Imported " + ", ".join(f"{n} {k}" for k, n in counts.items()) + ".")
    return 0


CLI_ACTOR = Actor(role="admin", name="rpabank import-sheet (command line)", auth="cli")


def cmd_import_sheet(settings: Settings, args: argparse.Namespace) -> int:
    """A spreadsheet of processes, adoptions or benefit records, as POST /api/imports does it, as an admin."""
    from service.controllers.imports import importer

    content = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    mapping = parse_mapping(args.mapping)

    async def work(session: AsyncSession) -> ImportReport:
        made = importer(session, settings, CLI_ACTOR, args.kind)
        return await import_sheet(made, content, dry_run=args.dry_run, mapping=mapping)

    report = in_session(settings, work)
    if report.written:
        in_engine(settings, lambda engine: _with_indexer(settings, engine, lambda indexer: indexer.drain()))
    if args.json:
        print(msgspec.json.encode(report).decode())
    else:
        for line in import_lines(report):
            print(line)
    return 1 if report.summary.error else 0


def import_lines(report: ImportReport) -> list[str]:
    s = report.summary
    done = "written" if report.written else "nothing written" + (" (dry run)" if report.dry_run else "")
    lines = [
        f"{report.format} sheet {report.sheet!r}: {s.create} to create, {s.update} to update, {s.unchanged} "
        f"unchanged, {s.error} in error; {done}."
    ]
    if report.unknown_columns:
        lines.append("unknown columns (not imported): " + ", ".join(report.unknown_columns))
    for row in report.rows:
        for e in row.errors:
            where = f", column {e.column}" if e.column else ""
            lines.append(f"row {row.row}{where}: {e.message}")
    return lines


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rpabank",
        description="RPA-banken: the shared RPA process catalogue and code bank. Settings come from "
        "RPABANK_DATA_DIR, RPABANK_DATABASE_URL, RPABANK_ADMIN_TOKEN, RPABANK_MEILI_URL, RPABANK_MEILI_KEY.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def add_server_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--host", default=os.environ.get("RPABANK_HOST", "127.0.0.1"))
        p.add_argument("--port", type=int, default=int(os.environ.get("RPABANK_PORT", "8000")))
        p.add_argument(
            "--workers", type=int, default=int(os.environ.get("RPABANK_WORKERS", "1")), help="worker processes"
        )

    p = sub.add_parser("serve", help="upgrade the database, then serve the API and pages")
    add_server_options(p)
    p.add_argument(
        "--no-migrate",
        action="store_true",
        help="do not upgrade the database first (a deployment runs `rpabank db upgrade` as a one-shot job)",
    )
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("demo", help="load the demo into an empty catalogue, then serve")
    add_server_options(p)
    p.add_argument("--no-serve", action="store_true", help="only load the demo data")
    p.set_defaults(func=cmd_demo)

    db = sub.add_parser("db", help="database schema").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="bring the database to the newest schema").set_defaults(func=cmd_db_upgrade)

    token = sub.add_parser("token", help="API tokens").add_subparsers(dest="token_command", required=True)
    p = token.add_parser("create", help="create a token and print it (only the token, on stdout)")
    p.add_argument("--role", choices=["admin", "editor", "reader"], required=True)
    p.add_argument("--municipality", help="municipality code (editors)")
    p.add_argument("--name", help="who or what the token is for")
    p.set_defaults(func=cmd_token_create)
    p = token.add_parser("list", help="list tokens (never their secrets)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_token_list)
    p = token.add_parser("revoke", help="revoke a token by id")
    p.add_argument("id", type=int)
    p.set_defaults(func=cmd_token_revoke)

    codebank = sub.add_parser("codebank", help="the code bank").add_subparsers(dest="codebank_command", required=True)
    p = codebank.add_parser("sync", help="fetch bot repositories (all, or one) and the principles; re-index changes")
    p.add_argument("slug", nargs="?")
    p.set_defaults(func=cmd_codebank_sync)

    p = sub.add_parser("reindex", help="rebuild the search index from the database (the old one answers meanwhile)")
    p.set_defaults(func=cmd_reindex)

    p = sub.add_parser(
        "import-sheet",
        help="import processes, adoptions or benefit records from an XLSX or CSV file (all or nothing), as admin",
    )
    p.add_argument("file", help="the spreadsheet, or - for stdin")
    p.add_argument("--kind", choices=list(KINDS), required=True)
    p.add_argument("--dry-run", action="store_true", help="only report what would happen")
    p.add_argument("--mapping", help="columns named explicitly: 'Sagsantal=cases_per_year;D=title' or JSON")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_import_sheet)

    for name, argument, func, text in (
        ("backup", "dir", cmd_backup, "copy the data folder (database, mirrors, principles) into an empty DIR"),
        ("restore", "dir", cmd_restore, "bring a backup DIR back into an empty data folder; rebuild the search"),
        ("export", "file", cmd_export, "write the whole catalogue as JSON (FILE or - for stdout)"),
        ("import", "file", cmd_import, "load a JSON export into an empty catalogue (all or nothing)"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument(argument)
        p.set_defaults(func=func)
    return parser


def main(argv: list[str] | None = None, environ: dict[str, str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env(environ)
    except ValueError as exc:  # a setting that cannot be read: say which, in one line
        print(f"rpabank: {exc}", file=sys.stderr)
        return 2
    try:
        return int(args.func(settings, args))
    except (OSError, DBAPIError, ArgumentError, NoSuchModuleError, ModuleNotFoundError) as exc:
        if isinstance(exc, FileNotFoundError):
            print(f"rpabank: no such file: {exc.filename}", file=sys.stderr)
            return 2
        print(f"rpabank: {database_problem(settings, exc)}", file=sys.stderr)
        return 2
    except DomainError as exc:
        for line in exc.message.splitlines() or [""]:  # one line per problem
            print(f"rpabank: {line}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"rpabank: no such file: {exc.filename}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def database_problem(settings: Settings, exc: BaseException) -> str:
    """One line on why the database cannot be used, naming it without its password."""
    try:
        where = make_url(settings.effective_database_url).render_as_string(hide_password=True)
    except ArgumentError:
        return f"RPABANK_DATABASE_URL is not a database URL: {exc}"
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, (ModuleNotFoundError, NoSuchModuleError)):
        return f"the database {where} needs a driver that is not installed ({reason}); use postgresql+asyncpg:// or sqlite+aiosqlite://"
    return f"cannot use the database {where}: {reason}"


if __name__ == "__main__":
    sys.exit(main())
