"""Replay input that used to crash `dozor run --replay`: every bad record is skipped and reported
with its line (JSONL) or message (Telegram Desktop export) number, and the rest is read."""
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.sources import ReadReport, read_posts

NOW = datetime(2024, 6, 1, tzinfo=timezone.utc)
RULES = Path(__file__).resolve().parents[1] / "config" / "rules.toml"
GOOD = {"channel": "pskov", "text": "good post"}
BAD_JSONL_LINES = {
    "a number like 1e400 as id": '{"text": "x", "id": 1e400}',
    "an id beyond 64 bits": '{"text": "x", "id": 123456789012345678901234567890}',
    "a channel_id beyond 64 bits": '{"text": "x", "channel_id": -100123456789012345678901234567890}',
    "a date of 1e20": '{"text": "x", "date": 1e20}',
    "a date of \"99999999999999999\"": '{"text": "x", "date": "99999999999999999"}',
    "a link that is a list": '{"text": "x", "link": ["https://t.me/a/1"]}',
    "a lang that is a dict": '{"text": "x", "lang": {"ru": 1}}',
    "a date that is a list": '{"text": "x", "date": [2024]}',
    "views of 1e400": '{"text": "x", "views": 1e400, "id": 1}',
}
BAD_MESSAGES = {
    "a message that is a string": "hello",
    "no id": {"type": "message", "date": "2024-01-01T12:00:00", "text": "x"},
    "id \"x1\"": {"id": "x1", "type": "message", "date": "2024-01-01T12:00:00", "text": "x"},
    "an int inside the text list": {"id": 7, "type": "message", "date": "2024-01-01T12:00:00",
                                    "text": ["a", 5, {"type": "bold", "text": "b"}]},
    "date \"yesterday\"": {"id": 8, "type": "message", "date": "yesterday", "text": "x"},
}


def jsonl_with(tmp_path, bad_line: str) -> Path:
    path = tmp_path / "p.jsonl"
    lines = [json.dumps(dict(GOOD, id=1)), bad_line, json.dumps(dict(GOOD, id=3))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def export_with(tmp_path, bad_message, channel_id="1234567890") -> Path:
    good = [{"id": n, "type": "message", "date": "2024-01-01T12:00:00", "text": f"good post {n}"} for n in (1, 3)]
    export = {"name": "Pskov", "type": "public_channel", "id": channel_id,
              "messages": [good[0], bad_message, good[1]]}
    path = tmp_path / "result.json"
    path.write_text(json.dumps(export, ensure_ascii=False), encoding="utf-8")
    return path


def read(path):
    report = ReadReport()
    return list(read_posts(path, report, NOW)), report


@pytest.mark.parametrize("bad_line", BAD_JSONL_LINES.values(), ids=BAD_JSONL_LINES.keys())
def test_a_bad_jsonl_line_is_skipped_with_its_number_and_the_rest_read(tmp_path, bad_line):
    posts, report = read(jsonl_with(tmp_path, bad_line))
    if "views" in bad_line:  # an optional count that makes no sense is dropped, the post kept
        assert len(posts) == 3 and posts[1].views is None
        return
    assert [p.message_id for p in posts] == [1, 3]
    assert [n for n, _ in report.skipped] == [2]


@pytest.mark.parametrize("bad_message", BAD_MESSAGES.values(), ids=BAD_MESSAGES.keys())
def test_a_bad_export_message_is_skipped_with_its_number_and_the_rest_read(tmp_path, bad_message):
    posts, report = read(export_with(tmp_path, bad_message))
    assert [p.message_id for p in posts] == [1, 3]
    assert [n for n, _ in report.skipped] == [2]


def test_an_export_with_a_channel_id_that_is_not_a_number_is_read_under_a_made_up_id(tmp_path, caplog):
    from bot.sources import derived_channel_id

    posts, report = read(export_with(tmp_path, {"id": 2, "type": "message", "text": "two"}, channel_id="abc"))
    assert [p.message_id for p in posts] == [1, 2, 3] and report.skipped == []
    assert {p.channel_id for p in posts} == {derived_channel_id("Pskov")}
    assert "channel id" in caplog.text and "'abc'" in caplog.text


@pytest.mark.parametrize("bad_line", BAD_JSONL_LINES.values(), ids=BAD_JSONL_LINES.keys())
def test_replay_of_a_bad_jsonl_line_exits_0_and_stores_the_others(workdir, capsys, caplog, bad_line):
    assert main(["run", "--replay", str(jsonl_with(workdir, bad_line))]) == 0
    out = capsys.readouterr().out
    if "views" in bad_line:
        assert "3 posts read, 3 new" in out
        return
    assert "2 posts read, 2 new" in out and "1 line skipped" in out and "p.jsonl line 2 skipped" in caplog.text


@pytest.mark.parametrize("bad_message", list(BAD_MESSAGES.values()) + [None],
                         ids=list(BAD_MESSAGES.keys()) + ["channel id abc"])
def test_replay_of_a_bad_export_exits_0_and_stores_the_others(workdir, capsys, caplog, bad_message):
    if bad_message is None:
        path = export_with(workdir, {"id": 2, "type": "message", "text": "two"}, channel_id="abc")
    else:
        path = export_with(workdir, bad_message)
    assert main(["run", "--replay", str(path)]) == 0
    out = capsys.readouterr().out
    if bad_message is None:
        assert "3 posts read, 3 new" in out
        return
    assert "2 posts read, 2 new" in out and "result.json message 2 skipped" in caplog.text
