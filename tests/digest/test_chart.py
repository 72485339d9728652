"""The digest chart: a real PNG with one line per busy topic."""
from __future__ import annotations

import io
from datetime import date, timedelta

from PIL import Image

from bot.digest.chart import MAX_TOPICS, pick_topics, render_chart, transliterate

DAYS = [date(2024, 5, 1) + timedelta(days=n) for n in range(14)]


def test_chart_is_a_png_of_the_expected_size():
    png = render_chart(DAYS, {"мобилизация": tuple(range(14)), "отказ": (1,) * 14})
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (900, 500)


def test_each_topic_line_is_drawn_in_its_colour():
    png = render_chart(DAYS, {"мобилизация": (5,) * 14})
    colours = {colour for _, colour in Image.open(io.BytesIO(png)).convert("RGB").getcolors(1 << 16)}
    assert (0x1F, 0x77, 0xB4) in colours


def test_chart_keeps_only_the_busiest_topics_and_drops_silent_ones():
    series = {f"t{n}": (n,) * 14 for n in range(MAX_TOPICS + 3)}
    picked = pick_topics(series)
    assert len(picked) == MAX_TOPICS and "t0" not in picked and picked[0] == f"t{MAX_TOPICS + 2}"


def test_cyrillic_labels_are_transliterated_for_the_builtin_font():
    assert transliterate("Мобилизация і їжак") == "Mobilizatsiya i yizhak"


def test_empty_series_still_renders():
    assert render_chart(DAYS, {}).startswith(b"\x89PNG")
