"""catalogue.reuse: stems and similarity, which rank likely duplicates of a process; no database or HTTP."""

from __future__ import annotations

import datetime as dt

from catalogue.reuse import rank_similar, similarity, stems
from catalogue.schemas import ProcessRead


def process(id: str, title: str, summary: str) -> ProcessRead:
    now = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    return ProcessRead(
        id=id,
        title=title,
        summary=summary,
        description="",
        domain="social",
        domain_label="Social",
        kle=None,
        phase="idea",
        phase_label="Idé",
        status="active",
        status_label="Aktiv",
        duplicate_of=None,
        systems=[],
        technologies=[],
        tags=[],
        owner_municipality="253",
        contact=None,
        legal_basis=None,
        personal_data=False,
        dpia_done=False,
        cases_per_year=None,
        minutes_per_case=None,
        automation_rate=None,
        build_hours=None,
        expected_hours_per_year=None,
        derived_from=None,
        derived=[],
        visibility="network",
        adoption_count=0,
        adopted_by=[],
        created_at=now,
        updated_at=now,
        version=1,
    )


def test_stems_see_through_inflection_and_compounds() -> None:
    assert {"straffeattest", "attest"} <= stems("Straffeattesterne")
    assert {"tolkeregning", "tolk", "regning"} <= stems("tolkeregninger")
    assert "af" not in stems("Betaling af regninger")


def test_similarity_ranks_duplicates_first() -> None:
    candidates = [
        process("tolk", "Betaling af tolkeregninger", "Robotten betaler regninger for tolkebistand."),
        process("attest", "Indhentning af børne- og straffeattester", "Robotten henter attester hos politiet."),
        process("sne", "Snerydning", "Planlægning af snerydning."),
    ]
    found = rank_similar("Straffeattester til nyansatte", "Vi henter straffeattester", candidates)
    assert [s.id for s in found] == ["attest"]
    assert 0 < found[0].score <= 1
    assert rank_similar("Straffeattester", "", candidates, exclude=["attest"]) == []
    assert similarity("Betaling af tolkeregninger", "", "Betaling af tolkeregninger", "") == 1
