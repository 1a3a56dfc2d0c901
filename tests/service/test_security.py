"""service.security: the security headers on pages, the API, static files, errors and the API docs."""

from __future__ import annotations

from tests.conftest import Api


async def test_pages_get_a_strict_policy(api: Api) -> None:
    for url in ("/", "/login", "/static/css/site.css", "/api/processes", "/no-such-page"):
        r = await api.client.get(url)
        assert r.headers["x-content-type-options"] == "nosniff", url
        assert r.headers["x-frame-options"] == "DENY", url
        assert r.headers["referrer-policy"] == "same-origin", url
        csp = r.headers["content-security-policy"]
        assert "script-src 'self';" in csp and "unsafe-inline" not in csp, url
        assert "frame-ancestors 'none'" in csp and "form-action 'self'" in csp, url
    assert "strict-transport-security" not in r.headers  # not served over HTTPS here


async def test_the_api_docs_may_run_their_inline_start_up_script(api: Api) -> None:
    r = await api.client.get("/api/schema/")
    assert "script-src 'self' 'unsafe-inline'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"


async def test_no_page_template_has_inline_script_or_style(api: Api) -> None:
    from pathlib import Path

    import service

    templates = Path(service.__file__).parent / "templates"
    for path in templates.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert " style=" not in text, path
        for chunk in text.split("<script")[1:]:
            assert chunk.lstrip().startswith("src=") or " src=" in chunk.split(">")[0], path


async def test_a_nul_in_an_address_is_refused_on_both_databases(api: Api) -> None:
    for url in ("/api/processes?q=a%00b", "/api/search?q=%00", "/api/processes/abc%00def", "/search?q=x%00"):
        r = await api.client.get(url)
        assert r.status_code == 422, url
        assert "NUL" in r.json()["message"]


async def test_control_characters_are_refused_in_text(api: Api) -> None:
    from tests.conftest import process_body

    r = await api.post("/api/processes", process_body(title="Attester\x07"))
    assert r.status_code == 422
    assert (r.json()["field"], r.json()["message"]) == (
        "title",
        "title: control characters are not allowed (only tab and line breaks)",
    )
    ok = await api.post(
        "/api/processes", process_body(description="Linje 1\nLinje 2\tmed tab", owner_municipality="253")
    )
    assert ok.status_code == 201, ok.text


async def test_deep_json_and_a_huge_offset_are_client_errors(api: Api) -> None:
    deep = "[" * 1000 + "]" * 1000
    r = await api.client.post(
        "/api/processes", content=deep, headers={"content-type": "application/json", "authorization": "Bearer x"}
    )
    assert r.status_code == 400  # even with a garbage token: the body is refused before anything else
    r = await api.post("/api/processes", content=deep, headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.json()["message"] == "The JSON body is nested too deeply."
    assert (await api.get("/api/processes?offset=9223372036854775808")).status_code == 422


async def test_exports_neutralise_formulas(api: Api) -> None:
    from io import BytesIO

    from openpyxl import load_workbook

    from tests.conftest import process_body

    r = await api.post(
        "/api/processes", process_body(title='=HYPERLINK("http://x")', summary="@SUM(A1)", owner_municipality="253")
    )
    assert r.status_code == 201
    csv = (await api.get("/api/export/processes.csv")).text
    assert "'=HYPERLINK" in csv and "'@SUM(A1)" in csv
    assert (await api.get("/api/export/processes.csv")).headers["content-type"] == "text/csv; charset=utf-8"
    book = load_workbook(BytesIO((await api.get("/api/export/processes.xlsx")).content))
    values = [c.value for row in book.worksheets[0].iter_rows() for c in row]
    assert '\'=HYPERLINK("http://x")' in values
    assert not any(isinstance(v, str) and v.startswith("=") for v in values)
