"""bot/cli/dates.py: the days a person types and the --from/--to window every reading command shares."""
from __future__ import annotations

import argparse
from datetime import date, datetime, timezone

import pytest

from bot.cli.dates import add_window_options, day_window, no_posts_message, parse_day, window_from_args
from bot.errors import UsageError

TODAY = date(2026, 11, 29)
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("text, expected", [
    ("2026-11-28", date(2026, 11, 28)),
    ("28.11.2026", date(2026, 11, 28)),
    ("1.2.2025", date(2025, 2, 1)),
    ("28.11", date(2026, 11, 28)),
    ("today", TODAY),
    ("Yesterday", date(2026, 11, 28)),
    (" 2026-11-28 ", date(2026, 11, 28)),
])
def test_parse_day_accepts_the_forms_a_person_types(text, expected):
    assert parse_day(text, TODAY) == expected


def test_day_and_month_alone_is_the_latest_such_day_not_after_today():
    assert parse_day("30.12", TODAY) == date(2025, 12, 30)
    assert parse_day("29.11", TODAY) == TODAY


@pytest.mark.parametrize("text", ["2026/11/28", "28-11-2026", "tomorrow", "", "11.2026"])
def test_a_day_in_another_form_names_the_expected_formats(text):
    with pytest.raises(UsageError, match="YYYY-MM-DD, DD.MM.YYYY, DD.MM, today or yesterday") as caught:
        parse_day(text, TODAY, "--from")
    assert str(caught.value).startswith("--from ")


def test_a_day_that_does_not_exist_is_named():
    with pytest.raises(UsageError, match="'31.02.2026' is no such day"):
        parse_day("31.02.2026", TODAY, "--to")


def test_window_is_whole_days_in_the_display_zone_as_utc():
    window = day_window(date(2026, 11, 28), date(2026, 11, 28), "Europe/Moscow", NOW)
    assert window.start == datetime(2026, 11, 27, 21, 0, tzinfo=timezone.utc)
    assert window.end == datetime(2026, 11, 28, 21, 0, tzinfo=timezone.utc)
    assert window.label() == "on 28.11.2026 (MSK)"


def test_from_alone_runs_to_now_and_to_alone_is_open_at_the_start():
    since = day_window(date(2026, 11, 28), None, "UTC", NOW)
    assert (since.start, since.end, since.label()) == (datetime(2026, 11, 28, tzinfo=timezone.utc), NOW,
                                                       "since 28.11.2026 (UTC)")
    until = day_window(None, date(2026, 11, 28), "UTC", NOW)
    assert until.start is None and until.end == datetime(2026, 11, 29, tzinfo=timezone.utc)


def test_reversed_days_are_an_error():
    with pytest.raises(UsageError, match="--from 2026-11-29 is after --to 2026-11-28"):
        day_window(date(2026, 11, 29), date(2026, 11, 28), "UTC", NOW)


def test_the_options_parse_into_a_window_or_none():
    parser = argparse.ArgumentParser()
    add_window_options(parser)
    assert window_from_args(parser.parse_args([]), "UTC", NOW) is None
    window = window_from_args(parser.parse_args(["--from", "yesterday", "--to", "today"]), "Europe/Moscow", NOW)
    assert window.label() == "from 28.11.2026 to 29.11.2026 (MSK)"


def test_an_empty_window_says_which_dates_the_database_holds():
    held = (datetime(2024, 5, 13, 6, 5, tzinfo=timezone.utc), datetime(2024, 5, 16, 20, 10, tzinfo=timezone.utc), 83)
    message = no_posts_message("in the last 30 days", held, "Europe/Moscow")
    assert message == ("No stored posts in the last 30 days; the database holds 83 posts from 13.05.2024 09:05 MSK"
                       " to 16.05.2024 23:10 MSK (try --from 2024-05-13 --to 2024-05-16).")
    assert "holds none yet" in no_posts_message(None, (None, None, 0), "UTC")
