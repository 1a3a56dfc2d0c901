"""The application factory: settings in, Litestar app out. Every controller is listed here."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from pathlib import Path

from litestar import Litestar
from litestar.config.compression import CompressionConfig
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router

from core.db import create_engine, session_factories
from service import __version__
from service.controllers.benefits import AdoptionBenefitController, BenefitController, ReuseController
from service.controllers.bots import BotController, HookController, JobController, PrincipleController
from service.controllers.exports import ExportController
from service.controllers.health import HealthController
from service.controllers.ideas import IdeaController, ProcessIdeaController, ScreeningQuestionController
from service.controllers.imports import ImportController
from service.controllers.metrics import MetricsController
from service.controllers.municipalities import MunicipalityController
from service.controllers.people import MeController, TokenController, UserController
from service.controllers.processes import ProcessController, VocabularyController
from service.controllers.runs import AdoptionRunController, RunImportController
from service.controllers.search import SearchController
from service.controllers.social import SOCIAL_CONTROLLERS
from service.db import upgrade
from service.deps import DEPENDENCIES
from service.errors import EXCEPTION_HANDLERS
from service.idempotency import Idempotency
from service.indexing import start_indexing
from service.jobs import JobRunner
from service.logs import configure_logging
from service.metrics import TimedIndexer
from service.notifier import Notifier
from service.observability import instrument
from service.oidc import OidcClient
from service.openapi import document
from service.pages.common import template_config
from service.pages.routes import pages_router
from service.security import RefuseNul, SecurityHeaders
from service.settings import Settings

CONTROLLERS = [
    HealthController,
    MunicipalityController,
    ProcessController,
    VocabularyController,
    SearchController,
    ReuseController,
    AdoptionBenefitController,
    BenefitController,
    AdoptionRunController,
    RunImportController,
    ExportController,
    ImportController,
    BotController,
    JobController,
    PrincipleController,
    HookController,
    MetricsController,
    MeController,
    IdeaController,
    ScreeningQuestionController,
    ProcessIdeaController,
    TokenController,
    UserController,
    *SOCIAL_CONTROLLERS,
]

STATIC_DIR = Path(__file__).resolve().parent / "static"


def settle_heap() -> None:
    """Move what is alive now out of the garbage collector's reach for good (`gc.freeze`), after a collection.

    Once a server has started, most of its objects live as long as the process: modules, routes, the analysis's
    lexicon and caches. Every full collection walks all of them (about 200,000 objects, 120-150 ms), and a long
    write, such as draining the code bank's queue, sets one off every few batches. Frozen, they are not walked
    again. The price: garbage that only becomes garbage later among them is never collected (the start-up objects
    of a server that is stopped with its process)."""
    gc.collect()
    gc.freeze()


def create_app(settings: Settings, *, migrate: bool = True, long_lived: bool = False) -> Litestar:
    """Build the app. With `migrate`, the database is brought to the newest schema at start-up. `long_lived`: the
    app is the process's for its whole life (`rpabank serve`, a worker), so its start-up heap is settled once it
    has started (`settle_heap`); not for apps made and dropped in one process, as tests make them."""
    configure_logging(settings.log_level, settings.log_format)  # idempotent

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncGenerator[None, None]:
        if settings.is_sqlite:
            settings.ensure_data_dir()
        engine = create_engine(settings.effective_database_url, pool_pre_ping=not settings.is_sqlite)
        if migrate:
            await upgrade(engine)
        app.state.engine = engine
        app.state.read_sessions, app.state.write_sessions = session_factories(engine)
        backend = await asyncio.to_thread(settings.open_search)
        indexer = TimedIndexer(
            backend, app.state.read_sessions, app.state.write_sessions, settings.codebank(), lock_dir=settings.data_dir
        )
        app.state.indexer = indexer
        await start_indexing(indexer)
        notifier = Notifier(
            app.state.write_sessions,
            smtp_url=settings.smtp_url,
            sender=settings.smtp_from,
            base_url=settings.base_url,
            allow_private=settings.webhook_allow_private,
        )
        jobs = JobRunner(app.state.write_sessions, settings.codebank(), indexer, notifier=notifier)
        app.state.jobs = jobs
        tasks = [
            asyncio.create_task(indexer.run_retries(settings.index_retry_seconds)),
            asyncio.create_task(jobs.run_forever()),
            asyncio.create_task(jobs.schedule_daily()),
            asyncio.create_task(jobs.fold_vocabulary_counts()),
        ]
        if settings.sync_interval_minutes > 0:
            tasks.append(asyncio.create_task(jobs.schedule_syncs(settings.sync_interval_minutes)))
        if long_lived:
            settle_heap()
        try:
            yield
        finally:
            for task in tasks:
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            backend.close()
            await engine.dispose()

    openapi = OpenAPIConfig(
        title="RPA-banken",
        version=__version__,
        description=(
            "The shared RPA process catalogue and code bank of a network of Danish municipalities. "
            "Reads of network-visible data need no token; writes need `Authorization: Bearer <token>`."
        ),
        path="/api/schema",
        components=Components(
            security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer", description="API token")}
        ),
        render_plugins=[
            SwaggerRenderPlugin(
                path="/",
                js_url="/static/swagger/swagger-ui-bundle.js",
                css_url="/static/swagger/swagger-ui.css",
                standalone_preset_js_url="/static/swagger/swagger-ui-standalone-preset.js",
            )
        ],
    )

    app = Litestar(
        route_handlers=[
            *CONTROLLERS,
            pages_router(settings),  # the web pages, with their session cookie and CSRF protection
            create_static_files_router(path="/static", directories=[STATIC_DIR], include_in_schema=False),
        ],
        dependencies=DEPENDENCIES,
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=[lifespan],
        openapi_config=openapi,
        template_config=template_config(),
        state=State(
            {
                "settings": settings,
                "oidc": OidcClient(settings.oidc) if settings.oidc else None,
                "export_slots": asyncio.Semaphore(settings.export_concurrency),
            }
        ),
        compression_config=CompressionConfig(backend="gzip", minimum_size=1024),
        logging_config=None,
        debug=False,
    )
    document(app)  # the OpenAPI document completed: error answers, examples, a lock only where a token is needed
    app.asgi_handler = SecurityHeaders(
        RefuseNul(Idempotency(app.asgi_handler)),
        oidc_issuer=settings.oidc.issuer if settings.oidc else None,
        https=settings.secure_cookies,
    )
    return instrument(app)  # request ids, request metrics


logging.getLogger("rpabank").addHandler(logging.NullHandler())


def app_from_env() -> Litestar:
    """The app of one worker process (`rpabank serve --workers N`): settings from the environment; the database
    was migrated before the workers started."""
    return create_app(Settings.from_env(), migrate=False, long_lived=True)
