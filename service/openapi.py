"""The OpenAPI document says what the API does: every operation's real error answers (with the one error body
of service.errors), the content types it serves, examples, described parameters, and a lock only where a token
is needed (writes and private reads; a public read takes a token optionally, to see one's own drafts).

Litestar describes the handlers; this completes its document once, when it is first served.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar._openapi.plugin import OpenAPIPlugin
from litestar.routes import HTTPRoute

from service.deps import READ_METHODS, requires_token, writes_need_token

ERROR_SCHEMA = "Error"
ERROR_BODY: dict[str, Any] = {
    "type": "object",
    "description": "Every error the API answers has this shape.",
    "required": ["status_code", "error", "message"],
    "properties": {
        "status_code": {"type": "integer", "description": "the HTTP status again"},
        "error": {"type": "string", "description": "a stable name of the kind of error, e.g. `not_found`"},
        "message": {"type": "string", "description": "what is wrong, for a person"},
        "field": {"type": ["string", "null"], "description": "the input at fault, when one is"},
        "errors": {
            "type": "array",
            "description": "every invalid field (422)",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": ["string", "null"]},
                    "source": {"type": ["string", "null"]},
                    "message": {"type": "string"},
                },
            },
        },
    },
}
ERRORS: dict[int, tuple[str, str, str]] = {  # status → (error name, when, an example message)
    400: ("bad_request", "The request could not be read (malformed JSON, nested too deeply).", "Not valid JSON."),
    401: ("not_authenticated", "No token, or the token is unknown, expired or revoked.", "This needs a token."),
    403: ("forbidden", "The token's role or municipality may not do this.", "Only editors of 253 may change this."),
    404: ("not_found", "Nothing with this id or code (or a draft you may not see).", "No process with id 'x'."),
    409: ("conflict", "Clashes with existing data or a simultaneous write; read again and retry.", "A clash."),
    412: ("precondition_failed", "If-Match names an older version: it changed since you read it.", "Changed since."),
    413: ("too_large", "The body is larger than this address accepts.", "The request is too large."),
    428: ("precondition_required", "A PATCH without If-Match: read the process and send its ETag back.",
          "If-Match is required."),
    422: ("invalid", "A parameter or a field of the body breaks a rule (`field` names it).", "title: too long."),
    429: ("too_many_requests", "Too many exports at once; retry after `Retry-After` seconds.", "Please retry."),
    502: ("git_failed", "The bot's repository could not be read.", "The repository could not be read."),
    503: ("unavailable", "The database (or search) is busy or down; nothing was written; retry after `Retry-After`.",
          "The database is busy; please retry in a moment."),
}  # fmt: skip
RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before retrying", "schema": {"type": "integer"}}}
PARAMETERS = {  # a description for every parameter the handlers leave undescribed, by name
    "slug": "the bot's short name, as in /api/bots",
    "process_id": "the process's id (a slug of its title)",
    "code": "a 3-digit municipality code, e.g. 253",
    "domain": "the area of work, e.g. `oekonomi`",
    "system": "an IT system the process uses (as in the vocabulary)",
    "technology": "an RPA technology, e.g. `UiPath`",
    "phase": "the process's phase, e.g. `operation`",
    "status": "the status to filter by",
    "kind": "which kind (vocabulary: system, technology, tag; search: what to find)",
    "limit": "how many to answer at most",
    "offset": "how many to skip (for paging)",
    "municipality": "a 3-digit municipality code: only what it owns or runs",
    "q": "free text to search for",
    "If-Match": 'the version read (its ETag, e.g. "3"): the change is refused with 412 if it changed since',
    "Idempotency-Key": "a key of your own: a retry with the same key gets the first answer, not a second write",
    "summary": "the summary written so far",
    "process": "a process id",
    "principle_id": "the principle's id",
    "name": "the name",
    "period": "a period: a year (2024), a quarter (2024-Q2) or a month (2024-05)",
    "ref": "a branch, tag or commit (default: HEAD)",
    "path": "a path in the repository",
}
METHODS = ("get", "post", "put", "patch", "delete")
FORMATS = {"date": "2024-05-01", "date-time": "2024-05-01T10:00:00Z", "email": "robot@greve.dk", "uri": "https://x.dk"}


def example(schema: dict[str, Any], components: dict[str, Any], depth: int = 0) -> Any:
    """An example value of a JSON schema: its own example or default, else one made from its type."""
    if "$ref" in schema:
        return example(components.get(schema["$ref"].rsplit("/", 1)[1], {}), components, depth)
    for key in ("examples", "example", "default"):
        value = schema.get(key)
        if value is not None and value != []:
            return value[0] if key == "examples" and isinstance(value, list) else value
    if "enum" in schema:
        return schema["enum"][0]
    for key in ("oneOf", "anyOf"):
        options = [o for o in schema.get(key, []) if o.get("type") != "null"]
        if options:
            return example(options[0], components, depth)
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        if depth > 3:
            return {}
        properties = schema.get("properties", {})
        return {name: example(sub, components, depth + 1) for name, sub in properties.items()}
    if kind == "array":
        return [example(schema.get("items", {}), components, depth + 1)] if depth <= 3 else []
    if kind == "string":
        pattern = schema.get("pattern", "")
        if pattern == r"^\d{3}$":
            return "253"
        return FORMATS.get(schema.get("format", ""), "tekst" if not pattern else "eksempel")
    if kind == "integer":
        return max(int(schema.get("minimum", 1)), 1)
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return False
    return None


def _with_examples(op: dict[str, Any], components: dict[str, Any]) -> None:
    """An example of the JSON request body and of every JSON answer that has none."""
    contents = [op.get("requestBody", {}).get("content", {})]
    contents += [r.get("content", {}) for code, r in op.get("responses", {}).items() if code.startswith("2")]
    for content in contents:
        media = content.get("application/json")
        if media and "schema" in media and "example" not in media and "examples" not in media:
            media["example"] = example(media["schema"], components)


def _statuses(method: str, path: str, op: dict[str, Any], guarded: bool) -> set[int]:
    # unreadable input; an unknown token (even on a public read); a rule broken (also by who asks: the bootstrap
    # admin token is no person); the database
    statuses = {400, 401, 422, 503}
    names = {p.get("name") for p in op.get("parameters", [])}
    if guarded or method != "get":
        statuses |= {401, 403}
    if "{" in path or method != "get":
        statuses.add(404)  # the address, or something the body names, does not exist (or is a hidden draft)
    if method != "get":
        statuses.add(409)  # a clash, or a retry with an Idempotency-Key whose first request still runs
    if "requestBody" in op:
        statuses.add(413)
    if "If-Match" in names:
        statuses.add(412)
        if method == "patch":
            statuses.add(428)  # without If-Match
    if path.startswith("/api/export/"):
        statuses.add(429)
    if path.startswith("/api/bots"):
        statuses.add(502)
    return statuses


def _error_response(status: int, page: bool) -> dict[str, Any]:
    """An error answer as documented: JSON under /api; elsewhere (pages, feeds) an error page."""
    name, when, example = ERRORS[status]
    if page:
        return {"description": when, "content": {"text/html": {"schema": {"type": "string"}}}}
    response: dict[str, Any] = {
        "description": when,
        "content": {
            "application/json": {
                "schema": {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"},
                "example": {"status_code": status, "error": name, "message": example},
            }
        },
    }
    if status in (429, 503):
        response["headers"] = RETRY_AFTER
    return response


def complete(schema: dict[str, Any], guarded: set[tuple[str, str]]) -> dict[str, Any]:
    """`schema` (Litestar's document as a dict) completed; `guarded`: the (method, path) that need a token."""
    schema.pop("security", None)
    schema.setdefault("components", {}).setdefault("schemas", {})[ERROR_SCHEMA] = ERROR_BODY
    for path, item in schema.get("paths", {}).items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            needs_token = (method, path) in guarded
            op["security"] = [{"bearer": []}] if needs_token else []
            _with_examples(op, schema["components"]["schemas"])
            responses = op.setdefault("responses", {})
            for code in [c for c in responses if c.startswith(("4", "5"))]:
                del responses[code]  # Litestar's own error shape is not what the API answers
            if path.startswith("/api/health"):  # the health checks answer their own body, 503 when unhealthy
                if path != "/api/health/live":
                    responses["503"] = {
                        "description": "Unhealthy: the body names each failing check.",
                        "headers": RETRY_AFTER,
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                continue
            for status in sorted(_statuses(method, path, op, needs_token)):
                responses[str(status)] = _error_response(status, page=not path.startswith("/api/"))
            for parameter in op.get("parameters", []):
                if not parameter.get("description"):
                    parameter["description"] = PARAMETERS.get(parameter["name"], parameter["name"].replace("_", " "))
            if method == "post" and path.startswith("/api/"):
                op.setdefault("parameters", []).append(
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "description": PARAMETERS["Idempotency-Key"],
                        "schema": {"type": "string", "minLength": 1, "maxLength": 200},
                    }
                )
    return schema


class CompletedOpenAPIPlugin(OpenAPIPlugin):
    """Litestar's OpenAPI plugin whose served document is completed by `complete`."""

    __slots__ = ()

    def provide_openapi_schema(self) -> dict[str, Any]:
        if not self._openapi_schema:
            guarded: set[tuple[str, str]] = set()
            for route in self.included_routes.values():
                if not isinstance(route, HTTPRoute):
                    continue
                for handler in route.route_handlers:
                    guards = [getattr(g, "func", g) for g in handler.resolve_guards()]
                    methods = handler.http_methods if requires_token in guards else set()
                    if writes_need_token in guards:
                        methods = methods | (handler.http_methods - READ_METHODS)
                    guarded |= {(m.lower(), route.path_format or "/") for m in methods}
            self._openapi_schema = complete(self.provide_openapi().to_schema(), guarded)
        return self._openapi_schema


def document(app: Litestar) -> None:
    """Serve the completed document from `app`."""
    app.plugins.get(OpenAPIPlugin).__class__ = CompletedOpenAPIPlugin
