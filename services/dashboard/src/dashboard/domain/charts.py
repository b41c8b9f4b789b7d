"""Trend charts drawn on the server as inline SVG (no chart library, no script): a line per series over
the weeks, with its axis labelled in Chinese."""

from __future__ import annotations

from datetime import date
from html import escape

PALETTE = ("#1f6fb2", "#d9480f", "#2b8a3e", "#7048e8", "#c2255c")


def line_chart(weeks: list[date], series: list[tuple[str, list[int]]], *, width: int = 640, height: int = 220,
               title: str = "") -> str:
    left, right, top, bottom = 44, 28, 16, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    highest = max([1] + [v for _, values in series for v in values])
    step = plot_w / max(1, len(weeks) - 1)

    def x(i: int) -> float:
        return left + i * step

    def y(v: int) -> float:
        return top + plot_h - v / highest * plot_h

    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
             f'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMidYMid meet">']
    for frac in (0, 0.5, 1):
        gy = top + plot_h - frac * plot_h
        parts.append(f'<line x1="{left}" y1="{gy:.1f}" x2="{width - right}" y2="{gy:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 6}" y="{gy + 4:.1f}" text-anchor="end" font-size="11" fill="#555">'
                     f'{round(highest * frac)}</text>')
    for i, w in enumerate(weeks):
        parts.append(f'<text x="{x(i):.1f}" y="{height - bottom + 16}" text-anchor="middle" font-size="11" '
                     f'fill="#555">{w.month}/{w.day}</text>')
    for k, (label, values) in enumerate(series):
        colour = PALETTE[k % len(PALETTE)]
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>')
        for i, v in enumerate(values):
            parts.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="{colour}"><title>'
                         f'{escape(label)} {weeks[i].isoformat()}起一周：{v}</title></circle>')
        lx = left + k * 130
        parts.append(f'<rect x="{lx}" y="{height - 16}" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{lx + 14}" y="{height - 7}" font-size="12" fill="#333">{escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)
