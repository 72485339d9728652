"""Charts drawn on the server as SVG: per-day bars (one or two series) and 14-day sparklines.

Pure: counts in, Markup out. Every label is escaped; nothing runs in the browser.
"""
from __future__ import annotations

from datetime import date, timedelta
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 720, 180, 34, 22, 10
COLOURS = ("#2563eb", "#f59e0b")


def day_keys(end: date, days: int) -> list[str]:
    """ISO dates of the `days` days ending with `end`, oldest first."""
    return [(end - timedelta(days=days - 1 - i)).isoformat() for i in range(days)]


def bar_chart(counts: dict[str, int], end: date, days: int, label: str = "",
              compare: dict[str, int] | None = None, names: tuple[str, str] = ("", "")) -> Markup:
    """Bars per day over `days` days ending `end`; with `compare`, a second series beside each bar."""
    keys = day_keys(end, days)
    series = [counts] + ([compare] if compare is not None else [])
    top = max([1] + [s.get(k, 0) for s in series for k in keys])
    plot_w, plot_h = WIDTH - PAD_LEFT - 4, HEIGHT - PAD_BOTTOM - PAD_TOP
    slot = plot_w / len(keys)
    bar = max(1.0, slot / len(series) - 1)
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(label)}"'
             f' xmlns="http://www.w3.org/2000/svg">',
             f'<line x1="{PAD_LEFT}" y1="{PAD_TOP + plot_h}" x2="{WIDTH - 4}" y2="{PAD_TOP + plot_h}" class="axis"/>',
             f'<text x="{PAD_LEFT - 4}" y="{PAD_TOP + 8}" class="tick" text-anchor="end">{top}</text>',
             f'<text x="{PAD_LEFT - 4}" y="{PAD_TOP + plot_h}" class="tick" text-anchor="end">0</text>']
    for n, values in enumerate(series):
        for i, key in enumerate(keys):
            value = values.get(key, 0)
            if not value:
                continue
            h = plot_h * value / top
            x = PAD_LEFT + i * slot + n * bar
            parts.append(f'<rect x="{x:.1f}" y="{PAD_TOP + plot_h - h:.1f}" width="{bar:.1f}" height="{h:.1f}"'
                         f' fill="{COLOURS[n]}"><title>{escape(key)}: {value}</title></rect>')
    step = max(1, len(keys) // 6)
    for i in range(0, len(keys), step):
        parts.append(f'<text x="{PAD_LEFT + i * slot:.1f}" y="{HEIGHT - 6}" class="tick">{escape(keys[i][5:])}</text>')
    for n, name in enumerate(names[:len(series)]):
        if name:
            parts.append(f'<rect x="{WIDTH - 190 + n * 95}" y="2" width="10" height="10" fill="{COLOURS[n]}"/>'
                         f'<text x="{WIDTH - 176 + n * 95}" y="11" class="tick">{escape(name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def sparkline(values: list[int], width: int = 112, height: int = 24) -> Markup:
    """A small line of `values` (e.g. 14 days of hits), with the last value's dot."""
    top = max(values + [1])
    step = width / max(1, len(values) - 1)
    points = " ".join(f"{i * step:.1f},{height - 2 - (height - 4) * v / top:.1f}" for i, v in enumerate(values))
    last_x, last_y = points.split()[-1].split(",") if values else ("0", str(height - 2))
    return Markup(f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}"'
                  f' xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(",".join(map(str, values)))}">'
                  f'<polyline points="{points}" fill="none" stroke="{COLOURS[0]}" stroke-width="1.5"/>'
                  f'<circle cx="{last_x}" cy="{last_y}" r="2" fill="{COLOURS[0]}"/></svg>')
