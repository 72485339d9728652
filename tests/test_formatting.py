"""bot/formatting.py: the one escape, post link, excerpt, time and span merge every caller uses."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import given, settings as hypothesis_settings
from hypothesis import strategies as st

from bot.formatting import escape, excerpt, format_time, merge_spans, post_link
from bot.sources import derived_channel_id

MOMENT = datetime(2024, 5, 13, 8, 15, tzinfo=timezone.utc)


def test_escape_leaves_quotes_in_text_and_escapes_them_in_attributes():
    assert escape('<b>"a" & b</b>') == '&lt;b&gt;"a" &amp; b&lt;/b&gt;'
    assert escape('x"y', quote=True) == "x&quot;y"


def test_post_link_prefers_a_given_t_me_link_then_the_username_then_the_marked_id():
    assert post_link(-1001234, 5, "pskov_gub", "https://t.me/c/1234/5") == "https://t.me/c/1234/5"
    assert post_link(-1001234, 5, "@pskov_gub", "https://evil.example/5") == "https://t.me/pskov_gub/5"
    assert post_link(-1001234, 5) == "https://t.me/c/1234/5"


def test_made_up_replay_ids_never_get_a_t_me_c_link():
    assert post_link(derived_channel_id("какой-то канал"), 7) is None
    assert post_link(derived_channel_id("какой-то канал"), 7, "не юзернейм") is None


def test_times_are_shown_in_the_zone_with_its_name_and_utc_for_an_unknown_zone():
    assert format_time(MOMENT, "Europe/Moscow") == "13.05.2024 11:15 MSK"
    assert format_time(MOMENT, "Europe/Moscow", "%Y-%m-%d %H:%M") == "2024-05-13 11:15 MSK"
    assert format_time(MOMENT, "Nowhere/Else") == "13.05.2024 08:15 UTC"
    assert format_time(MOMENT, "UTC", with_zone=False) == "13.05.2024 08:15"


def test_spans_are_clipped_sorted_and_joined():
    assert merge_spans([(7, 99), (0, 5), (3, 8), (-2, 0)], 10) == [(0, 10)]
    assert merge_spans([(4, 6), (0, 2), (2, 3)]) == [(0, 3), (4, 6)]


def test_excerpt_marks_ellipses_and_escaping_are_parameters():
    text = "Первое предложение о погоде. " * 20 + "Военкомат <раздаёт> повестки. " + "Хвост текста. " * 20
    start = text.index("Военкомат")
    html = excerpt(text, [(start, start + 9)], 120, mark=("<b>", "</b>"), ellipsis=("…", " …"),
                   escape_text=escape, one_line=False)
    assert "<b>Военкомат</b> &lt;раздаёт&gt;" in html and html.startswith("…") and html.endswith(" …")
    plain = excerpt(text, [(start, start + 9)], 120, mark=("", ""))
    assert "Военкомат <раздаёт>" in plain and plain.endswith("…") and not plain.endswith(" …")


def test_a_glued_ellipsis_drops_the_punctuation_before_it():
    assert excerpt("слово, " * 40, limit=30, mark=("", "")).endswith("слово…")


@hypothesis_settings(max_examples=200, deadline=None)
@given(st.text(max_size=400), st.lists(st.tuples(st.integers(-5, 500), st.integers(-5, 500)), max_size=4),
       st.integers(0, 300))
def test_an_excerpt_stays_within_its_width(text, spans, limit):
    shown = excerpt(text, spans, limit, mark=("", ""), ellipsis=("", ""))
    assert len(shown) <= limit + limit // 20 + 1  # windows of at least 20 characters, joined by a space


def test_plural_puts_the_noun_in_the_number_of_its_count():
    from bot.formatting import plural
    assert [plural(n, "line") for n in (0, 1, 2)] == ["0 lines", "1 line", "2 lines"]
    assert plural(1, "match", "matches") == "1 match" and plural(3, "match", "matches") == "3 matches"
    assert plural(22099, "post", thousands=True) == "22,099 posts"


def test_the_package_license_is_an_spdx_string_so_setuptools_prints_no_deprecation_banner():
    import tomllib
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["license"] == "MIT" and project["project"]["license-files"] == ["LICENSE"]
    assert "setuptools>=77" in project["build-system"]["requires"] and (root / "LICENSE").is_file()


MARKDOWN_POST = "**Повестки** раздают у [метро](https://t.me/x/1): __срочно__, `код` и ~~старое~~"


def spans_of(text, *words):
    return [(text.index(w), text.index(w) + len(w)) for w in words]


def test_strip_markdown_drops_the_markers_and_moves_the_spans_with_the_words():
    from bot.formatting import strip_markdown
    plain, spans = strip_markdown(MARKDOWN_POST, spans_of(MARKDOWN_POST, "Повестки", "метро", "срочно"))
    assert plain == "Повестки раздают у метро: срочно, код и старое"
    assert [plain[a:b] for a, b in spans] == ["Повестки", "метро", "срочно"]


@pytest.mark.parametrize("text", ["a * b ** c", "snake_case my__var__name", "2*3*4", "price: $5 | $6"])
def test_text_without_markdown_pairs_is_left_alone(text):
    from bot.formatting import strip_markdown
    assert strip_markdown(text, [(0, 1)]) == (text, [(0, 1)])


def test_a_link_inside_bold_keeps_its_text_and_loses_its_address():
    from bot.formatting import strip_markdown
    assert strip_markdown("**[ссылка](https://a.b/c__d__e)**", [(3, 9)]) == ("ссылка", [(0, 6)])


def test_markers_inside_code_are_text():
    from bot.formatting import strip_markdown
    assert strip_markdown("`x **y**` z", [])[0] == "x **y** z"


def test_every_sink_shows_source_markdown_as_plain_words_with_only_dozors_highlight():
    from bot.delivery.alert_html import format_excerpt
    from bot.digest.render import story_excerpt
    spans = spans_of(MARKDOWN_POST, "Повестки", "метро")
    html = format_excerpt(MARKDOWN_POST, spans)
    assert html.startswith("<b>Повестки</b> раздают у <b>метро</b>: срочно") and "**" not in html and "](" not in html
    assert excerpt(MARKDOWN_POST, spans) == "**Повестки** раздают у **метро**: срочно, код и старое"
    assert story_excerpt(MARKDOWN_POST) == "Повестки раздают у метро: срочно, код и старое"
