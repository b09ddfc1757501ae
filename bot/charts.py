"""Small server-side SVG bar charts: the reports page works without JavaScript or a CDN."""
from __future__ import annotations

from html import escape
from typing import Sequence

from markupsafe import Markup

PALETTE = ("#1e7b34", "#7cb342", "#b3261e", "#0b5394", "#a15c00", "#6a1b9a")


def stacked_bars(rows: Sequence[tuple[str, Sequence[float]]], series: Sequence[str], *, title: str,
                 percent: bool = False, width: int = 640) -> Markup:
    """One horizontal bar per row, split into `series`; labels on the left, a legend below."""
    bar_h, gap, label_w, right = 22, 10, 230, 60
    legend_h = 28 if len(series) > 1 else 0
    height = len(rows) * (bar_h + gap) + legend_h + 10
    scale_max = max([sum(v) for _, v in rows] + [1])
    plot_w = width - label_w - right
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
             f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>']
    for i, (label, values) in enumerate(rows):
        y = i * (bar_h + gap) + 4
        parts.append(f'<text x="{label_w - 8}" y="{y + bar_h * 0.7}" text-anchor="end" font-size="13">'
                     f'{escape(label[:34])}</text>')
        x, total = float(label_w), sum(values)
        for j, value in enumerate(values):
            w = plot_w * (value / (100 if percent else scale_max)) if value else 0
            if w:
                parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                             f'fill="{PALETTE[j % len(PALETTE)]}"><title>{escape(series[j])}: '
                             f'{value:.0f}{"%" if percent else ""}</title></rect>')
            x += w
        shown = f"{total:.0f}%" if percent else f"{total:.0f}"
        parts.append(f'<text x="{x + 6:.1f}" y="{y + bar_h * 0.7}" font-size="13">{shown}</text>')
    if legend_h:
        y = len(rows) * (bar_h + gap) + 8
        x = label_w
        for j, name in enumerate(series):
            parts.append(f'<rect x="{x}" y="{y}" width="12" height="12" fill="{PALETTE[j % len(PALETTE)]}"/>'
                         f'<text x="{x + 16}" y="{y + 11}" font-size="12">{escape(name)}</text>')
            x += 24 + 7 * len(name)
    parts.append("</svg>")
    return Markup("".join(parts))
