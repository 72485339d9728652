import gzip
import io
import json
from datetime import datetime, timezone

import pytest

from bot.errors import SourceError
from bot.sources import ReadReport, derived_channel_id, read_posts, read_stream

NOW = datetime(2024, 6, 1, tzinfo=timezone.utc)


def read(path):
    report = ReadReport()
    return list(read_posts(path, report, NOW)), report


def write_lines(path, *lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_jsonl_line_becomes_a_post_with_all_fields(tmp_path):
    line = json.dumps({"channel": "pskovgubernia", "channel_id": -1001234567890, "id": 5012,
                       "date": "2022-04-12T09:30:00+00:00", "text": "текст", "views": 1200})
    [post], _ = read(write_lines(tmp_path / "p.jsonl", line))
    assert (post.channel_id, post.message_id, post.text, post.views) == (-1001234567890, 5012, "текст", 1200)
    assert post.date == datetime(2022, 4, 12, 9, 30, tzinfo=timezone.utc)
    assert post.link == "https://t.me/pskovgubernia/5012"


def test_gzip_file_is_read(tmp_path):
    path = tmp_path / "p.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write(json.dumps({"channel": "a", "id": 1, "text": "x"}) + "\n")
    posts, _ = read(path)
    assert [p.text for p in posts] == ["x"]


def test_gzip_is_told_by_its_first_bytes_not_its_name(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_bytes(gzip.compress(json.dumps({"id": 1, "text": "x"}).encode("utf-8") + b"\n"))
    assert [p.text for p in read(path)[0]] == ["x"]


@pytest.mark.parametrize("pack", [lambda b: b, gzip.compress], ids=["plain", "gzip"])
def test_a_stream_of_jsonl_is_read_plain_or_gzipped(pack):
    data = pack(b'{"id": 1, "text": "one"}\n\nnot json\n{"id": 4, "text": "four"}\n')
    report = ReadReport()
    posts = list(read_stream(io.BytesIO(data), report, NOW))
    assert [(p.message_id, p.text) for p in posts] == [(1, "one"), (4, "four")]
    assert report.skipped == [(3, "not JSON")]


def test_a_stream_holding_a_desktop_export_is_read_as_one():
    export = {"name": "Канал", "id": 55, "messages": [{"id": 9, "type": "message", "text": "привет"}]}
    [post] = list(read_stream(io.BytesIO(json.dumps(export, indent=1).encode("utf-8")), ReadReport(), NOW))
    assert (post.channel_id, post.message_id, post.channel_title) == (-10055, 9, "Канал")


def test_a_stream_that_is_no_export_is_a_source_error():
    with pytest.raises(SourceError, match="stdin: not a Telegram Desktop chat export"):
        list(read_stream(io.BytesIO(b'{\n "a": 1\n}\n'), ReadReport(), NOW))


def test_bad_lines_are_reported_with_line_numbers_and_skipped(tmp_path):
    path = write_lines(tmp_path / "p.jsonl", '{"text": "one", "id": 1}', "{not json", '{"id": 3}', "[1, 2]",
                       '{"text": "five", "id": 5}')
    posts, report = read(path)
    assert [p.text for p in posts] == ["one", "five"]
    assert [n for n, _ in report.skipped] == [2, 3, 4]
    assert "text" in report.skipped[1][1]


def test_missing_channel_id_is_derived_stably_from_the_name(tmp_path):
    path = write_lines(tmp_path / "p.jsonl", '{"channel": "@Pskov", "id": 1, "text": "x"}')
    [post], _ = read(path)
    assert post.channel_id == derived_channel_id("pskov") < -9 * 10**12


def test_missing_id_is_the_line_number_and_missing_date_the_default(tmp_path):
    [post], _ = read(write_lines(tmp_path / "p.jsonl", "", '{"text": "x"}'))
    assert post.message_id == 2 and post.date == NOW


def test_private_channel_gets_a_c_link(tmp_path):
    [post], _ = read(write_lines(tmp_path / "p.jsonl", '{"channel_id": -1001101170442, "id": 7, "text": "x"}'))
    assert post.link == "https://t.me/c/1101170442/7"


def test_missing_file_is_a_source_error(tmp_path):
    with pytest.raises(SourceError, match="not found"):
        read(tmp_path / "nope.jsonl")


def test_telegram_desktop_export_is_read(tmp_path):
    export = {
        "name": "Псковская губерния", "type": "public_channel", "id": 1234567890,
        "messages": [
            {"id": 1, "type": "service", "date": "2024-01-01T10:00:00", "text": ""},
            {"id": 2, "type": "message", "date": "2024-01-01T12:00:00", "date_unixtime": "1704110400",
             "text": ["Идёт ", {"type": "bold", "text": "мобилизация"}, "!"], "edited_unixtime": "1704114000"},
            {"id": 3, "type": "message", "date": "2024-01-01T12:05:00", "text": "", "photo": "photos/1.jpg"},
        ],
    }
    path = tmp_path / "result.json"
    path.write_text(json.dumps(export, ensure_ascii=False), encoding="utf-8")
    [post], _ = read(path)
    assert (post.channel_id, post.message_id, post.text) == (-1001234567890, 2, "Идёт мобилизация!")
    assert post.date == datetime(2024, 1, 1, 12, 0, tzinfo=timezone.utc)
    assert post.channel_title == "Псковская губерния" and post.edit_date is not None


def test_json_that_is_not_an_export_is_a_source_error(tmp_path):
    path = tmp_path / "other.json"
    path.write_text('{"a": 1}', encoding="utf-8")
    with pytest.raises(SourceError, match="export"):
        read(path)


def test_built_in_sample_is_valid_and_sized_as_promised():
    from bot.app.replay import sample_path

    posts, report = read(sample_path())
    assert report.skipped == [] and 60 <= len(posts) <= 150
    assert len({p.channel for p in posts}) >= 4
    assert len({(p.channel_id, p.message_id) for p in posts}) == len(posts)
