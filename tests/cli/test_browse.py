"""`dozor search` and `dozor export` against a real database."""
import csv
import io
import json

import pytest

from bot.__main__ import main
from tests.cli.cli_helpers import store_posts, utc
from tests.factories import make_post


@pytest.fixture
def stored(cli_env, monkeypatch):
    """Rules imported; four posts in two channels over three days of May 2024."""
    monkeypatch.setenv("DOZOR_TZ", "Europe/Moscow")
    assert main(["rules", "import", "rules.toml"]) == 0
    store_posts(
        make_post(message_id=1, text="Объявлена мобилизация в области", date=utc("2024-05-13T08:50")),
        make_post(message_id=2, text="=HYPERLINK(\"http://x\") повестки пришли", date=utc("2024-05-14T09:00")),
        make_post(message_id=3, text="Погода без повесток", date=utc("2024-05-15T10:00"),
                  channel="otherchannel", channel_id=-1002000000002),
        make_post(message_id=4, text="Военные отказались ехать", date=utc("2024-05-15T11:00")),
    )
    return cli_env


def test_search_prints_matches_newest_first_with_zone_channel_and_link(stored, capsys):
    capsys.readouterr()
    assert main(["search", "повестка"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "15.05.2024 13:00 MSK  @otherchannel  https://t.me/otherchannel/3"
    assert lines[1] == "  Погода без повесток"
    assert lines[2] == "14.05.2024 12:00 MSK  @pskovgubernia  https://t.me/pskovgubernia/2"
    assert lines[-1] == "2 posts match 'повестка', newest first."


def test_search_window_channel_and_limit_narrow_it(stored, capsys):
    capsys.readouterr()
    assert main(["search", "повестка OR мобилизация", "--from", "13.05.2024", "--to", "14.05.2024",
                 "--channel", "@pskovgubernia", "--limit", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("14.05.2024 12:00 MSK  @pskovgubernia")
    assert lines[-1] == ("1 post matches 'повестка OR мобилизация' from 13.05.2024 to 14.05.2024 (MSK), "
                         "newest first; more match: raise --limit or narrow --from/--to.")


def test_search_highlights_matched_words_only_on_a_terminal(stored, capsys, monkeypatch):
    capsys.readouterr()
    assert main(["search", "мобилизация"]) == 0
    assert "\x1b[" not in capsys.readouterr().out
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert main(["search", "мобилизация"]) == 0
    assert "Объявлена \x1b[1mмобилизация\x1b[0m в области" in capsys.readouterr().out


def test_search_of_an_empty_window_says_which_dates_the_database_holds(stored, capsys):
    capsys.readouterr()
    assert main(["search", "повестка", "--from", "2023-01-01", "--to", "2023-01-31"]) == 0
    assert capsys.readouterr().out.strip() == (
        "No stored posts from 01.01.2023 to 31.01.2023 (MSK); the database holds 4 posts from "
        "13.05.2024 11:50 MSK to 15.05.2024 14:00 MSK (try --from 2024-05-13 --to 2024-05-15).")


def test_search_of_an_unknown_channel_names_the_nearest(stored, capsys):
    assert main(["search", "повестка", "--channel", "pskovgub"]) == 2
    assert capsys.readouterr().err.strip() == (
        "dozor: --channel 'pskovgub': no such channel among the stored posts; nearest: @pskovgubernia")


def test_search_with_a_bad_query_is_one_line_with_the_caret(stored, capsys):
    assert main(["search", "(повестка"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dozor: ") and "Traceback" not in err


def test_export_csv_to_stdout_is_spreadsheet_safe_with_a_bom(stored, capsysbinary):
    capsysbinary.readouterr()
    assert main(["export", "--from", "2024-05-13", "--to", "2024-05-14"]) == 0
    captured = capsysbinary.readouterr()
    assert captured.out.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(captured.out.decode("utf-8-sig"))))
    assert [(r["date"], r["channel"], r["message_id"], r["rules"]) for r in rows] == [
        ("2024-05-13T11:50:00+03:00", "pskovgubernia", "1", "mobilization"),
        ("2024-05-14T12:00:00+03:00", "pskovgubernia", "2", "mobilization")]
    assert rows[1]["text"].startswith("'=HYPERLINK(")  # shown by a spreadsheet, never run
    assert rows[0]["link"] == "https://t.me/pskovgubernia/1"
    assert json.loads(rows[0]["spans"]) == {"mobilization": [[10, 21]]}
    assert "2 matched posts from 13.05.2024 to 14.05.2024 (MSK) written as csv" in captured.err.decode()


def test_export_jsonl_to_a_file_with_one_rule(stored, capsys):
    assert main(["export", "out.jsonl", "--rule", "refusals"]) == 0
    records = [json.loads(line) for line in (stored / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(r["message_id"], r["rules"], r["text"]) for r in records] == [
        (4, ["refusals"], "Военные отказались ехать")]
    assert records[0]["date"] == "2024-05-15T14:00:00+03:00" and records[0]["spans"] == {"refusals": [[8, 18]]}
    assert "1 matched post written as jsonl to out.jsonl" in capsys.readouterr().err


def test_export_format_option_wins_over_the_file_name(stored):
    assert main(["export", "out.txt", "--format", "jsonl"]) == 0
    assert json.loads((stored / "out.txt").read_text(encoding="utf-8").splitlines()[0])["message_id"] == 1
    assert main(["export", "out.csv"]) == 0
    assert (stored / "out.csv").read_bytes().startswith(b"\xef\xbb\xbfdate,channel,")


def test_export_of_an_unknown_rule_names_the_nearest(stored, capsys):
    assert main(["export", "--rule", "refusal"]) == 2
    assert capsys.readouterr().err.strip() == "dozor: no rule with id 'refusal'; nearest: refusals"


def test_export_of_an_empty_window_says_which_dates_the_database_holds(stored, capsysbinary):
    capsysbinary.readouterr()
    assert main(["export", "--from", "2025-01-01"]) == 0
    captured = capsysbinary.readouterr()
    assert captured.out.decode("utf-8-sig") == "date,channel,channel_id,message_id,link,rules,spans,deleted,text\r\n"
    assert "No stored posts since 01.01.2025 (MSK); the database holds 4 posts" in captured.err.decode()
