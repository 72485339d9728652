"""The digest chart: matched posts per topic in the last 14 digest windows, as stacked bars (PNG, Pillow).

Each bar is one window, labelled by what it covers ("28.11" for a calendar day,
"28.11 09:00 –29.11 09:00" for a window ending at the digest time), with its
total on top; the title names the whole period with its year and zone.

Pillow's built-in scalable font (Aileron) has no Cyrillic glyphs, so labels are
transliterated to Latin letters rather than shipping a font file.
"""
from __future__ import annotations

import io
from datetime import date, datetime, time, timedelta
from typing import Sequence

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 900, 500
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 60, 220, 60, 60
MAX_TOPICS = 8
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
GRID, AXIS, INK = "#e5e5e5", "#555555", "#222222"

_TRANSLIT = dict(zip(
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґ",
    ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m", "n", "o", "p", "r", "s",
     "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya", "i", "yi", "ye", "g"],
))


_NO_GLYPH = {"–": "-", "—": "-", "…": "...", "«": '"', "»": '"'}  # the built-in font lacks these


def transliterate(text: str) -> str:
    """Latin letters for Cyrillic ones (ru/uk), keeping case, and ASCII for dashes and quotes the
    built-in font lacks; other characters pass through."""
    out = []
    for ch in text:
        if ch in _NO_GLYPH:
            out.append(_NO_GLYPH[ch])
            continue
        low = ch.lower()
        if low in _TRANSLIT:
            latin = _TRANSLIT[low]
            out.append(latin.capitalize() if ch != low else latin)
        else:
            out.append(ch)
    return "".join(out)


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: fixed-size bitmap font
        return ImageFont.load_default()


def pick_topics(series: dict[str, tuple[int, ...]], limit: int = MAX_TOPICS) -> list[str]:
    """The busiest topics over the window, at most `limit`, busiest first."""
    busy = [t for t in series if sum(series[t]) > 0]
    return sorted(busy, key=lambda t: (-sum(series[t]), t))[:limit]


Window = tuple[datetime, datetime]  # [start, end) in the digest's zone


def windows_label(windows: Sequence[Window]) -> str:
    """What the windows cover together, with the year: "16.11 09:00 – 30.11.2026 09:00"."""
    first, last = windows[0][0], windows[-1][1]
    if _midnights(windows):
        last_day = last - timedelta(days=1)
        return f"{first:%d.%m} – {last_day:%d.%m.%Y}" if first.year == last_day.year else \
            f"{first:%d.%m.%Y} – {last_day:%d.%m.%Y}"
    head = f"{first:%d.%m %H:%M}" if first.year == last.year else f"{first:%d.%m.%Y %H:%M}"
    return f"{head} – {last:%d.%m.%Y %H:%M}"


def window_label(window: Window) -> str:
    """One bar's label: "28.11" for a calendar day, else "28.11 09:00" over "–29.11 09:00"."""
    start, end = window
    if _midnights([window]):
        return f"{start:%d.%m}"
    return f"{start:%d.%m %H:%M}\n–{end:%d.%m %H:%M}"


def _midnights(windows: Sequence[Window]) -> bool:
    return all(w[0].hour == w[0].minute == 0 and (w[1] - w[0]) == timedelta(days=1) for w in windows)


def as_windows(days: Sequence[date | Window]) -> list[Window]:
    """Windows as given, or calendar days (a date stands for its own 00:00-24:00)."""
    out = []
    for day in days:
        if isinstance(day, tuple):
            out.append(day)
        else:
            start = datetime.combine(day, time())
            out.append((start, start + timedelta(days=1)))
    return out


def render_chart(windows: Sequence[date | Window], series: dict[str, tuple[int, ...]],
                 title: str = "Matched posts per topic", zone: str = "") -> bytes:
    """Matched posts per window as stacked bars, one colour per topic, each bar's total on top; the
    title carries the period with its year (and `zone`). PNG bytes."""
    windows = as_windows(windows)
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    small, big = _font(13), _font(18)
    topics = pick_topics(series)
    totals = [sum(series[t][i] for t in topics) for i in range(len(windows))]
    top = max(totals + [1])
    step = _nice_step(top)
    top = step * -(-top // step)
    plot = (MARGIN_LEFT, MARGIN_TOP, WIDTH - MARGIN_RIGHT, HEIGHT - MARGIN_BOTTOM)
    period = windows_label(windows) if windows else ""
    heading = f"{title}, {period}" + (f" ({zone})" if zone else "")
    draw.text((MARGIN_LEFT, 15), transliterate(heading), font=big, fill=INK)
    _draw_axes(draw, plot, windows, top, step, small)
    for i in range(len(windows)):
        _draw_bar(draw, plot, i, len(windows), [(PALETTE[k], series[t][i]) for k, t in enumerate(topics)],
                  top, small)
    _draw_legend(draw, topics, series, small)
    if not topics:
        draw.text((plot[0] + 20, plot[1] + 20), f"No matches in these {len(windows)} days", font=small, fill=AXIS)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _nice_step(top: int) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000):
        if top / step <= 6:
            return step
    return 10 ** len(str(top))


def _slot(plot, i: int, count: int) -> tuple[float, float]:
    """Left and right x of bar i of `count`."""
    left, _, right, _ = plot
    width = (right - left) / max(count, 1)
    return left + width * i + width * 0.15, left + width * (i + 1) - width * 0.15


def _y(plot, value: float, top: int) -> float:
    _, upper, _, lower = plot
    return lower - (lower - upper) * (value / top)


def _draw_bar(draw, plot, i: int, count: int, parts: list[tuple[str, int]], top: int, font) -> None:
    x0, x1 = _slot(plot, i, count)
    base = 0
    for colour, value in parts:
        if value:
            draw.rectangle((x0, _y(plot, base + value, top), x1, _y(plot, base, top)), fill=colour)
            base += value
    if base:
        draw.text(((x0 + x1) / 2, _y(plot, base, top) - 3), str(base), font=font, fill=INK, anchor="mb")


def _draw_axes(draw, plot, windows, top: int, step: int, font) -> None:
    left, upper, right, lower = plot
    for value in range(0, top + 1, step):
        y = _y(plot, value, top)
        draw.line((left, y, right, y), fill=GRID)
        draw.text((left - 8, y), str(value), font=font, fill=AXIS, anchor="rm")
    draw.line((left, upper, left, lower), fill=AXIS, width=1)
    draw.line((left, lower, right, lower), fill=AXIS, width=1)
    every = 1 if len(windows) <= 7 or _midnights(windows) else 2  # two-line labels need two slots
    for i, window in enumerate(windows):
        if (len(windows) - 1 - i) % every == 0:  # always the last window
            x0, x1 = _slot(plot, i, len(windows))
            draw.multiline_text(((x0 + x1) / 2, lower + 6), transliterate(window_label(window)), font=font, fill=AXIS,
                                anchor="ma", align="center", spacing=2)
    draw.text((left - 40, upper - 22), "posts", font=font, fill=AXIS)
def _draw_legend(draw, topics, series, font) -> None:
    x = WIDTH - MARGIN_RIGHT + 20
    y = MARGIN_TOP
    for colour, topic in zip(PALETTE, topics):
        draw.rectangle((x, y + 3, x + 14, y + 13), fill=colour)
        label = transliterate(topic)
        label = label if len(label) <= 22 else label[:20] + "..."
        draw.text((x + 22, y), f"{label} ({sum(series[topic])})", font=font, fill=INK)
        y += 24
