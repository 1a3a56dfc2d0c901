"""Every request body the Meilisearch backend sends, checked against Meilisearch's documented API rules.

No server runs here: `MockClient` below is a recording mock of the `meilisearch.Client` surface the backend
uses. It is not Meilisearch and proves nothing about how Meilisearch ranks or answers; it records what the
backend *sends*, and `check_*` hold each body to the rules of the documentation page cited beside the rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from meilisearch.errors import MeilisearchApiError, MeilisearchCommunicationError, MeilisearchTimeoutError

from search.backends.base import SearchError
from search.backends.meili import (
    MAX_Q_WORDS,
    MAX_TOTAL_HITS,
    MeiliBackend,
    index_settings,
    meili_string,
    page_window,
    settings_differ,
)
from search.documents import FACETS, Document, SearchQuery, Viewer

# https://www.meilisearch.com/docs/reference/api/settings — the body of PATCH /indexes/{uid}/settings
SETTINGS_NAMES = {
    "displayedAttributes",
    "searchableAttributes",
    "filterableAttributes",
    "sortableAttributes",
    "rankingRules",
    "stopWords",
    "nonSeparatorTokens",
    "separatorTokens",
    "dictionary",
    "synonyms",
    "distinctAttribute",
    "proximityPrecision",
    "typoTolerance",
    "faceting",
    "pagination",
    "embedders",
    "searchCutoffMs",
    "localizedAttributes",
    "facetSearch",
    "prefixSearch",
}
# https://www.meilisearch.com/docs/reference/api/settings#ranking-rules — built-in rules, or `attr:asc|desc`
BUILTIN_RULES = {"words", "typo", "proximity", "attribute", "sort", "exactness"}
# https://www.meilisearch.com/docs/reference/api/search#search-parameters — the body of POST …/search
SEARCH_PARAMS = {
    "q",
    "offset",
    "limit",
    "hitsPerPage",
    "page",
    "filter",
    "facets",
    "distinct",
    "attributesToRetrieve",
    "attributesToCrop",
    "cropLength",
    "cropMarker",
    "attributesToHighlight",
    "highlightPreTag",
    "highlightPostTag",
    "showMatchesPosition",
    "sort",
    "matchingStrategy",
    "showRankingScore",
    "showRankingScoreDetails",
    "rankingScoreThreshold",
    "attributesToSearchOn",
    "hybrid",
    "vector",
    "retrieveVectors",
    "locales",
}
# https://www.meilisearch.com/docs/reference/api/search#matching-strategy
MATCHING_STRATEGIES = {"last", "all", "frequency"}
# https://www.meilisearch.com/docs/reference/api/documents#primary-key and
# https://www.meilisearch.com/docs/learn/resources/known_limitations#length-of-primary-key-values :
# "a document identifier can be of type integer or string, composed only of alphanumeric characters
# (a-z A-Z 0-9), hyphens (-) and underscores (_)", at most 511 bytes
DOCUMENT_ID = re.compile(r"[A-Za-z0-9_-]{1,511}")
# https://www.meilisearch.com/docs/learn/filtering_and_sorting/filter_expression_reference — a string value
# is quoted with double quotes, a quote inside it escaped with a backslash; operators =, !=, >, >=, <, <=,
# TO, EXISTS, IS EMPTY, IS NULL, IN, NOT, AND, OR and parentheses
QUOTED = re.compile(r'"(?:\\.|[^"\\])*"')
CONDITION = re.compile(r"([A-Za-z_][A-Za-z0-9_.]*)\s*(?:!=|>=|<=|=|>|<|\s(?:NOT\s+)?IN\s|\sEXISTS|\sIS\s)")

SETTINGS = index_settings()


def filter_attributes(expression: str) -> list[str]:
    """The attributes a filter expression tests (its quoted values removed first)."""
    bare = QUOTED.sub('""', expression)
    assert '"' not in QUOTED.sub("", expression), f"an unterminated string in {expression!r}"
    return CONDITION.findall(bare + " ")


def flat_filter(value: Any) -> list[str]:
    # https://www.meilisearch.com/docs/reference/api/search#filter — a string, or an array of strings and
    # arrays of strings (outer array AND, inner OR)
    if isinstance(value, str):
        return [value]
    assert isinstance(value, list)
    out = []
    for item in value:
        assert isinstance(item, str | list)
        out.extend(flat_filter(item))
    return out


def check_settings(body: dict[str, Any]) -> None:
    assert set(body) <= SETTINGS_NAMES, set(body) - SETTINGS_NAMES
    for rule in body.get("rankingRules", []):
        assert rule in BUILTIN_RULES or re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*:(asc|desc)", rule), rule
    # https://www.meilisearch.com/docs/reference/api/settings#typo-tolerance — oneTypo ≤ twoTypos
    sizes = body.get("typoTolerance", {}).get("minWordSizeForTypos", {})
    if sizes:
        assert 0 <= sizes["oneTypo"] <= sizes["twoTypos"] <= 255
    # https://www.meilisearch.com/docs/reference/api/settings#pagination — maxTotalHits a positive integer
    assert body.get("pagination", {}).get("maxTotalHits", 1) >= 1
    for word, alternatives in body.get("synonyms", {}).items():
        assert isinstance(word, str) and all(isinstance(a, str) for a in alternatives)


def check_document(doc: dict[str, Any]) -> None:
    assert DOCUMENT_ID.fullmatch(doc["key"]) and len(doc["key"].encode()) <= 511, doc["key"]
    # the attributes the settings name must be the document's fields (else they silently match nothing)
    for attr in SETTINGS["searchableAttributes"] + SETTINGS["displayedAttributes"] + ["forms"]:
        assert attr in doc, attr


def check_search(q: str, params: dict[str, Any]) -> None:
    assert set(params) <= SEARCH_PARAMS, set(params) - SEARCH_PARAMS
    filterable = set(SETTINGS["filterableAttributes"])
    # https://www.meilisearch.com/docs/reference/api/search#facets — facets must be filterableAttributes,
    # else 400 invalid_search_facets
    assert set(params.get("facets", [])) <= filterable, set(params.get("facets", [])) - filterable
    # https://www.meilisearch.com/docs/reference/api/search#filter — only filterableAttributes, else 400
    # invalid_search_filter
    for expression in flat_filter(params.get("filter", [])):
        attributes = filter_attributes(expression)
        assert attributes, expression
        assert set(attributes) <= filterable, (expression, set(attributes) - filterable)
    # https://www.meilisearch.com/docs/reference/api/search#sort — `attr:asc|desc` of sortableAttributes
    for item in params.get("sort", []):
        attr, _, direction = item.rpartition(":")
        assert direction in {"asc", "desc"} and attr in SETTINGS["sortableAttributes"], item
    # https://www.meilisearch.com/docs/reference/api/search#attributes-to-retrieve — attributes outside
    # displayedAttributes are left out of hits
    for key in ("attributesToRetrieve", "attributesToHighlight", "attributesToCrop"):
        assert set(params.get(key, [])) <= set(SETTINGS["displayedAttributes"]), key
    # https://www.meilisearch.com/docs/reference/api/search#number-of-results-per-page and #page — page ≥ 1
    # (page 0 returns nothing), hitsPerPage ≥ 1 here (0 returns no hits); they replace limit/offset
    # https://www.meilisearch.com/docs/guides/front_end/pagination — "page and hitsPerPage take precedence
    # over offset and limit": never send both kinds
    paging = {"page", "hitsPerPage"} & set(params)
    assert paging, "exact totals need page/hitsPerPage (totalHits); offset/limit answer estimatedTotalHits"
    assert not ({"limit", "offset"} & set(params)), "limit/offset mixed with page/hitsPerPage"
    assert isinstance(params["page"], int) and params["page"] >= 1
    assert isinstance(params["hitsPerPage"], int) and params["hitsPerPage"] >= 1
    assert params.get("matchingStrategy", "last") in MATCHING_STRATEGIES
    # https://www.meilisearch.com/docs/learn/resources/known_limitations#maximum-number-of-query-words —
    # only the first ten words of q are taken into account
    assert len(q.split()) <= MAX_Q_WORDS, q


def check_facet_search(facet_name: str) -> None:
    # https://www.meilisearch.com/docs/reference/api/facet_search — facetName must be filterable
    assert facet_name in SETTINGS["filterableAttributes"], facet_name


@dataclass
class TaskInfo:
    task_uid: int


@dataclass
class Task:
    uid: int
    status: str = "succeeded"
    type: str = "mock"
    error: dict[str, str] | None = None


class MockIndex:
    def __init__(self, client: MockClient, uid: str) -> None:
        self.client, self.uid = client, uid

    def get_settings(self) -> dict[str, Any]:
        return self.client.stored_settings.get(self.uid, {})

    def update_settings(self, body: dict[str, Any]) -> TaskInfo:
        check_settings(body)
        self.client.record("update_settings", body)
        # answered back sorted, as Meilisearch answers set-like settings
        stored = dict(body)
        for key in ("filterableAttributes", "sortableAttributes", "stopWords"):
            stored[key] = sorted(body[key])
        self.client.stored_settings[self.uid] = stored
        return self.client.task()

    def add_documents(self, documents: list[dict[str, Any]], primary_key: str) -> TaskInfo:
        assert primary_key == "key"
        for doc in documents:
            check_document(doc)
        self.client.record("add_documents", documents)
        return self.client.task()

    def delete_documents(self, filter: str) -> TaskInfo:  # noqa: A002  (the client's name)
        for attr in filter_attributes(filter):
            assert attr in SETTINGS["filterableAttributes"]
        self.client.record("delete_documents", filter)
        return self.client.task()

    def search(self, q: str, params: dict[str, Any]) -> dict[str, Any]:
        check_search(q, params)
        self.client.record("search", {"q": q, **params})
        return self.client.search_answer(params)

    def facet_search(self, facet_name: str, facet_query: str) -> dict[str, Any]:
        check_facet_search(facet_name)
        self.client.record("facet_search", {"facetName": facet_name, "facetQuery": facet_query})
        return {"facetHits": [{"value": facet_query + "er", "count": 1}], "facetQuery": facet_query}

    def get_stats(self) -> Any:
        return type("Stats", (), {"number_of_documents": 3})()


class MockClient:
    """A recording mock of meilisearch.Client (not Meilisearch): checks and records what it is sent."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, Any]] = []
        self.stored_settings: dict[str, dict[str, Any]] = {}
        self.indexes: set[str] = set()
        self._tasks = 0
        self.fail: BaseException | None = None

    def record(self, kind: str, body: Any) -> None:
        if self.fail is not None:
            raise self.fail
        self.requests.append((kind, body))

    def task(self) -> TaskInfo:
        self._tasks += 1
        return TaskInfo(self._tasks)

    def kinds(self) -> list[str]:
        return [k for k, _ in self.requests]

    def search_answer(self, params: dict[str, Any]) -> dict[str, Any]:
        hit = {"type": "process", "id": "x", "title": "T", "url": "/x", "summary": "", "body": "", "_rankingScore": 0.5}
        return {
            "hits": [hit] * min(params["hitsPerPage"], 3),
            "totalHits": 3,
            "totalPages": 1,
            "page": params["page"],
            "hitsPerPage": params["hitsPerPage"],
            "facetDistribution": {"f_type": {"process": 3}, "f_system": {"eDoc": 2}},
        }

    def index(self, uid: str) -> MockIndex:
        return MockIndex(self, uid)

    def get_index(self, uid: str) -> Any:
        self.record("get_index", uid)
        if uid not in self.indexes:
            response = requests.Response()
            response.status_code = 404
            response._content = b'{"message": "Index not found", "code": "index_not_found", "type": "invalid_request"}'
            raise MeilisearchApiError("404", response)
        return uid

    def create_index(self, uid: str, options: dict[str, Any]) -> TaskInfo:
        assert options == {"primaryKey": "key"}
        # https://www.meilisearch.com/docs/reference/api/indexes#index-object — uid: [A-Za-z0-9_-]
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,400}", uid), uid
        self.record("create_index", uid)
        self.indexes.add(uid)
        return self.task()

    def delete_index(self, uid: str) -> TaskInfo:
        self.record("delete_index", uid)
        self.indexes.discard(uid)
        return self.task()

    def swap_indexes(self, pairs: list[dict[str, list[str]]]) -> TaskInfo:
        # https://www.meilisearch.com/docs/reference/api/indexes#swap-indexes — pairs of two existing uids
        for pair in pairs:
            assert len(pair["indexes"]) == 2 and set(pair["indexes"]) <= self.indexes
        self.record("swap_indexes", pairs)
        return self.task()

    def wait_for_task(self, uid: int, timeout_in_ms: int, interval_in_ms: int) -> Task:
        return Task(uid)


def backend() -> tuple[MeiliBackend, MockClient]:
    client = MockClient()
    return MeiliBackend("http://unused", index="rpabank", client=client), client


DOC = Document(
    type="code",
    id="bots/x/Main Flow ø.xaml",
    title="Main Flow ø.xaml",
    url="/code/x",
    body="hent_straffeattest",
    facets={"system": ["eDoc"]},
)


def test_writing_sends_valid_settings_documents_and_deletes() -> None:
    b, client = backend()
    assert b.rebuild([DOC]) == 1
    b.upsert([DOC])
    b.delete([("code", DOC.id), ("process", 'a "quoted" \\ id')])
    kinds = client.kinds()
    assert "update_settings" in kinds and "add_documents" in kinds and "swap_indexes" in kinds
    assert kinds[-1] == "delete_documents"


def test_settings_are_pushed_only_when_they_changed() -> None:
    b, client = backend()
    b.ensure_index()
    assert client.kinds().count("update_settings") == 1
    again = MeiliBackend("http://unused", index="rpabank", client=client)
    again.ensure_index()  # the index answers our settings back (sorted): nothing is pushed
    assert client.kinds().count("update_settings") == 1
    client.stored_settings["rpabank"]["synonyms"] = {}
    MeiliBackend("http://unused", index="rpabank", client=client).ensure_index()
    assert client.kinds().count("update_settings") == 2


def test_settings_comparison_ignores_added_defaults_and_order() -> None:
    wanted = index_settings()
    current = {**wanted, "filterableAttributes": sorted(wanted["filterableAttributes"]), "distinctAttribute": None}
    current["typoTolerance"] = {**wanted["typoTolerance"], "disableOnWords": [], "disableOnAttributes": []}
    assert not settings_differ(current, wanted)
    assert settings_differ({**current, "rankingRules": list(reversed(wanted["rankingRules"]))}, wanted)
    assert settings_differ({**current, "synonyms": {**wanted["synonyms"], "extra": ["x"]}}, wanted)


queries = st.builds(
    SearchQuery,
    text=st.one_of(st.text(max_size=60), st.sampled_from(["straffeattester til frivillige", "tolk", "Koege", ""])),
    filters=st.dictionaries(st.sampled_from([*FACETS, "colour"]), st.text(max_size=20), max_size=3),
    viewer=st.builds(Viewer, municipality=st.one_of(st.none(), st.text(max_size=8)), is_admin=st.booleans()),
    limit=st.integers(-5, 2000),
    offset=st.integers(-5, 50_000),
)


@settings(max_examples=150, deadline=None)
@given(queries)
def test_every_search_request_keeps_the_api_rules(query: SearchQuery) -> None:
    b, client = backend()
    result = b.search(query)  # the mock checks each body as it is sent
    assert result.total == 3 and set(result.facets) == set(FACETS)
    assert result.facets["system"] == {"eDoc": 2}  # mapped back from f_system to our facet name
    sent = [body for kind, body in client.requests if kind == "search"]
    assert len(sent) <= 1


def test_query_words_go_with_all_their_forms() -> None:
    b, client = backend()
    b.search(SearchQuery(text="straffeattesterne", viewer=Viewer(is_admin=True)))
    (facet,) = [body for kind, body in client.requests if kind == "facet_search"]
    (body,) = [body for kind, body in client.requests if kind == "search"]
    matching = body["filter"][-1]
    for form in ("straffeattesterne", "straffeattest", facet["facetQuery"] + "er"):  # fold, stem, expansion
        assert meili_string(form) in matching
    assert '(forms = "straf" AND forms = "attest")' in matching  # the compound's parts
    assert body["q"].split()[0] == "rpabankdokument" and body["matchingStrategy"] == "last"


def test_visibility_and_facet_filters_stay_exact_clauses() -> None:
    b, client = backend()
    b.search(SearchQuery(text="tolk", filters={"system": "eDoc"}, viewer=Viewer(municipality="253")))
    (body,) = [body for kind, body in client.requests if kind == "search"]
    assert body["filter"][:2] == ['visibility = "network" OR visibility = "municipality:253"', 'fk_system = "edoc"']


@given(st.integers(0, MAX_TOTAL_HITS - 1), st.integers(1, 1_000))
def test_offset_and_limit_map_to_one_page_holding_the_window(offset: int, limit: int) -> None:
    page, size, skip = page_window(offset, limit)
    assert page >= 1 and size >= limit
    start = (page - 1) * size + skip
    assert start == offset and skip + limit <= size


def test_no_hits_past_max_total_hits() -> None:
    b, _ = backend()
    result = b.search(SearchQuery(text="tolk", offset=MAX_TOTAL_HITS + 5))
    assert result.hits == [] and result.total == 3


def parse_literal(text: str) -> tuple[str, str]:
    """Meilisearch's reading of a quoted filter value, per the filter expression reference: inside double
    quotes a backslash escapes the next character. Returns (value, what follows the closing quote)."""
    assert text[0] == '"'
    out, i = [], 1
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if c == '"':
            return "".join(out), text[i + 1 :]
        out.append(c)
        i += 1
    raise AssertionError("unterminated string")


@given(st.text())
def test_any_user_text_round_trips_through_the_filter_escaping(value: str) -> None:
    quoted = meili_string(value)
    parsed, rest = parse_literal(quoted + ' AND type = "x"')
    assert parsed == value and rest == ' AND type = "x"'  # nothing leaks out of the string
    assert filter_attributes(f"fk_system = {quoted}") == ["fk_system"]


@pytest.mark.parametrize(
    "failure",
    [
        MeilisearchCommunicationError("connection refused"),
        MeilisearchTimeoutError("timed out"),
        requests.ConnectionError("refused"),
        requests.exceptions.ChunkedEncodingError("cut"),
        ValueError("Expecting value: line 1 column 1"),  # an answer that is not JSON
    ],
)
def test_every_engine_failure_is_a_search_error(failure: BaseException) -> None:
    b, client = backend()
    b.ensure_index()
    client.fail = failure
    for call in (
        lambda: b.search(SearchQuery(text="tolk")),
        lambda: b.upsert([DOC]),
        lambda: b.delete([("code", "x")]),
        lambda: b.rebuild([DOC]),
    ):
        with pytest.raises(SearchError):
            call()


def test_an_api_error_and_a_failed_task_are_search_errors() -> None:
    b, client = backend()
    response = requests.Response()
    response.status_code = 400
    response._content = b'{"message": "bad facets", "code": "invalid_search_facets", "type": "invalid_request"}'
    b.ensure_index()
    client.fail = MeilisearchApiError("400", response)
    with pytest.raises(SearchError, match="invalid_search_facets"):
        b.search(SearchQuery(text="tolk"))
    client.fail = None
    client.wait_for_task = lambda uid, **_: Task(uid, status="failed", error={"message": "no", "code": "x"})  # type: ignore[method-assign]
    with pytest.raises(SearchError, match="failed"):
        b.upsert([DOC])


def test_a_malformed_answer_is_a_search_error() -> None:
    b, client = backend()
    client.search_answer = lambda params: {"hits": [{"id": "no type"}]}  # type: ignore[method-assign]
    with pytest.raises(SearchError):
        b.search(SearchQuery(text="tolk"))


def test_a_failing_document_source_is_not_hidden() -> None:
    b, _ = backend()

    def broken() -> Any:
        yield DOC
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError):
        b.rebuild(broken())
