"""The digest chart: matched posts per topic over the last 14 days, as a PNG (Pillow).

Pillow's built-in scalable font (Aileron) has no Cyrillic glyphs, so labels are
transliterated to Latin letters rather than shipping a font file.
"""
from __future__ import annotations

import io
from datetime import date

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 900, 500
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 60, 220, 50, 60
MAX_TOPICS = 8
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
GRID, AXIS, INK = "#e5e5e5", "#555555", "#222222"

_TRANSLIT = dict(zip(
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґ",
    ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m", "n", "o", "p", "r", "s",
     "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya", "i", "yi", "ye", "g"],
))


def transliterate(text: str) -> str:
    """Latin letters for Cyrillic ones (ru/uk), keeping case; other characters pass through."""
    out = []
    for ch in text:
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


def render_chart(days: tuple[date, ...] | list[date], series: dict[str, tuple[int, ...]],
                 title: str = "Matched posts per topic, last 14 days") -> bytes:
    """A line chart, one line per topic, as PNG bytes."""
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    small, big = _font(13), _font(18)
    topics = pick_topics(series)
    top = max([max(series[t]) for t in topics] + [1])
    step = _nice_step(top)
    top = step * -(-top // step)
    plot = (MARGIN_LEFT, MARGIN_TOP, WIDTH - MARGIN_RIGHT, HEIGHT - MARGIN_BOTTOM)
    draw.text((MARGIN_LEFT, 15), transliterate(title), font=big, fill=INK)
    _draw_axes(draw, plot, days, top, step, small)
    for colour, topic in zip(PALETTE, topics):
        points = [_point(plot, i, len(days), value, top) for i, value in enumerate(series[topic])]
        draw.line(points, fill=colour, width=3)
        for x, y in points:
            draw.ellipse((x - 3, y - 3, x + 3, y + 3), fill=colour)
    _draw_legend(draw, topics, series, small)
    if not topics:
        draw.text((plot[0] + 20, plot[1] + 20), "No matches in these 14 days", font=small, fill=AXIS)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _nice_step(top: int) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000):
        if top / step <= 6:
            return step
    return 10 ** len(str(top))


def _point(plot, i: int, count: int, value: int, top: int) -> tuple[float, float]:
    left, upper, right, lower = plot
    x = left + (right - left) * (i / max(count - 1, 1))
    y = lower - (lower - upper) * (value / top)
    return x, y


def _draw_axes(draw, plot, days, top: int, step: int, font) -> None:
    left, upper, right, lower = plot
    for value in range(0, top + 1, step):
        y = lower - (lower - upper) * value / top
        draw.line((left, y, right, y), fill=GRID)
        draw.text((left - 8, y), str(value), font=font, fill=AXIS, anchor="rm")
    draw.line((left, upper, left, lower), fill=AXIS, width=1)
    draw.line((left, lower, right, lower), fill=AXIS, width=1)
    for i, day in enumerate(days):
        x, _ = _point(plot, i, len(days), 0, top)
        draw.line((x, lower, x, lower + 4), fill=AXIS)
        if (len(days) - 1 - i) % 2 == 0 or len(days) <= 7:  # every other label, always the last day
            draw.text((x, lower + 8), f"{day:%d.%m}", font=font, fill=AXIS, anchor="mt")
    draw.text(((left + right) / 2, lower + 30), "day", font=font, fill=AXIS, anchor="mt")
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
