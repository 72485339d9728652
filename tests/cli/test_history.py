"""`dozor backtest` against a real database: ids, queries, --from/--to, zones, empty windows."""
import pytest

from bot.__main__ import main
from tests.cli.cli_helpers import store_posts, utc
from tests.factories import make_post


@pytest.fixture
def history(cli_env, monkeypatch):
    """Rules imported and three posts from May 2024 (long before "the last 30 days")."""
    monkeypatch.setenv("DOZOR_TZ", "Europe/Moscow")
    assert main(["rules", "import", "rules.toml"]) == 0
    store_posts(make_post(message_id=1, text="Объявлена мобилизация", date=utc("2024-05-13T08:50")),
                make_post(message_id=2, text="Пришла повестка", date=utc("2024-05-14T22:30")),
                make_post(message_id=3, text="Погода", date=utc("2024-05-15T10:00")))
    return cli_env


def test_backtest_cli_prints_the_figures(cli_env, capsys):
    assert main(["rules", "import", "rules.toml"]) == 0
    assert main(["backtest", "mobilization", "--days", "7"]) == 0
    assert "Backtest of rule mobilization: 0 posts in the last 7 days" in capsys.readouterr().out


def test_a_mistyped_rule_id_is_an_error_listing_the_nearest_ids(history, capsys):
    capsys.readouterr()
    assert main(["backtest", "mobilisation", "--from", "2024-05-01"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip() == (
        "dozor: no rule with id 'mobilisation'; nearest: mobilization. To search for the word instead, "
        "write it in double quotes (\"mobilisation\") or use --query")


def test_query_option_searches_an_id_looking_word(history, capsys):
    assert main(["backtest", "--query", "refusals", "--from", "2024-05-01"]) == 0
    assert "Backtest of refusals: 0 posts" in capsys.readouterr().out


def test_a_query_with_spaces_or_operators_or_cyrillic_is_still_a_query(history, capsys):
    for query in ("мобилизация", "повестка OR мобилизация", "отказ*"):
        assert main(["backtest", query, "--from", "2024-05-01"]) == 0
        assert f"Backtest of {query}:" in capsys.readouterr().out


def test_from_to_reaches_replayed_history_with_days_and_times_in_the_zone(history, capsys):
    assert main(["backtest", "mobilization", "--from", "13.05.2024", "--to", "2024-05-15"]) == 0
    out = capsys.readouterr().out
    assert "2 posts from 13.05.2024 to 15.05.2024 (MSK)" in out
    assert "Per day: 2024-05-15 1, 2024-05-13 1" in out  # 22:30 UTC on the 14th is the 15th in Moscow
    assert "- 15.05.2024 01:30 MSK @pskovgubernia https://t.me/pskovgubernia/2" in out
    assert "- 13.05.2024 11:50 MSK @pskovgubernia" in out


def test_an_empty_window_says_which_dates_the_database_holds(history, capsys):
    assert main(["backtest", "mobilization"]) == 0  # the default: the last 30 days, long after May 2024
    out = capsys.readouterr().out
    assert "0 posts in the last 30 days" in out
    assert ("No stored posts in the last 30 days; the database holds 3 posts from 13.05.2024 11:50 MSK "
            "to 15.05.2024 13:00 MSK (try --from 2024-05-13 --to 2024-05-15).") in out


def test_a_bad_day_is_one_line_naming_the_formats(history, capsys):
    assert main(["backtest", "mobilization", "--to", "15/05/2024"]) == 2
    assert "dozor: --to '15/05/2024' is not a day: write YYYY-MM-DD, DD.MM.YYYY" in capsys.readouterr().err
