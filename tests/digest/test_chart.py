"""The digest chart: a real PNG of stacked bars per window, labelled by what each window covers."""
from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from PIL import Image

from bot.digest.chart import MAX_TOPICS, pick_topics, render_chart, transliterate, window_label, windows_label

DAYS = [date(2024, 5, 1) + timedelta(days=n) for n in range(14)]


def test_chart_is_a_png_of_the_expected_size():
    png = render_chart(DAYS, {"мобилизация": tuple(range(14)), "отказ": (1,) * 14})
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (900, 500)


def test_each_topic_bar_is_drawn_in_its_colour():
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


MOSCOW = ZoneInfo("Europe/Moscow")


def windows_ending(end: datetime, count: int = 14):
    return [(end - timedelta(days=k + 1), end - timedelta(days=k)) for k in range(count - 1, -1, -1)]


def test_a_window_to_the_digest_time_is_labelled_by_both_ends_and_a_calendar_day_by_its_date():
    nine = datetime(2026, 11, 29, 9, tzinfo=MOSCOW)
    assert window_label((nine - timedelta(days=1), nine)) == "28.11 09:00\n–29.11 09:00"
    midnight = datetime(2026, 11, 29, tzinfo=MOSCOW)
    assert window_label((midnight - timedelta(days=1), midnight)) == "28.11"


def test_the_period_of_the_windows_carries_the_year():
    assert windows_label(windows_ending(datetime(2026, 11, 29, 9, tzinfo=MOSCOW))) == "15.11 09:00 – 29.11.2026 09:00"
    assert windows_label(windows_ending(datetime(2026, 11, 29, tzinfo=MOSCOW))) == "15.11 – 28.11.2026"
    assert windows_label(windows_ending(datetime(2027, 1, 5, tzinfo=MOSCOW))) == "22.12.2026 – 04.01.2027"


def test_the_saved_chart_shows_one_stacked_bar_per_window(tmp_path):
    """Open tmp_path/chart.png to look at it: 14 bars, totals on top, two-line window labels."""
    windows = windows_ending(datetime(2026, 11, 29, 9, tzinfo=MOSCOW))
    series = {"mobilization": (0,) * 13 + (4,), "refusals": (0,) * 13 + (2,)}
    path = tmp_path / "chart.png"
    path.write_bytes(render_chart(windows, series, "Matched posts per topic", "Europe/Moscow"))
    image = Image.open(path).convert("RGB")
    blue, red = (0x1F, 0x77, 0xB4), (0xD6, 0x27, 0x28)
    # the last bar: blue (4) below red (2), as wide as a bar and not a line
    columns = {x for x in range(60, 680) for y in range(60, 440) if image.getpixel((x, y)) == blue}  # the plot
    assert 20 <= max(columns) - min(columns) <= 40
    x = (max(columns) + min(columns)) // 2
    colours = [image.getpixel((x, y)) for y in range(60, 440)]
    assert colours.count(blue) > colours.count(red) > 0 and colours.index(red) < colours.index(blue)
    assert not any(image.getpixel((px, y)) == blue for px in range(60, min(columns) - 5) for y in range(60, 440))
