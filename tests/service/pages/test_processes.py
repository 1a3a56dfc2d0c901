"""The web pages through Litestar's test client: status, key content, errors as pages, sign-in and CSRF."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import Api, process_body

PID = "indhentning-af-boerne-og-straffeattester"
CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


@pytest.fixture
async def site(api: Api) -> Api:
    """Two processes, adopted by Greve and Køge."""
    body = process_body(
        owner_municipality="253",
        description="## Baggrund\nAttester indhentes ved **ansættelse**.\n\n<script>alert(1)</script>",
    )
    assert (await api.post("/api/processes", body)).status_code == 201
    other = process_body(
        "Betaling af tolkeregninger",
        summary="Robotten betaler tolkeregninger.",
        domain="oekonomi",
        owner_municipality="259",
        systems=["KMD Opus"],
        tags=[],
    )
    assert (await api.post("/api/processes", other)).status_code == 201
    for code, status in (("253", "operation"), ("259", "planned")):
        r = await api.put(
            f"/api/processes/{PID}/adoptions/{code}",
            {"status": status, "live_on": "2022-02-01", "bot": {"repo": "https://git.example/attest", "ref": "v1.2.0"}},
        )
        assert r.status_code == 201, r.text
    return api


async def csrf_of(api: Api, url: str = "/login") -> str:
    page = await api.client.get(url)
    match = CSRF.search(page.text)
    assert match, "the page has a CSRF field"
    return match.group(1)


async def sign_in(api: Api, who: str) -> Any:
    token = await csrf_of(api)
    return await api.client.post(
        "/login",
        data={"token": api.tokens[who], "next": f"/processes/{PID}", "_csrf_token": token},
        follow_redirects=False,
    )


async def test_front_page_has_the_search_field(site: Api) -> None:
    r = await site.client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert 'name="q"' in r.text and 'lang="da"' in r.text
    assert 'href="#indhold"' in r.text  # skip link
    assert "/static/js/htmx.min.js" in r.text and "/static/css/site.css" in r.text


async def test_search_shows_hits_with_marked_snippet_and_facets(site: Api) -> None:
    r = await site.client.get("/search", params={"q": "straffeattest"})
    assert r.status_code == 200
    assert f'href="/processes/{PID}"' in r.text
    assert "<mark>" in r.text
    assert "Proces" in r.text  # the type of the hit
    assert "/search?q=straffeattest&amp;domain=hr_og_loen" in r.text  # a facet link
    assert "HR og løn" in r.text


async def test_a_facet_filters(site: Api) -> None:
    r = await site.client.get("/search", params={"domain": "oekonomi"})
    assert "Betaling af tolkeregninger" in r.text
    assert "Indhentning af børne- og straffeattester" not in r.text
    assert "(fjern filter)" in r.text


async def test_search_escapes_the_query_and_survives_odd_input(site: Api) -> None:
    r = await site.client.get("/search", params={"q": '<script>alert("x")</script> "NEAR( -*', "domain": "nonsense"})
    assert r.status_code == 200
    assert "<script>alert" not in r.text
    assert "&lt;script&gt;" in r.text


async def test_htmx_gets_only_the_results_partial(site: Api) -> None:
    r = await site.client.get("/search", params={"q": "tolk"}, headers={"HX-Request": "true"})
    assert r.status_code == 200
    assert r.text.lstrip().startswith('<div id="results"')
    assert "<html" not in r.text
    assert "Betaling af tolkeregninger" in r.text


async def test_paging(site: Api) -> None:
    r = await site.client.get("/search", params={"page": 2})
    assert r.status_code == 200
    bad = await site.client.get("/search", params={"page": 0})
    assert bad.status_code == 422 and "text/html" in bad.headers["content-type"]


async def test_process_page(site: Api) -> None:
    r = await site.client.get(f"/processes/{PID}")
    assert r.status_code == 200
    html = r.text
    assert re.search(r"<h2[^>]*>Baggrund</h2>", html) and "<strong>ansættelse</strong>" in html  # Markdown
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html  # raw HTML escaped
    assert "Greve" in html and "Køge" in html  # the adopting municipalities
    assert "I drift" in html and "Planlagt" in html and "v1.2.0" in html and "01.02.2022" in html
    assert "Politiets attestløsning" in html and "Power Automate" in html
    assert "Historik" in html
    assert "Log ind" in html and "Gem anvendelse" not in html  # no form for readers


async def test_municipality_page_and_list(site: Api) -> None:
    r = await site.client.get("/municipalities/253")
    assert r.status_code == 200
    assert "Greve" in r.text and "Indhentning af børne- og straffeattester" in r.text
    assert (await site.client.get("/municipalities")).status_code == 200
    assert (await site.client.get("/municipalities/999")).status_code == 404
    assert (await site.client.get("/municipalities/abc")).status_code == 404


async def test_dashboard(site: Api) -> None:
    r = await site.client.get("/dashboard")
    assert r.status_code == 200
    assert r.text.count("<svg") >= 2
    assert "Processer efter fase" in r.text and "Hvem bruger hvad" in r.text
    assert f'href="/processes/{PID}"' in r.text  # the matrix


@pytest.mark.parametrize("url", ["/processes/findes-ikke", "/nothing-here", "/municipalities/999"])
async def test_missing_page_is_a_404_page_in_the_design(site: Api, url: str) -> None:
    r = await site.client.get(url)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "Siden findes ikke" in r.text and "/static/css/site.css" in r.text
    assert "Traceback" not in r.text and "NotFound" not in r.text


async def test_api_errors_stay_json(site: Api) -> None:
    r = await site.client.get("/api/processes/findes-ikke")
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    r = await site.client.get("/api/nothing-here")
    assert r.status_code == 404 and r.json()["error"] == "not_found"


async def test_server_error_page_shows_no_stack_trace(site: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from catalogue.services import ProcessService

    async def boom(*_: Any, **__: Any) -> Any:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(ProcessService, "history", boom)
    r = await site.client.get(f"/processes/{PID}")
    assert r.status_code == 500
    assert r.headers["content-type"].startswith("text/html")
    assert "Der skete en fejl" in r.text
    assert "secret internals" not in r.text and "Traceback" not in r.text and "RuntimeError" not in r.text


async def test_posts_without_csrf_token_are_refused(site: Api) -> None:
    r = await site.client.post("/login", data={"token": site.tokens["editor_253"]})
    assert r.status_code == 403
    assert "text/html" in r.headers["content-type"]
    assert "rpabank_session" not in r.headers.get("set-cookie", "")
    await csrf_of(site)  # now there is a CSRF cookie, but a wrong field
    r = await site.client.post("/login", data={"token": site.tokens["editor_253"], "_csrf_token": "x" * 80})
    assert r.status_code == 403


async def test_api_writes_need_no_csrf_token(site: Api) -> None:
    await csrf_of(site)  # a browser-like client with the CSRF cookie
    r = await site.put(f"/api/processes/{PID}/adoptions/376", {"status": "interested"})
    assert r.status_code == 201
    assert "rpabank" not in r.headers.get("set-cookie", "")  # the API sets no cookies


async def test_sign_in_sets_a_safe_cookie_and_keeps_the_token_out_of_urls(site: Api) -> None:
    r = await sign_in(site, "editor_253")
    assert r.status_code == 303
    assert r.headers["location"] == f"/processes/{PID}"
    assert site.tokens["editor_253"] not in r.headers["location"]
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("rpabank_session="))
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    assert site.tokens["editor_253"] not in cookie  # encrypted and signed
    page = await site.client.get(f"/processes/{PID}")
    assert "editor_253 (253)" in page.text and "Gem anvendelse" in page.text
    assert site.tokens["editor_253"] not in page.text


async def test_login_form_uses_post_and_a_wrong_token_is_refused(site: Api) -> None:
    page = await site.client.get("/login")
    assert 'method="post"' in page.text and 'type="password"' in page.text
    token = await csrf_of(site)
    r = await site.client.post("/login", data={"token": "rpab_wrong", "_csrf_token": token})
    assert r.status_code == 400
    assert "ukendt eller tilbagekaldt" in r.text
    assert "rpab_wrong" not in r.text


async def test_a_forged_session_cookie_is_ignored(site: Api) -> None:
    site.client.cookies.set("rpabank_session", "bm9uc2Vuc2U=")
    r = await site.client.get(f"/processes/{PID}")
    assert r.status_code == 200 and "Gem anvendelse" not in r.text


async def test_logout(site: Api) -> None:
    await sign_in(site, "editor_253")
    token = await csrf_of(site, f"/processes/{PID}")
    r = await site.client.post("/logout", data={"_csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    assert "Gem anvendelse" not in (await site.client.get(f"/processes/{PID}")).text


async def test_editor_registers_an_adoption_through_the_form(site: Api) -> None:
    await site.client.post("/logout")  # no-op without CSRF: refused, harmless
    site.client.cookies.clear()
    await sign_in(site, "editor_376")
    token = await csrf_of(site, f"/processes/{PID}")
    r = await site.client.post(
        f"/processes/{PID}/adoption",
        data={
            "_csrf_token": token,
            "status": "implementing",
            "started_on": "2024-01-15",
            "bot_repo": "https://git.example/a",
            "bot_ref": "v1.2.0",
            "minutes_per_case": "4,5",
            "contact_name": "Sofie Lund",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    api = (await site.get(f"/api/processes/{PID}/adoptions/376")).json()
    assert api["status"] == "implementing" and api["minutes_per_case"] == 4.5 and api["bot"]["ref"] == "v1.2.0"
    page = (await site.client.get(f"/processes/{PID}")).text
    assert "Guldborgsund" in page and "Under implementering" in page


async def test_form_shows_the_apis_validation_messages_next_to_the_fields(site: Api) -> None:
    await sign_in(site, "editor_376")
    token = await csrf_of(site, f"/processes/{PID}")
    r = await site.client.post(
        f"/processes/{PID}/adoption", data={"_csrf_token": token, "status": "operation", "cases_per_year": "-5"}
    )
    assert r.status_code == 422
    assert re.search(r'id="f-cases"[^>]*aria-invalid="true"', r.text)
    assert 'class="field-error" id="err-cases_per_year">cases_per_year: Expected `int` &gt;= 0' in r.text
    r = await site.client.post(
        f"/processes/{PID}/adoption",
        data={"_csrf_token": token, "status": "operation", "started_on": "2024-05-01", "live_on": "2024-01-01"},
    )
    assert r.status_code == 422
    assert 'id="err-live_on">live_on must not be before started_on.' in r.text
    assert (await site.get(f"/api/processes/{PID}/adoptions/376")).status_code == 404  # nothing was written


async def test_htmx_form_post_answers_the_adoption_partial(site: Api) -> None:
    await sign_in(site, "editor_376")
    token = await csrf_of(site, f"/processes/{PID}")
    r = await site.client.post(
        f"/processes/{PID}/adoption", headers={"HX-Request": "true"}, data={"_csrf_token": token, "status": "planned"}
    )
    assert r.status_code == 200
    assert r.text.lstrip().startswith('<section id="anvendelse"') and "Anvendelsen er gemt" in r.text


async def test_reader_cannot_post_the_form(site: Api) -> None:
    token = await csrf_of(site)
    r = await site.client.post(f"/processes/{PID}/adoption", data={"_csrf_token": token, "status": "planned"})
    assert r.status_code == 422 and "Log ind som redaktør" in r.text


async def test_editor_reports_a_benefit_and_sees_it(site: Api) -> None:
    await sign_in(site, "editor_253")
    token = await csrf_of(site, f"/processes/{PID}")
    r = await site.client.post(
        f"/processes/{PID}/benefits",
        data={
            "_csrf_token": token,
            "municipality": "253",
            "period": "2024",
            "cases_handled": "1100",
            "minutes_saved_per_case": "3,2",
            "budget_realised": "on",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    api = (await site.get(f"/api/processes/{PID}/adoptions/253/benefits/2024")).json()
    assert api["cases_handled"] == 1100 and api["minutes_saved_per_case"] == 3.2
    page = (await site.client.get(f"/processes/{PID}?gemt=gevinst")).text
    assert "Gevinsten er indberettet" in page
    assert "Realiserede timer pr. år" in page and "<svg" in page  # the chart
    assert "58,7" in page  # 1100 × 3.2 / 60 hours
    dashboard = (await site.client.get("/dashboard")).text
    assert "Processer med størst realiseret gevinst" in dashboard
    assert "Realiserede timer pr. år i Greve" in (await site.client.get("/municipalities/253")).text


async def test_benefit_form_shows_the_apis_messages(site: Api) -> None:
    await sign_in(site, "editor_253")
    token = await csrf_of(site, f"/processes/{PID}")
    r = await site.client.post(
        f"/processes/{PID}/benefits",
        data={"_csrf_token": token, "municipality": "253", "period": "2024-13", "cases_handled": "10"},
    )
    assert r.status_code == 422
    assert 'id="berr-period">' in r.text
    r = await site.client.post(
        f"/processes/{PID}/benefits",
        data={"_csrf_token": token, "municipality": "253", "period": "2024", "cases_handled": "mange"},
    )
    assert r.status_code == 422
    assert 'id="berr-cases_handled">cases_handled: Expected `int`' in r.text
