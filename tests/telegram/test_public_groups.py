"""Public groups as sources: added like channels (a private group still needs an admin's confirmation), members'
messages matched like posts and alerted with a link to the message, and the author kept only as a numeric id
and shown as "a member", never by name, unless an admin turns names on for that group."""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest
from telethon import utils

from bot.__main__ import main
from bot.cli.channels import add_channels
from bot.delivery.telegram_sink import TelegramAlertSink
from bot.delivery.worker import OutboxWorker
from bot.pipeline import Pipeline
from bot.settings import load_settings
from bot.storage import access, open_store
from bot.storage import channels as db
from bot.storage.audit import audit_entries
from bot.storage.outbox import due_rows
from bot.storage.posts import post_row
from bot.telegram.budget import Budget
from bot.telegram.watcher import Watcher
from tests.factories import default_rules
from tests.fakes import FakeSender
from tests.telegram.offline import OfflineClient, make_group, make_user, member_message

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
WIVES = make_group()  # public: @soldiers_wives
GID = utils.get_peer_id(WIVES)
MARIA = make_user(5550001, "Мария", "Иванова")
TEXT = "Мужа забрали по мобилизации, повестку вручили прямо на работе"


@pytest.fixture
def settings(tmp_path):
    return load_settings(env={"DOZOR_DATA_DIR": str(tmp_path), "TG_API_ID": "1", "TG_API_HASH": "0" * 32},
                         env_file=None, config_file=None)


async def no_sleep(_seconds: float) -> None:
    return None


async def watched_group(store, client, settings) -> Watcher:
    """`dozor channels add @soldiers_wives` with the account, then a watcher reading it, alerting chat 42."""
    [(ok, line)] = await add_channels(settings, store, [parse("@soldiers_wives")], online=True,
                                      client_factory=lambda *_: client)
    assert ok, line
    await store.write(lambda c: access.add_subscriber(c, 42, "test", NOW))
    pipeline = Pipeline(store, default_rules(), clock=lambda: NOW)
    watcher = Watcher(client, store, pipeline, "dozor", Budget("dozor", sleep=no_sleep, gaps={}), chunk_wait=0,
                      now=lambda: NOW)
    watcher.watch(await db.get_channel(store, GID))
    watcher.register()
    return watcher


def parse(text):
    from bot.telegram.channels import parse_channel_ref
    return parse_channel_ref(text)


async def deliver(store, settings) -> FakeSender:
    sender = FakeSender()
    sink = TelegramAlertSink(store, sender, settings, clock=lambda: NOW)
    worker = OutboxWorker(store, lambda _sub: sink, lambda: NOW)
    for row in await due_rows(store, NOW):
        await worker.deliver_row(row)
    return sender


async def test_a_public_group_is_watched_and_its_members_are_shown_only_as_a_member(store, settings):
    client = OfflineClient(WIVES, users=(MARIA,))
    watcher = await watched_group(store, client, settings)
    assert (await db.get_channel(store, GID)).status == "active"  # public: no confirmation needed
    await client.push_new(member_message(WIVES, 101, TEXT, MARIA))
    [alert] = (await deliver(store, settings)).sent
    assert '<a href="https://t.me/soldiers_wives/101">message</a>' in alert.html
    assert "👤 a member" in alert.html and "<b>мобилиз</b>ации" in alert.html
    assert "Мария" not in alert.html and "Иванова" not in alert.html
    row = await post_row(store, GID, 101)
    assert row["author_id"] == MARIA.id and row["author_name"] is None
    dump = "\n".join(str(tuple(r)) for r in await store.fetchall("SELECT * FROM alert_messages"))
    assert "Мария" not in dump and "Иванова" not in dump  # not in the alert log's snapshot either
    assert watcher.channels[GID].show_authors is False


async def test_an_admin_may_turn_names_on_for_one_group_and_off_again(store, settings):
    client = OfflineClient(WIVES, users=(MARIA,))
    watcher = await watched_group(store, client, settings)
    assert await db.set_show_authors(store, GID, True, "cli")
    watcher.watch(await db.get_channel(store, GID))  # what the running app's refresh does
    await client.push_new(member_message(WIVES, 102, TEXT, MARIA))
    [alert] = (await deliver(store, settings)).sent
    assert "👤 Мария Иванова" in alert.html and "a member" not in alert.html
    assert (await post_row(store, GID, 102))["author_name"] == "Мария Иванова"

    assert await db.set_show_authors(store, GID, False, "cli")
    row = await post_row(store, GID, 102)
    assert row["author_id"] == MARIA.id and row["author_name"] is None  # the name is forgotten...
    dump = "\n".join(str(tuple(r)) for r in await store.fetchall("SELECT * FROM alert_messages"))
    assert "Мария" not in dump  # ...in the alert log too, so a later edit of the alert shows "a member"
    [_, off] = await audit_entries(store, action="channel.show_authors")
    assert off["actor"] == "cli" and "false" in off["after"]


async def test_with_names_on_a_name_telegram_did_not_send_is_fetched(store, settings):
    client = OfflineClient(WIVES, users=(MARIA,))
    watcher = await watched_group(store, client, settings)
    await db.set_show_authors(store, GID, True, "cli")
    watcher.watch(await db.get_channel(store, GID))
    bare = member_message(WIVES, 104, TEXT, MARIA)  # no sender entity attached: only the id
    await watcher._feed(watcher.channels[GID], [bare], late=False, alert=True)
    assert (await post_row(store, GID, 104))["author_name"] == "Мария Иванова"


async def test_a_history_sweep_of_a_group_keeps_no_names_either(store, settings):
    client = OfflineClient(WIVES, users=(MARIA,))
    watcher = await watched_group(store, client, settings)
    client.history[GID].append(member_message(WIVES, 103, TEXT, MARIA))
    await watcher.sweep()
    row = await post_row(store, GID, 103)
    assert row["author_id"] == MARIA.id and row["author_name"] is None


async def test_a_channel_post_has_no_author(store, settings):
    from tests.telegram.offline import make_channel, make_message
    channel = make_channel()
    client = OfflineClient(channel)
    store_row = await db.save_channel(store, utils.get_peer_id(channel), username=channel.username,
                                      access_hash=channel.access_hash)
    pipeline = Pipeline(store, default_rules(), clock=lambda: NOW)
    watcher = Watcher(client, store, pipeline, "dozor", Budget("dozor", sleep=no_sleep, gaps={}), now=lambda: NOW)
    watcher.watch(store_row)
    watcher.register()
    await client.push_new(make_message(channel, 5, TEXT))
    row = await post_row(store, store_row.id, 5)
    assert row["author_id"] is None and row["author_name"] is None


def test_channels_set_turns_names_on_and_off_from_the_cli(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DOZOR_DB", str(tmp_path / "dozor.db"))

    async def seed():
        async with open_store(tmp_path / "dozor.db") as store:
            await db.save_channel(store, GID, username="soldiers_wives", title="Жёны", access_hash=1)

    asyncio.run(seed())
    assert main(["channels", "set", "@soldiers_wives", "--show-authors"]) == 0
    assert "name the member" in capsys.readouterr().out
    assert main(["channels", "list"]) == 0
    assert "(members named)" in capsys.readouterr().out
    assert main(["channels", "set", "t.me/soldiers_wives", "--hide-authors"]) == 0
    assert '"a member"' in capsys.readouterr().out
    assert main(["channels", "set", "@unknown_group", "--show-authors"]) == 2
    assert "add it with `dozor channels add @unknown_group` first" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # argparse: say which, names on or off
        main(["channels", "set", "@soldiers_wives"])

    async def flag():
        async with open_store(tmp_path / "dozor.db") as store:
            return (await db.get_channel(store, GID)).show_authors

    assert asyncio.run(flag()) is False
