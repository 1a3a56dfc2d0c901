"""The front page and /search: one search field (`q`), facets that filter when clicked, paging. With HTMX the
results partial is swapped while typing; without JavaScript the form submits normally."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, Request, get
from litestar.params import FromQuery, QueryParameter
from litestar.response import Template

from catalogue.vocab import DOMAINS, PHASES, STATUSES
from search.analysis import word_forms
from search.documents import TYPES, SearchQuery
from service.controllers.search import named_filters
from service.deps import ActorDep, BotServiceDep, IndexerDep, MunicipalityServiceDep, ProcessServiceDep
from service.indexing import viewer_for
from service.pages.common import TYPE_LABELS, is_htmx, page_context

# what the processes export takes of a search: the text and the process list's filters (not `type`)
EXPORT_PARAMS = ("q", "domain", "phase", "status", "system", "technology", "municipality")

PAGE_SIZE = 20
FACET_ORDER = ("type", "domain", "phase", "municipality", "system", "technology", "status")
FACET_VALUES_SHOWN = 12
Filter = Annotated[str | None, QueryParameter(required=False, max_length=200)]


def clean_filters(raw: dict[str, str | None]) -> dict[str, str]:
    """The filters a person may have in the address; unknown values are dropped rather than refused."""
    allowed = {"type": TYPES, "domain": DOMAINS, "phase": PHASES, "status": STATUSES}
    out: dict[str, str] = {}
    for name in FACET_ORDER:
        value = (raw.get(name) or "").strip()
        if not value:
            continue
        if name in allowed and value not in allowed[name]:
            continue
        if name == "municipality" and not (len(value) == 3 and value.isdigit()):
            continue
        if len(value) > 100:
            continue
        out[name] = value
    return out


MARKED = re.compile(r"<mark>([^<]+)</mark>")


def corrected_query(q: str, corrections: dict[str, list[list[str]]], snippets: list[str]) -> str | None:
    """The query as it was searched when words the index does not know were replaced ("tolkeregnig" →
    "tolkeregninger"): each replaced word as the hits' snippets show it (the first highlighted word with the forms
    searched), or None when nothing was replaced."""
    if not corrections:
        return None
    marked = list(dict.fromkeys(m.casefold() for snippet in snippets for m in MARKED.findall(snippet)))
    shown = q
    for word, alternatives in corrections.items():
        for mark in marked:
            forms = set(word_forms(mark))
            if mark != word.casefold() and any(set(alt) <= forms for alt in alternatives):
                shown = re.sub(re.escape(word), mark, shown, count=1, flags=re.IGNORECASE)
                break
    return shown if shown.casefold() != q.casefold() else None


class SearchPages(Controller):
    @get(["/", "/search"], name="search")
    async def search(
        self,
        process_service: ProcessServiceDep,
        bot_service: BotServiceDep,
        municipality_service: MunicipalityServiceDep,
        indexer: IndexerDep,
        request: Request[Any, Any, Any],
        actor: ActorDep,
        q: Annotated[str, QueryParameter(max_length=10_000)] = "",
        type: FromQuery[Filter] = None,
        domain: FromQuery[Filter] = None,
        phase: FromQuery[Filter] = None,
        status: FromQuery[Filter] = None,
        system: FromQuery[Filter] = None,
        technology: FromQuery[Filter] = None,
        municipality: FromQuery[Filter] = None,
        page: Annotated[int, QueryParameter(ge=1, le=500)] = 1,
    ) -> Template:
        filters = clean_filters(named_filters(type, domain, phase, status, system, technology, municipality))
        offset = (page - 1) * PAGE_SIZE
        result = await indexer.search(
            SearchQuery(text=q, filters=filters, viewer=viewer_for(actor), limit=PAGE_SIZE, offset=offset)
        )
        names = {m.code: m.name for m in await municipality_service.all()}
        # what a hit shows besides its title: a process's owner, phase and how many run it; a code file's bot
        process_ids = [h.id for h in result.hits if h.type == "process"]
        found = {p.id: p for p in await process_service.get_many(actor, process_ids)}
        running = await process_service.running_counts(process_ids)
        bots = await bot_service.names(sorted({h.id.split(":", 1)[0] for h in result.hits if h.type == "code"}))
        front = not q.strip() and not filters and page == 1
        newest, most_used = await process_service.highlights(actor) if front else ([], [])

        def facet_label(name: str, value: str) -> str:
            labels: dict[str, dict[str, str]] = {
                "type": TYPE_LABELS,
                "domain": DOMAINS,
                "phase": PHASES,
                "status": STATUSES,
                "municipality": names,
            }
            return labels.get(name, {}).get(value, value)

        def url(params: dict[str, Any]) -> str:
            clean = {k: v for k, v in params.items() if v not in (None, "") and not (k == "page" and v == 1)}
            return "/search" + (f"?{urlencode(clean)}" if clean else "")

        base = {"q": q, **filters}
        facets = []
        for name in FACET_ORDER:
            counts = result.facets.get(name) or {}
            if not counts:
                continue
            top = sorted(counts.items(), key=lambda kv: (-kv[1], facet_label(name, kv[0]).casefold()))
            chosen = filters.get(name)
            shown = top[:FACET_VALUES_SHOWN]
            if chosen and chosen not in dict(shown) and chosen in counts:
                shown.append((chosen, counts[chosen]))
            facets.append((name, shown))

        return Template(
            template_name="partials/results.html" if is_htmx(request) else "search.html",
            context=page_context(
                actor,
                nav="search",
                q=q,
                filters=filters,
                hits=result.hits,
                total=result.total,
                total_approximate=result.total_approximate,
                facets_approximate=result.facets_approximate,
                page=page,
                pages=max(1, math.ceil(result.total / PAGE_SIZE)),
                offset=offset,
                facets=facets,
                facet_label=facet_label,
                url_toggle=lambda name, value: url({**base, name: None if filters.get(name) == value else value}),
                url_without=lambda name: url({**base, name: None}),
                url_page=lambda n: url({**base, "page": n}),
                export_query=urlencode({k: v for k, v in base.items() if v and k in EXPORT_PARAMS}),
                corrected=corrected_query(q, result.corrections, [h.snippet for h in result.hits]),
                newest=newest,
                most_used=most_used,
                names=names,
                found=found,
                running=running,
                bots=bots,
            ),
        )
