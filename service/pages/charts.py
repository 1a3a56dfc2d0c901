"""Bar charts drawn as SVG on the server: no JavaScript, readable by screen readers (a title, a description
and each value written next to its bar), scaled by the viewBox so they fit a phone and a desktop alike."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup


def _num(value: float, decimals: int) -> str:
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def _desc(items: Sequence[tuple[str, float]], unit: str, decimals: int) -> str:
    return "; ".join(f"{label}: {_num(v, decimals)} {unit}".strip() for label, v in items)


def bar_chart(
    items: Sequence[tuple[str, float]],
    *,
    title: str,
    unit: str = "",
    decimals: int = 0,
    second: Sequence[tuple[str, float]] | None = None,
    legend: tuple[str, str] | None = None,
) -> Markup:
    """Vertical bars, one per label (e.g. a year). `second` draws a paler bar beside each (e.g. expected)."""
    if not items:
        return Markup("")
    width, height, top, bottom, left = 640, 260, 28, 34, 8
    plot_h = height - top - bottom
    n = len(items)
    slot = (width - 2 * left) / n
    values = [v for _, v in items] + [v for _, v in (second or [])]
    peak = max(values) or 1.0
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        f'preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title><desc>{escape(_desc(items, unit, decimals))}</desc>",
        f'<line class="axis" x1="{left}" y1="{top + plot_h}" x2="{width - left}" y2="{top + plot_h}"/>',
    ]
    pairs = dict(second or [])
    bar_w = min(slot * (0.38 if second else 0.6), 90)
    for i, (label, value) in enumerate(items):
        x0 = left + i * slot + slot / 2
        bars = [("bar", value, x0 - (bar_w if second else bar_w / 2))]
        if second:
            bars.append(("bar bar-alt", pairs.get(label, 0.0), x0))
        for cls, v, x in bars:
            h = plot_h * v / peak
            y = top + plot_h - h
            parts.append(f'<rect class="{cls}" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" rx="2"/>')
            parts.append(
                f'<text class="value" x="{x + bar_w / 2:.1f}" y="{y - 6:.1f}" text-anchor="middle">'
                f"{escape(_num(v, decimals))}</text>"
            )
        parts.append(f'<text class="label" x="{x0:.1f}" y="{height - 10}" text-anchor="middle">{escape(label)}</text>')
    parts.append("</svg>")
    svg = "".join(parts)
    if legend:
        svg += (
            f'<p class="legend"><span class="key key-main"></span>{escape(legend[0])} '
            f'<span class="key key-alt"></span>{escape(legend[1])}</p>'
        )
    return Markup(svg)  # noqa: S704 - every text above is escaped


def hbar_chart(
    items: Sequence[tuple[str, float]],
    *,
    title: str,
    unit: str = "",
    decimals: int = 0,
    links: Sequence[str | None] | None = None,
) -> Markup:
    """Horizontal bars with the label above each bar: long Danish titles stay readable on a phone."""
    if not items:
        return Markup("")
    width, row = 480, 46
    height = row * len(items) + 6
    peak = max(v for _, v in items) or 1.0
    # a picture (role img) may hold no links: with links the bars are a labelled group the links stay reachable in
    role = "group" if links and any(links) else "img"
    parts = [
        f'<svg class="chart chart-h" viewBox="0 0 {width} {height}" role="{role}" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title><desc>{escape(_desc(items, unit, decimals))}</desc>",
    ]
    # room right of the longest bar for its value and unit (about 8 units of the 480 wide box a character)
    value_w = 20 + 8 * max(len(f"{_num(v, decimals)} {unit}") for _, v in items)
    for i, (label, value) in enumerate(items):
        y = i * row + 4
        w = max((width - value_w) * value / peak, 2 if value else 0)
        text = f'<text class="label" x="0" y="{y + 14}">{escape(label)}</text>'
        link = links[i] if links and i < len(links) else None
        if link:
            text = f'<a href="{escape(link)}">{text}</a>'
        parts.append(text)
        parts.append(f'<rect class="bar" x="0" y="{y + 20}" width="{w:.1f}" height="16" rx="2"/>')
        parts.append(
            f'<text class="value" x="{w + 8:.1f}" y="{y + 33}">{escape(_num(value, decimals))}'
            f"{' ' + escape(unit) if unit else ''}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above is escaped
