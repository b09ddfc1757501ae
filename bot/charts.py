"""Small server-side bar charts in HTML and CSS: the reports page works without JavaScript or a CDN,
and its labels are text at the page's own size (an SVG scaled down to a narrow card shrank them to
a few pixels). The styles are the `.chart` rules of templates/reports.html."""
from __future__ import annotations

from html import escape
from typing import Sequence

from markupsafe import Markup

PALETTE = ("#1e7b34", "#7cb342", "#b3261e", "#0b5394", "#a15c00", "#6a1b9a")


def _number(value: float, percent: bool) -> str:
    return f"{value:.0f}%" if percent else f"{value:,.0f}".replace(",", ".")


def stacked_bars(rows: Sequence[tuple[str, Sequence[float]]], series: Sequence[str], *, title: str,
                 percent: bool = False, colors: Sequence[str] = PALETTE, short_labels: bool = False) -> Markup:
    """One horizontal bar per row, split into `series`: its label (wrapped, never cut), the bar,
    and its total; a legend below when there are several series. Percentages are drawn against
    100, counts against the largest total. `short_labels` (dates) gives the bars more room."""
    scale = 100.0 if percent else max([sum(v) for _, v in rows] + [1])
    kind = "chart short" if short_labels else "chart"
    parts = [f'<figure class="{kind}" aria-label="{escape(title)}"><div class="chart-rows">']
    for label, values in rows:
        total = sum(values)
        segments = []
        for j, value in enumerate(values):
            if value:
                segments.append(f'<span class="chart-seg" style="width:{100 * value / scale:.2f}%;'
                                f'background:{colors[j % len(colors)]}" '
                                f'title="{escape(series[j])}: {_number(value, percent)}"></span>')
        parts.append(f'<div class="chart-row"><span class="chart-label">{escape(label)}</span>'
                     f'<span class="chart-track">{"".join(segments)}</span>'
                     f'<span class="chart-value">{_number(total, percent)}</span></div>')
    parts.append("</div>")
    if len(series) > 1:
        parts.append('<figcaption class="chart-legend">' + "".join(
            f'<span><i style="background:{colors[j % len(colors)]}"></i>{escape(name)}</span>'
            for j, name in enumerate(series)) + "</figcaption>")
    parts.append("</figure>")
    return Markup("".join(parts))
