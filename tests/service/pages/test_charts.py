"""service.pages.charts: the SVG bar charts."""

from __future__ import annotations

import re

from service.pages.charts import hbar_chart


def test_a_bar_chart_with_links_is_a_group_and_one_without_an_image() -> None:
    items = [("Greve", 25.0), ("Køge", 3.0)]
    assert 'role="img"' in hbar_chart(items, title="t", unit="anvendelser")
    linked = hbar_chart(items, title="t", unit="timer", links=["/a", None])
    assert 'role="group"' in linked and 'role="img"' not in linked and '<a href="/a">' in linked


def test_every_value_and_its_unit_fit_beside_the_longest_bar() -> None:
    chart = str(hbar_chart([("I drift", 25.0), ("Stoppet", 3.0)], title="t", unit="anvendelser"))
    for x, text in re.findall(r'<text class="value" x="([\d.]+)"[^>]*>([^<]*)</text>', chart):
        assert float(x) + 8 * len(text) <= 480, (x, text)
