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
