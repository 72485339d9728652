"""Pure pieces of the console: highlighting, filters from a query string, charts, language choice."""
from __future__ import annotations

from datetime import date

from bot.web.charts import bar_chart, sparkline
from bot.web.i18n import pick_language, translator
from bot.web.present import alert_filter, highlighted


def test_highlighted_escapes_the_text_and_marks_the_spans():
    text = "<b>мобилизация</b> & повестки"
    html = str(highlighted(text, [[3, 14]]))
    assert html == "&lt;b&gt;<mark>мобилизация</mark>&lt;/b&gt; &amp; повестки"


def test_alert_filter_reads_days_in_the_viewers_zone_and_ignores_junk():
    flt = alert_filter({"from": "2024-05-01", "to": "2024-05-01", "channel": "-100123", "late": "1",
                        "rule": "mob"}, "Europe/Moscow", 7)
    assert flt.since.isoformat() == "2024-05-01T00:00:00+03:00" and flt.until.isoformat() == "2024-05-02T00:00:00+03:00"
    assert (flt.channel_id, flt.late, flt.rule, flt.subscriber_id) == (-100123, True, "mob", 7)
    junk = alert_filter({"from": "yesterday", "channel": "@x"}, "UTC", None)
    assert junk.since is None and junk.channel_id is None and not junk.late


def test_charts_are_svg_with_escaped_labels():
    svg = str(bar_chart({"2024-05-02": 3}, date(2024, 5, 3), 3, label='<script>"x"</script>',
                        compare={"2024-05-01": 1}, names=("draft", "saved")))
    assert svg.startswith("<svg") and "<script>" not in svg and svg.count("<rect") == 4  # 2 bars + 2 legend keys
    assert str(sparkline([0, 1, 5])).count("<polyline") == 1


def test_language_from_cookie_then_browser_then_english():
    assert pick_language("ru", "en-US") == "ru"
    assert pick_language(None, "de-DE,ru;q=0.8") == "ru"
    assert pick_language("xx", "de-DE") == "en"
    assert translator("ru")("alerts") == "Оповещения" and translator("en")("no-such-key") == "no-such-key"
