"""`dozor match` reads posts with the replay reader: JSONL, gzip, Telegram Desktop result.json, stdin."""
import gzip
import io
import json

import pytest

from bot.__main__ import main
from bot.cli.rules import STDIN_WAIT

EXPORT = {
    "name": "Псковская губерния", "type": "public_channel", "id": 1234567890,
    "messages": [
        {"id": 1, "type": "service", "date": "2024-01-01T10:00:00", "text": ""},
        {"id": 2, "type": "message", "date": "2024-01-01T12:00:00",
         "text": ["Идёт ", {"type": "bold", "text": "мобилизация"}, "!"]},
        {"id": 3, "type": "message", "date": "2024-01-01T12:05:00", "text": "Погода"},
    ],
}
JSONL = ('{"id": 7, "channel": "pskov", "text": "Пришла повестка"}\n'
         '{"id": 8, "channel": "pskov", "text": "погода"}\n'
         '{"id": 9, "channel": "pskov", "text": "Пишут об отказе"}\n')
MATCH_7 = {"id": 7, "channel": "pskov", "matches": [{"rule": "mobilization", "tags": ["army"], "spans": [[7, 15]]}]}


@pytest.fixture
def rules(cli_env, monkeypatch):
    monkeypatch.setenv("DOZOR_RULES", str(cli_env / "rules.toml"))
    return cli_env


def out_lines(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def feed_stdin(monkeypatch, data: bytes, tty: bool = False) -> None:
    stream = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")
    monkeypatch.setattr(stream, "isatty", lambda: tty)
    monkeypatch.setattr("sys.stdin", stream)


def test_a_gzipped_file_is_read_not_a_unicode_traceback(rules, capsys):
    (rules / "posts.jsonl.gz").write_bytes(gzip.compress(JSONL.encode("utf-8")))
    assert main(["match", "posts.jsonl.gz"]) == 0
    lines = out_lines(capsys)
    assert [line["id"] for line in lines] == [7, 8, 9] and lines[0] == MATCH_7


def test_gzip_is_told_by_its_bytes_whatever_the_name(rules, capsys):
    (rules / "posts.jsonl").write_bytes(gzip.compress(JSONL.encode("utf-8")))
    assert main(["match", "posts.jsonl", "--only-matches"]) == 0
    assert [line["id"] for line in out_lines(capsys)] == [7, 9]


def test_a_telegram_desktop_export_is_read_with_its_channel(rules, capsys):
    (rules / "result.json").write_text(json.dumps(EXPORT, ensure_ascii=False), encoding="utf-8")
    assert main(["match", "result.json"]) == 0
    assert out_lines(capsys) == [
        {"id": 2, "channel": "Псковская губерния",
         "matches": [{"rule": "mobilization", "tags": ["army"], "spans": [[5, 16]]}]},
        {"id": 3, "channel": "Псковская губерния", "matches": []}]


def test_only_matches_leaves_out_posts_no_rule_matches(rules, capsys):
    (rules / "posts.jsonl").write_text(JSONL, encoding="utf-8")
    assert main(["match", "posts.jsonl", "--only-matches"]) == 0
    lines = out_lines(capsys)
    assert lines[0] == MATCH_7 and [line["id"] for line in lines] == [7, 9]


@pytest.mark.parametrize("data", [
    JSONL.encode("utf-8"),
    gzip.compress(JSONL.encode("utf-8")),
], ids=["jsonl", "gzip"])
def test_stdin_takes_jsonl_plain_or_gzipped(rules, capsys, monkeypatch, data):
    feed_stdin(monkeypatch, data)
    assert main(["match"]) == 0
    captured = capsys.readouterr()
    assert [json.loads(line)["id"] for line in captured.out.splitlines()] == [7, 8, 9]
    assert STDIN_WAIT not in captured.err  # a pipe needs no prompt


def test_stdin_takes_a_telegram_desktop_export(rules, capsys, monkeypatch):
    feed_stdin(monkeypatch, json.dumps(EXPORT, ensure_ascii=False, indent=1).encode("utf-8"))
    assert main(["match", "-", "--only-matches"]) == 0
    assert [line["id"] for line in out_lines(capsys)] == [2]


def test_a_terminal_on_stdin_is_told_what_match_waits_for(rules, capsys, monkeypatch):
    feed_stdin(monkeypatch, b"", tty=True)
    assert main(["match"]) == 0
    assert STDIN_WAIT in capsys.readouterr().err
    assert "waiting for posts on stdin, one JSON object a line" in STDIN_WAIT


def test_bad_lines_are_skipped_reported_and_exit_2_after_the_good_ones(rules, capsys):
    (rules / "posts.jsonl").write_bytes(b'{"id": 1, "text": "\xff\xfe "}\nnot json\n{"id": 3}\n')
    assert main(["match", "posts.jsonl"]) == 2
    captured = capsys.readouterr()
    assert [json.loads(line)["id"] for line in captured.out.splitlines()] == [1]
    assert captured.err.strip().endswith(
        "dozor: posts.jsonl: 2 of 3 lines skipped (first: line 2: not JSON); the other posts were matched")


def test_a_missing_file_is_one_line(rules, capsys):
    assert main(["match", "nope.jsonl"]) == 2
    assert capsys.readouterr().err.strip() == "dozor: replay file not found: nope.jsonl"
