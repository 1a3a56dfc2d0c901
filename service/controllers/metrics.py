"""`GET /metrics`: the Prometheus text format (see service.metrics). Not in the API schema, not under /api."""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.datastructures import State
from prometheus_client import CONTENT_TYPE_LATEST

from service.metrics import render


class MetricsController(Controller):
    path = "/metrics"
    include_in_schema = False

    @get("/", summary="Prometheus metrics", media_type=CONTENT_TYPE_LATEST, cache_control=None)
    async def metrics(self, state: State) -> Response[bytes]:
        body = await render(state.indexer, state.read_sessions)
        return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})
