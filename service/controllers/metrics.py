"""`GET /metrics`: the Prometheus text format (see service.metrics). Not in the API schema, not under /api."""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.datastructures import State

from service.metrics import render

# The classic text format (what prometheus-client answers by default); Litestar adds "; charset=utf-8".
TEXT_FORMAT = "text/plain; version=0.0.4"


class MetricsController(Controller):
    path = "/metrics"
    include_in_schema = False

    @get("/", summary="Prometheus metrics", media_type=TEXT_FORMAT)
    async def metrics(self, state: State) -> Response[bytes]:
        body = await render(state.indexer, state.read_sessions)
        return Response(body, media_type=TEXT_FORMAT, headers={"Cache-Control": "no-store"})
