"""`dozor subscribers add --webhook URL [--secret S]` and `--apprise URL`: targets from the CLI, never shown in full."""
import asyncio
import logging
from datetime import datetime, timedelta, timezone

from bot.__main__ import main
from bot.storage import open_store, targets

HOOK = "https://hooks.example.org/dozor/T0KEN-in-the-path?key=query-token"
SECRET = "test-only-signing-key"


def test_a_webhook_is_added_listed_masked_and_removed(cli_env, capsys, caplog):
    with caplog.at_level(logging.DEBUG):
        assert main(["subscribers", "add", "--webhook", HOOK, "--secret", SECRET]) == 0
        added = capsys.readouterr().out
        assert main(["subscribers", "list"]) == 0
        listed = capsys.readouterr().out
    header, row = listed.strip().splitlines()
    assert header.split("\t")[-1] == "TITLE"
    chat_id, kind, role, _tz, _style, _topic, health, label = row.split("\t")
    assert kind == "webhook" and role == "subscriber" and int(chat_id) > 2 ** 53 and health == "ok"
    assert label.startswith("https://hooks.example.org/… #")
    for shown in (added, listed, caplog.text):
        assert "T0KEN" not in shown and "query-token" not in shown and SECRET not in shown
    assert "signed" in added
    assert main(["subscribers", "remove", chat_id]) == 0
    capsys.readouterr()
    assert main(["subscribers", "list"]) == 0
    assert capsys.readouterr().out.startswith("no subscribers yet")


def test_adding_the_same_webhook_again_keeps_one_subscriber(cli_env, capsys):
    assert main(["subscribers", "add", "--webhook", HOOK]) == 0
    assert main(["subscribers", "add", "--webhook", HOOK, "--secret", SECRET]) == 0
    capsys.readouterr()
    assert main(["subscribers", "list"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 2  # the header and one webhook


def test_an_apprise_url_is_checked_and_masked(cli_env, capsys):
    url = "mailto://127.0.0.1:2525?to=desk@example.org&from=dozor@example.org"
    assert main(["subscribers", "add", "--apprise", url]) == 0
    capsys.readouterr()
    assert main(["subscribers", "list"]) == 0
    listed = capsys.readouterr().out
    assert "\tapprise\t" in listed and "mailto://… #" in listed and "desk@example.org" not in listed


def test_bad_targets_are_refused_with_what_to_write(cli_env, capsys):
    assert main(["subscribers", "add", "--webhook", "ftp://example.org/x"]) == 2
    assert "http:// or https://" in capsys.readouterr().err
    assert main(["subscribers", "add", "--apprise", "no-such-scheme://x"]) == 2
    assert "not a URL Apprise understands" in capsys.readouterr().err
    assert main(["subscribers", "add", "--apprise", "ntfy://topic", "--secret", "x"]) == 2
    assert main(["subscribers", "add", "42", "--webhook", HOOK]) == 2
    assert main(["subscribers", "add", "9007199254740993"]) == 2
    assert "not a Telegram chat id" in capsys.readouterr().err
    assert main(["subscribers", "list"]) == 0
    assert capsys.readouterr().out.startswith("no subscribers yet")


def listed_health() -> str:
    """The HEALTH column of the only subscriber listed."""
    header, row = main_list().strip().splitlines()
    return row.split("\t")[header.split("\t").index("HEALTH")]


def on_the_target(change) -> None:
    """Write `change(conn, subscriber_id)` for the only delivery target, as the delivery lanes do."""
    async def go():
        async with open_store("dozor.db") as store:
            subscriber_id = await store.fetchval("SELECT subscriber_id FROM delivery_targets")
            await store.write(lambda conn: change(conn, subscriber_id))

    asyncio.run(go())


def main_list() -> str:
    import io
    from contextlib import redirect_stdout

    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["subscribers", "list"]) == 0
    return out.getvalue()


def test_list_shows_whether_a_target_is_healthy_or_failing_since_when(cli_env, capsys):
    assert main(["subscribers", "add", "--webhook", HOOK]) == 0
    assert listed_health() == "ok"
    failed_at = datetime(2026, 11, 29, 14, 3, tzinfo=timezone.utc)
    for minutes in (0, 5):
        on_the_target(lambda conn, sid: targets.record_failure(conn, sid, "webhook answered HTTP 500",
                                                               failed_at + timedelta(minutes=minutes)))
    assert listed_health() == "failing since 2026-11-29 14:03 UTC (2 failed attempts)"
    on_the_target(lambda conn, sid: targets.record_success(conn, sid, failed_at + timedelta(minutes=9)))
    assert listed_health() == "ok"


def test_a_telegram_chat_has_no_health_shown(cli_env, capsys):
    assert main(["subscribers", "add", "42"]) == 0
    assert listed_health() == "-"


def test_a_webhook_subscriber_counts_as_someone_alerted_in_status(cli_env, capsys):
    assert main(["subscribers", "add", "--webhook", HOOK]) == 0
    capsys.readouterr()
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "subscribers active: 1" in out and "no active subscribers" not in out
    assert main(["subscribers", "list"]) == 0
    row = capsys.readouterr().out.strip().splitlines()[1].split("\t")
    assert row[1] == "webhook" and row[4:6] == ["-", "-"]  # no alert style or forum topic outside Telegram
