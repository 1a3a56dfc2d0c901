"""service.pages.processes: the process page, its adoption and benefit forms, and the bots it lists."""

from __future__ import annotations

import re
from typing import Any

from litestar.testing import TestClient

from tests.conftest import Api, process_body
from tests.service.pages.conftest import BOT, PID, csrf_of, sign_in


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
    # the badge counts Greve (in operation), not Guldborgsund (planned)
    assert re.search(r'<li class="pill"[^>]*>1 kommune i brug</li>', html)
    assert "54,4 timer · 24.480 kr." in html  # expected benefit in DKK too (54.4 hours × 450 kr.)
    assert "Log ind" in html and "Gem anvendelse" not in html  # no form for readers


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


async def test_form_shows_danish_messages_next_to_the_fields_all_at_once(site: Api) -> None:
    await sign_in(site, "editor_376")
    token = await csrf_of(site, f"/processes/{PID}")
    r = await site.client.post(
        f"/processes/{PID}/adoption",
        data={
            "_csrf_token": token,
            "status": "operation",
            "cases_per_year": "-5",
            "minutes_per_case": "fem",
            "automation_rate": "150 %",
        },
    )
    assert r.status_code == 422
    assert re.search(r'id="f-cases"[^>]*aria-invalid="true"', r.text)
    assert 'class="field-error" id="err-cases_per_year">Sager pr. år kan ikke være negativ.' in r.text
    assert 'id="err-minutes_per_case">Minutter pr. sag skal være et tal, fx 5,5.' in r.text
    assert 'id="err-automation_rate">Automatiseringsgrad må højst være 100 %.' in r.text
    assert "Expected" not in r.text
    r = await site.client.post(
        f"/processes/{PID}/adoption",
        data={"_csrf_token": token, "status": "operation", "started_on": "2024-05-01", "live_on": "2024-01-01"},
    )
    assert r.status_code == 422
    assert 'id="err-live_on">I drift siden kan ikke være før startdatoen.' in r.text
    r = await site.client.post(
        f"/processes/{PID}/adoption",
        data={"_csrf_token": token, "status": "operation", "cases_per_year": "1.200", "automation_rate": "75 %"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    saved = (await site.get(f"/api/processes/{PID}/adoptions/376")).json()
    assert (saved["cases_per_year"], saved["automation_rate"]) == (1200, 75)
    await site.delete(f"/api/processes/{PID}/adoptions/376")
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


async def test_benefit_form_shows_danish_messages(site: Api) -> None:
    await sign_in(site, "editor_253")
    token = await csrf_of(site, f"/processes/{PID}")
    r = await site.client.post(
        f"/processes/{PID}/benefits",
        data={"_csrf_token": token, "municipality": "253", "period": "2024-13", "cases_handled": "10"},
    )
    assert r.status_code == 422
    assert 'id="berr-period">Perioden skal være et år, et kvartal eller en måned' in r.text
    r = await site.client.post(
        f"/processes/{PID}/benefits",
        data={
            "_csrf_token": token,
            "municipality": "253",
            "period": "2024",
            "cases_handled": "mange",
            "minutes_saved_per_case": "-1",
            "quality": "7",
        },
    )
    assert r.status_code == 422
    assert 'id="berr-cases_handled">Behandlede sager skal være et helt tal, fx 1.200.' in r.text
    assert 'id="berr-minutes_saved_per_case">Sparede minutter pr. sag kan ikke være negativ.' in r.text
    assert 'id="berr-quality">Kvalitet må højst være 5.' in r.text
    assert "Expected" not in r.text


async def test_benefit_form_reads_danish_numbers(site: Api) -> None:
    await sign_in(site, "editor_253")
    token = await csrf_of(site, f"/processes/{PID}")
    r = await site.client.post(
        f"/processes/{PID}/benefits",
        data={
            "_csrf_token": token,
            "municipality": "253",
            "period": "2024-Q1",
            "cases_handled": "1.200",
            "minutes_saved_per_case": "5,5",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    saved = (await site.get(f"/api/processes/{PID}/adoptions/253/benefits/2024-Q1")).json()
    assert (saved["cases_handled"], saved["minutes_saved_per_case"]) == (1200, 5.5)
    page = (await site.client.get(f"/processes/{PID}")).text
    assert "<td>1. kvt. 2024" in page and "2024-Q1</td>" not in page  # the period in Danish


def test_process_page_lists_its_bots(demo_bank: TestClient[Any]) -> None:
    r = demo_bank.get(f"/processes/{PID}")
    assert r.status_code == 200
    section = r.text[r.text.index('id="robotter"') :]
    assert f'href="/bots/{BOT}">Straffeattest-robotten</a>' in section


def test_a_pinned_bot_version_links_to_the_bot(demo_bank: TestClient[Any]) -> None:
    html = demo_bank.get("/processes/indhentning-af-boerne-og-straffeattester").text
    assert 'href="/bots/straffeattest-robot/tree?ref=v1.0.0"' in html


async def test_benefit_table_is_ordered_by_period_with_a_total_row(site: Api) -> None:
    for period, cases in (("2024", 600), ("2023", 300)):
        r = await site.put(
            f"/api/processes/{PID}/adoptions/253/benefits/{period}",
            {"cases_handled": cases, "minutes_saved_per_case": 6},
        )
        assert r.status_code == 201, r.text
    page = (await site.client.get(f"/processes/{PID}")).text
    table = page[page.index("Indberettede gevinster") :]
    assert table.index(">2023<") < table.index(">2024<")
    total = re.search(r"<tfoot>.*?</tfoot>", table, re.S)
    assert total and "I alt" in total[0]
    assert ">900<" in total[0] and ">90,0<" in total[0]  # cases and hours: 300 + 600, 30 + 60


async def test_editor_removes_a_benefit_record_after_confirming(site: Api) -> None:
    url = f"/api/processes/{PID}/adoptions/253/benefits/2023"
    assert (await site.put(url, {"cases_handled": 300, "minutes_saved_per_case": 6})).status_code == 201
    remove = f"/processes/{PID}/benefits/253/2023/remove"
    assert (await site.client.get(remove, follow_redirects=False)).status_code == 303  # anonymous: to the login
    await sign_in(site, "editor_376")
    assert (await site.client.get(remove)).status_code == 403  # another municipality's editor
    site.client.cookies.clear()
    await sign_in(site, "editor_253")
    assert f'href="{remove}"' in (await site.client.get(f"/processes/{PID}")).text
    page = await site.client.get(remove)
    assert page.status_code == 200 and "Fjern gevinsten?" in page.text
    assert (await site.get(url)).status_code == 200  # asking removes nothing
    token = await csrf_of(site, remove)
    r = await site.client.post(remove, data={"_csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    assert (await site.get(url)).status_code == 404
    assert (await site.client.get(remove)).status_code == 404


async def test_personal_data_not_stated_is_shown_as_not_stated(api: Api) -> None:
    body = process_body()
    body.pop("personal_data", None)
    r = await api.post("/api/processes", body, who="editor_253")
    assert r.status_code == 201 and r.json()["personal_data"] is None
    page = (await api.client.get(f"/processes/{PID}")).text
    assert re.search(r"<dt>Personoplysninger</dt><dd>Ikke oplyst", page)
    etag = (await api.get(f"/api/processes/{PID}")).headers["ETag"]
    r = await api.patch(f"/api/processes/{PID}", {"personal_data": False}, who="editor_253", headers={"If-Match": etag})
    assert r.status_code == 200
    assert re.search(r"<dt>Personoplysninger</dt><dd>Nej", (await api.client.get(f"/processes/{PID}")).text)


# ---------------------------------------------------------------- removing an adoption from the process page

REMOVE = f"/processes/{PID}/adoptions/376/remove"


async def _adopted(api: Api) -> None:
    assert (await api.post("/api/processes", process_body(), who="editor_253")).status_code == 201
    r = await api.put(f"/api/processes/{PID}/adoptions/376", {"status": "operation"}, who="editor_376")
    assert r.status_code == 201, r.text


async def test_an_editor_removes_their_adoption_after_confirming(api: Api) -> None:
    await _adopted(api)
    assert (await sign_in(api, "editor_376")).status_code == 303
    assert f'href="{REMOVE}"' in (await api.client.get(f"/processes/{PID}")).text
    confirm = await api.client.get(REMOVE)
    assert confirm.status_code == 200 and "Fjern Guldborgsunds anvendelse?" in confirm.text
    assert (await api.get(f"/api/processes/{PID}/adoptions/376")).status_code == 200  # nothing removed yet
    r = await api.client.post(REMOVE, data={"_csrf_token": await csrf_of(api, REMOVE)}, follow_redirects=False)
    assert r.status_code == 303
    assert (await api.get(f"/api/processes/{PID}/adoptions/376")).status_code == 404
    assert "Anvendelsen er fjernet." in (await api.client.get(r.headers["location"])).text


async def test_another_municipality_sees_no_link_and_cannot_remove(api: Api) -> None:
    await _adopted(api)
    assert (await sign_in(api, "editor_253")).status_code == 303
    assert REMOVE not in (await api.client.get(f"/processes/{PID}")).text
    assert (await api.client.get(REMOVE)).status_code == 403
    r = await api.client.post(REMOVE, data={"_csrf_token": await csrf_of(api, f"/processes/{PID}")})
    assert r.status_code == 403
    assert (await api.get(f"/api/processes/{PID}/adoptions/376")).status_code == 200


async def test_an_anonymous_visitor_is_asked_to_sign_in(api: Api) -> None:
    await _adopted(api)
    r = await api.client.get(REMOVE, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
