"""`dozor digest`: argument parsing, printing, the chart file, errors as one line."""
from __future__ import annotations

import argparse
import asyncio
from datetime import datetime, timezone

import pytest

from bot.__main__ import main
from bot.cli.digest import handle_digest, register
from bot.errors import UsageError
from bot.settings import load_settings
from bot.storage import Store
from tests import factories
from tests.factories import Rows

NOW = datetime(2024, 5, 10, 12, tzinfo=timezone.utc)


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="dozor")
    register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["digest", *argv])


@pytest.fixture
def settings(tmp_path):
    return load_settings(env={"DOZOR_DATA_DIR": str(tmp_path)}, env_file=None, config_file=None)


def seed_matched_post(settings, text: str = "Повестки у метро") -> None:
    async def seed():
        store = await Store.open(settings.db_path)
        try:
            await Rows(store).matched_post(datetime(2024, 5, 9, 12, 0, tzinfo=timezone.utc), text=text,
                                           channel_id=-1001, message_id=1)
        finally:
            await store.close()

    asyncio.run(seed())


def test_print_shows_the_text_and_writes_the_chart(settings, capsys):
    seed_matched_post(settings)
    assert handle_digest(parse("--date", "2024-05-10", "--print"), settings, NOW) == 0
    out = capsys.readouterr().out
    assert "Повестки у метро" in out and "matched: 1" in out
    assert (settings.data_dir / "digest-2024-05-10.png").read_bytes().startswith(b"\x89PNG")


def test_without_chat_it_prints_and_asks_for_chat_without_mentioning_credentials(settings, capsys):
    assert handle_digest(parse("--date", "2024-05-10"), settings, NOW) == 0
    out = capsys.readouterr().out
    assert "Not sent: give --chat ID" in out and "credentials" not in out


def test_with_chat_but_no_telegram_it_prints_and_says_it_did_not_send(settings, capsys):
    async def seed():
        store = await Store.open(settings.db_path)
        try:
            await factories.add_subscriber(store, chat_id=42)
        finally:
            await store.close()

    asyncio.run(seed())
    assert handle_digest(parse("--date", "2024-05-10", "--chat", "42"), settings, NOW) == 0
    assert "Not sent: no Telegram credentials" in capsys.readouterr().out


def test_default_date_is_the_latest_digest_due(settings, capsys):
    handle_digest(parse("--print"), settings, NOW)
    assert "09.05.2024 09:00 – 10.05.2024 09:00" in capsys.readouterr().out


def test_bad_date_is_a_one_line_error_with_exit_2(settings, capsys, monkeypatch):
    monkeypatch.setenv("DOZOR_DATA_DIR", str(settings.data_dir))
    assert main(["digest", "--date", "10/05/2024"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "YYYY-MM-DD, DD.MM.YYYY, DD.MM, today or yesterday" in err


def test_unknown_chat_is_an_error_with_exit_2(settings, capsys, monkeypatch):
    with pytest.raises(UsageError, match="no subscriber with chat id 12345"):
        handle_digest(parse("--chat", "12345", "--print"), settings, NOW)
    monkeypatch.setenv("DOZOR_DATA_DIR", str(settings.data_dir))
    assert main(["digest", "--chat", "12345", "--print"]) == 2
    assert capsys.readouterr().err.strip() == "dozor: no subscriber with chat id 12345"


def add_subscriber(settings, chat_id: int) -> None:
    async def add():
        store = await Store.open(settings.db_path)
        try:
            await factories.add_subscriber(store, chat_id)
        finally:
            await store.close()

    asyncio.run(add())


def test_with_credentials_and_a_chat_the_digest_is_sent_once(tmp_path, capsys, monkeypatch, sender):
    settings = load_settings(env={"DOZOR_DATA_DIR": str(tmp_path), "TG_API_ID": "1", "TG_API_HASH": "h" * 32},
                             env_file=None, config_file=None)
    seed_matched_post(settings)
    add_subscriber(settings, 777)
    fake = sender

    async def fake_open_sender(_settings, _options):
        return fake, None, None, None

    monkeypatch.setattr("bot.app.live.open_sender", fake_open_sender)
    assert handle_digest(parse("--date", "2024-05-10", "--chat", "777"), settings, NOW) == 0
    assert "Sent." in capsys.readouterr().out
    assert fake.to(777) and "Повестки" in "".join(m.html for m in fake.to(777))
    sent_before = len(fake.sent)
    assert handle_digest(parse("--date", "2024-05-10", "--chat", "777"), settings, NOW) == 0
    assert "already sent" in capsys.readouterr().out
    assert len(fake.sent) == sent_before


def test_from_to_prints_the_digest_of_those_whole_days_and_its_chart(settings, capsys):
    seed_matched_post(settings)  # 09.05.2024 12:00 UTC
    assert handle_digest(parse("--from", "2024-05-08", "--to", "09.05.2024"), settings, NOW) == 0
    out = capsys.readouterr().out
    assert "08.05.2024 00:00 – 10.05.2024 00:00" in out and "Повестки у метро" in out
    assert "Not sent" not in out  # a period digest is printed, never sent
    assert (settings.data_dir / "digest-2024-05-08--2024-05-09.png").read_bytes().startswith(b"\x89PNG")


def test_from_to_without_stored_posts_says_which_dates_the_database_holds(settings, capsys):
    seed_matched_post(settings)
    assert handle_digest(parse("--from", "2024-04-01", "--to", "2024-04-02"), settings, NOW) == 0
    out = capsys.readouterr().out
    assert out.startswith("No stored posts from 01.04.2024 to 02.04.2024 (MSK); the database holds 1 post from "
                          "09.05.2024 15:00 MSK")


def test_date_and_a_window_together_are_an_error(settings):
    with pytest.raises(UsageError, match="either --date/--calendar-day or --from/--to"):
        handle_digest(parse("--date", "2024-05-10", "--from", "2024-05-01"), settings, NOW)
@pytest.mark.parametrize("typed, title", [
    ("today", "09.05.2024 09:00 – 10.05.2024 09:00"),
    ("yesterday", "08.05.2024 09:00 – 09.05.2024 09:00"),
    ("09.05.2024", "08.05.2024 09:00 – 09.05.2024 09:00"),
    ("2024-05-09", "08.05.2024 09:00 – 09.05.2024 09:00"),
])
def test_date_takes_today_yesterday_and_dd_mm_yyyy_as_the_bot_does(settings, capsys, typed, title):
    assert handle_digest(parse("--date", typed, "--print"), settings, NOW) == 0
    assert title in capsys.readouterr().out


def test_calendar_day_covers_the_day_named_from_midnight_to_midnight(settings, capsys):
    seed_matched_post(settings, "Повестки днём 9 мая")  # 15:00 in Moscow on the 9th
    assert handle_digest(parse("--date", "09.05.2024", "--calendar-day", "--print"), settings, NOW) == 0
    out = capsys.readouterr().out
    assert "09.05.2024 00:00 – 10.05.2024 00:00" in out and "Повестки днём 9 мая" in out
    assert (settings.data_dir / "digest-2024-05-09.png").is_file()


def test_calendar_day_without_a_date_is_yesterday(settings, capsys):
    assert handle_digest(parse("--calendar-day", "--print"), settings, NOW) == 0
    assert "09.05.2024 00:00 – 10.05.2024 00:00" in capsys.readouterr().out


def test_a_subscriber_set_to_calendar_days_gets_them_from_the_cli(settings, capsys, monkeypatch):
    monkeypatch.setenv("DOZOR_DATA_DIR", str(settings.data_dir))
    assert main(["subscribers", "add", "42"]) == 0
    assert main(["subscribers", "set", "42", "--calendar-day", "on"]) == 0
    assert "the last calendar day" in capsys.readouterr().out
    assert handle_digest(parse("--date", "09.05.2024", "--chat", "42", "--print"), settings, NOW) == 0
    assert "09.05.2024 00:00 – 10.05.2024 00:00" in capsys.readouterr().out
    assert main(["subscribers", "set", "42"]) == 2
    assert "--calendar-day on|off" in capsys.readouterr().err
