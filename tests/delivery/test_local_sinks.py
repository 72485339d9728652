import io
import json

from hypothesis import given, settings as hypothesis_settings, strategies as st

from bot.models import Alert, Match, Subscriber
from bot.delivery.local_sinks import JsonlSink, TerminalSink, format_alert
from bot.formatting import excerpt
from bot.formatting import matched_spans as merged_spans
from tests.factories import make_post


def alert_for(text, spans=((0, 4),), **post_fields):
    post = make_post(text=text, **post_fields)
    return Alert(1, Subscriber(1, 0, kind="local"), post, (Match("mobilization", ("mobilization",), spans),))


def test_time_is_shown_in_the_subscribers_zone():
    post = make_post(text="x")
    alert = Alert(1, Subscriber(1, 0, tz="Asia/Vladivostok"), post, (Match("r"),))
    assert "2024-05-01 19:30 +10" in format_alert(alert, color=False)


def test_plain_output_marks_matched_words_with_stars():
    text = format_alert(alert_for("Идёт мобилизация в районе", ((5, 16),)), color=False)
    assert "**мобилизация**" in text and "\x1b" not in text


def test_tty_output_uses_ansi_highlight():
    assert "\x1b[1;33mмобилизация\x1b[0m" in format_alert(alert_for("мобилизация", ((0, 11),)), color=True)


def test_alert_shows_channel_time_link_and_rules():
    text = format_alert(alert_for("мобилизация", ((0, 11),)), color=False)
    assert "Псковская губерния" in text and "2024-05-01 12:30 MSK" in text
    assert "https://t.me/pskovgubernia/" in text and "rules: mobilization" in text


def test_excerpt_of_a_long_post_is_a_window_around_the_match():
    text = "а " * 5000 + "мобилизация" + " б" * 5000
    start = text.index("мобилизация")
    shown = excerpt(text, [(start, start + 11)])
    assert "**мобилизация**" in shown and len(shown) < 400
    assert shown.startswith("…") and shown.endswith("…")


def test_excerpt_drops_invisible_and_control_characters():
    text = "моби\u00adлизация\u200b и\x1b[31m красный\nтекст"
    shown = excerpt(text, [])
    assert "\u00ad" not in shown and "\u200b" not in shown and "\x1b" not in shown and "\n" not in shown


def test_excerpt_keeps_emoji_sequences():
    assert "👨‍👩‍👧" in excerpt("семья 👨‍👩‍👧 и мобилизация", [(11, 22)])


def test_empty_text_gives_an_empty_excerpt():
    assert excerpt("", [(0, 3)]) == ""


def test_spans_outside_the_text_are_clipped_and_merged():
    matches = [Match("a", spans=((0, 5), (3, 8))), Match("b", spans=((7, 99),))]
    assert merged_spans(matches, 10) == [(0, 10)]


async def test_terminal_sink_writes_to_its_stream():
    stream = io.StringIO()
    await TerminalSink(stream).deliver(alert_for("мобилизация", ((0, 11),)))
    assert "**мобилизация**" in stream.getvalue()


async def test_jsonl_sink_writes_one_line_per_alert_with_post_rules_and_spans(tmp_path):
    sink = JsonlSink(tmp_path / "a.jsonl")
    await sink.deliver(alert_for("мобилизация", ((0, 11),)))
    await sink.deliver(alert_for("мобилизация 🙂", ((0, 11),)))
    sink.close()
    lines = (tmp_path / "a.jsonl").read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[0])
    assert len(lines) == 2
    assert record["post"]["text"] == "мобилизация" and record["post"]["channel"] == "pskovgubernia"
    assert record["rules"] == ["mobilization"] and record["spans"] == {"mobilization": [[0, 11]]}
    assert set(record["post"]) >= {"channel", "channel_id", "id", "date", "link", "text"}


@hypothesis_settings(max_examples=200, deadline=None)
@given(st.text(max_size=600), st.lists(st.tuples(st.integers(-5, 700), st.integers(-5, 700)), max_size=5))
def test_any_text_and_spans_give_a_one_line_excerpt_without_control_characters(text, spans):
    matches = [Match("r", spans=tuple(spans))]
    shown = excerpt(text, merged_spans(matches, len(text)))
    assert "\n" not in shown and not any(ord(c) < 32 for c in shown)



STORY = ("В Пскове военкомат начал раздавать повестки мужчинам прямо у проходной завода, очевидцы "
         "рассказывают что повестки вручали всем подряд")


async def test_with_stories_the_terminal_prints_a_story_once_per_pass_then_one_line_per_later_repost():
    from datetime import timedelta

    from bot.delivery.local_stories import LocalStories

    stream = io.StringIO()
    sink = TerminalSink(stream, color=False, stories=LocalStories(0.7, timedelta(hours=24)))
    first = alert_for(STORY, channel="pskovgub", channel_id=-1001)
    await sink.deliver(first)
    await sink.deliver(alert_for("Срочно! " + STORY, channel="tverinfo", channel_id=-1002))
    assert stream.getvalue() == ""  # held until the pass ends
    sink.flush()
    printed = stream.getvalue()
    assert printed.count("● ") == 1 and "🔁 also in 1 channel: @tverinfo" in printed
    await sink.deliver(alert_for(STORY + " Подписывайтесь", channel="severnews", channel_id=-1003))
    later = stream.getvalue()[len(printed):]
    assert later.startswith("  🔁 also in 2 channels: @tverinfo, @severnews · new: ")
    assert "(story: " in later and "● " not in later
    sink.flush()
    assert stream.getvalue()[len(printed):] == later
