"""catalogue.formulas for ideas: the screening estimate and the board's priority, worked by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest

from catalogue.formulas import Question, idea_priority, screening_estimate

DEFAULTS = [
    Question("rule_based", "potential", Decimal(2)),
    Question("digital_input", "potential", Decimal(1)),
    Question("structured_input", "potential", Decimal(1)),
    Question("volume", "potential", Decimal(2)),
    Question("stability", "ease", Decimal(1)),
    Question("documentation", "ease", Decimal(1)),
]


def test_screening_estimate_by_hand() -> None:
    answers = {
        "rule_based": 5,
        "digital_input": 4,
        "structured_input": 2,
        "volume": 3,
        "stability": 5,
        "documentation": 1,
    }
    # points (a-1)/4: 1, .75, .25, .5, 1, 0
    # potential = (2·1 + 1·.75 + 1·.25 + 2·.5) / 6 = 4/6 = 66.67 % → 66.7
    # ease = (1 + 0) / 2 = 50 %
    # score = (4 + 1 + 0) / 8 = 62.5 %
    e = screening_estimate(answers, DEFAULTS)
    assert (e.automation_potential, e.ease, e.score) == (Decimal("66.7"), Decimal("50.0"), Decimal("62.5"))


def test_all_ones_and_all_fives_span_0_to_100() -> None:
    low = screening_estimate(dict.fromkeys((q.id for q in DEFAULTS), 1), DEFAULTS)
    high = screening_estimate(dict.fromkeys((q.id for q in DEFAULTS), 5), DEFAULTS)
    assert (low.score, low.automation_potential, low.ease) == (0, 0, 0)
    assert (high.score, high.automation_potential, high.ease) == (100, 100, 100)


@pytest.mark.parametrize(
    ("interested", "score", "hours", "most_interested", "most_hours", "expected"),
    [
        # 100 × (0.4 × 2/4 + 0.4 × 0.5 + 0.2 × 100/400) = 100 × (0.2 + 0.2 + 0.05) = 45
        (2, Decimal(50), Decimal(100), 4, Decimal(400), Decimal("45.0")),
        (4, Decimal(100), Decimal(400), 4, Decimal(400), Decimal("100.0")),
        (0, None, Decimal(0), 0, Decimal(0), Decimal("0.0")),
        # 100 × (0.4 × 1/3 + 0 + 0) = 13.33 → 13.3
        (1, None, Decimal(0), 3, Decimal(0), Decimal("13.3")),
    ],
)
def test_idea_priority_by_hand(
    interested: int,
    score: Decimal | None,
    hours: Decimal,
    most_interested: int,
    most_hours: Decimal,
    expected: Decimal,
) -> None:
    assert idea_priority(interested, score, hours, most_interested, most_hours) == expected
