"""Which channel a user means, resolving it once, and the CLI that adds, lists and removes."""
from __future__ import annotations

import argparse
import asyncio
import os
from datetime import datetime, timezone

import pytest
from telethon import functions, utils

from bot.errors import UsageError
from bot.settings import load_settings
from bot.storage import channels as db
from bot.storage import open_store
from bot.cli import channels as cli
from bot.telegram.budget import Budget
from bot.telegram.channels import ChannelRef, parse_channel_ref, resolve
from bot.telegram.client import make_client, session_path
from bot.telegram.errors import ChannelUnavailable
from bot.storage.audit import audit_entries
from tests.telegram.offline import OfflineClient, make_channel

CHANNEL = make_channel()
CID = utils.get_peer_id(CHANNEL)


def settings_for(tmp_path, **env):
    values = {"DOZOR_DATA_DIR": str(tmp_path), **env}
    return load_settings(env=values, env_file=None, config_file=None)


async def no_sleep(seconds: float) -> None:
    return None


@pytest.mark.parametrize("text", ["@pskovgubernia", "pskovgubernia", "t.me/pskovgubernia",
                                  "https://t.me/s/pskovgubernia", "https://t.me/pskovgubernia/5012"])
def test_every_public_form_names_the_username(text):
    assert parse_channel_ref(text) == ChannelRef(username="pskovgubernia")


def test_marked_id_is_taken_as_is():
    assert parse_channel_ref("-1001234567890") == ChannelRef(channel_id=-1001234567890)


def test_private_post_link_gives_the_marked_channel_id():
    assert parse_channel_ref("https://t.me/c/1234567890/77") == ChannelRef(channel_id=-1001234567890)


def test_invite_link_is_refused_with_a_hint():
    with pytest.raises(UsageError, match="invite link"):
        parse_channel_ref("https://t.me/+AbCdEf123")


def test_nonsense_is_refused():
    with pytest.raises(UsageError):
        parse_channel_ref("not a channel!")


async def test_a_name_is_resolved_once_and_then_served_from_the_database(store):
    client = OfflineClient(CHANNEL)
    budget = Budget("dozor", sleep=no_sleep, gaps={})
    first = await resolve(client, store, ChannelRef(username="PskovGubernia"), budget)
    again = await resolve(client, store, ChannelRef(username="pskovgubernia"), budget)
    assert first == again and (first.id, first.access_hash) == (CID, CHANNEL.access_hash)
    assert len(client.sent(functions.contacts.ResolveUsernameRequest)) == 1


async def test_unknown_name_is_reported_as_not_found(store):
    client = OfflineClient(CHANNEL)
    with pytest.raises(ChannelUnavailable) as caught:
        await resolve(client, store, ChannelRef(username="nosuchchannel"), Budget("dozor", sleep=no_sleep))
    assert caught.value.kind == "not_found"


async def test_known_id_is_looked_up_from_the_session_cache(store):
    client = OfflineClient(CHANNEL)
    row = await resolve(client, store, ChannelRef(channel_id=CID), Budget("dozor", sleep=no_sleep, gaps={}))
    assert (row.username, row.access_hash) == ("pskovgubernia", CHANNEL.access_hash)
    assert client.sent(functions.contacts.ResolveUsernameRequest) == []


async def test_offline_add_queues_a_name_and_keeps_an_id_unresolved(store):
    lines = [await cli.store_for_later(store, ref) for ref in (ChannelRef(username="pskovgubernia"),
                                                                ChannelRef(channel_id=-1009999))]
    assert all(ok for ok, _ in lines) and "queued @pskovgubernia" in lines[0][1] and "unresolved" in lines[1][1]
    assert await db.list_requests(store) == ["pskovgubernia"]
    assert (await db.get_channel(store, -1009999)).status == "unresolved"


async def test_queued_name_is_resolved_and_dequeued_at_live_start(store):
    from bot.telegram.live import resolve_queued

    await db.add_request(store, "pskovgubernia")
    await resolve_queued(OfflineClient(CHANNEL), store, Budget("dozor", sleep=no_sleep, gaps={}))
    assert await db.list_requests(store) == []
    assert (await db.find_by_username(store, "pskovgubernia")).status == "active"


async def test_online_add_resolves_and_audits_as_cli(tmp_path, store):
    settings = settings_for(tmp_path, TG_API_ID="1", TG_API_HASH="0" * 32)
    client = OfflineClient(CHANNEL)
    [(ok, line)] = await cli.add_channels(settings, store, [ChannelRef(username="pskovgubernia")], True,
                                          client_factory=lambda s, name=None: client)
    assert ok and "@pskovgubernia" in line
    actors = await audit_entries(store, object_kind="channel")
    assert [(r["actor"], r["action"]) for r in actors] == [("cli", "channel.add")]


async def test_remove_keeps_the_row_and_stops_watching(store):
    await db.save_channel(store, CID, username="pskovgubernia", access_hash=1)
    [(ok, line)] = await cli.change_status(store, [ChannelRef(username="pskovgubernia")], "remove")
    assert ok and (await db.get_channel(store, CID)).status == "removed"
    assert await db.list_channels(store) == []


async def test_removing_an_unknown_channel_says_so(store):
    [(ok, line)] = await cli.change_status(store, [ChannelRef(username="nobody_here")], "remove")
    assert not ok and "not watched" in line


def test_channels_add_without_credentials_stores_for_later(tmp_path, capsys):
    settings = settings_for(tmp_path)
    code = cli.channels_add_command(argparse.Namespace(refs=["@pskovgubernia", "-1001234567890"], offline=False),
                                    settings)
    assert code == 0
    cli.channels_list_command(argparse.Namespace(), settings)
    out = capsys.readouterr().out
    assert "queued @pskovgubernia" in out and "-1001234567890" in out and "unresolved" in out


def test_channels_list_shows_the_last_post_time_with_its_zone(tmp_path, capsys):
    settings = settings_for(tmp_path, DOZOR_TZ="Europe/Moscow")

    async def seed():
        async with open_store(settings.db_path) as store:
            await db.save_channel(store, CID, username="pskovgubernia", access_hash=1)
            await db.advance_last_seen(store, CID, 5, datetime(2024, 5, 13, 8, 50, tzinfo=timezone.utc))

    asyncio.run(seed())
    cli.channels_list_command(argparse.Namespace(), settings)
    assert "last post 13.05.2024 11:50 MSK" in capsys.readouterr().out


def test_cli_registers_login_and_channel_actions():
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["channels", "remove", "@x_channel"])
    assert args.handler is cli.channels_status_command and args.status_action == "remove"
    assert parser.parse_args(["login"]).handler is cli.login_command


async def test_session_file_is_readable_by_the_owner_only(tmp_path):
    settings = settings_for(tmp_path, TG_API_ID="1", TG_API_HASH="0" * 32)
    make_client(settings)
    path = session_path(settings)
    assert path.exists() and (os.stat(path).st_mode & 0o777) == 0o600


async def test_queued_link_or_id_from_the_bot_is_understood_at_live_start(store):
    from bot.telegram.live import resolve_queued

    await db.add_request(store, "t.me/s/pskovgubernia")
    await db.add_request(store, str(CID))
    await resolve_queued(OfflineClient(CHANNEL), store, Budget("dozor", sleep=no_sleep, gaps={}))
    assert await db.list_requests(store) == []
    assert [row.id for row in await db.list_channels(store)] == [CID]


async def test_a_name_that_does_not_exist_is_looked_up_once_not_every_sweep(store):
    from bot.telegram.live import resolve_queued

    client = OfflineClient(CHANNEL)
    await db.add_request(store, "nosuchchannel")
    for _ in range(3):
        await resolve_queued(client, store, Budget("dozor", sleep=no_sleep, gaps={}))
    assert len(client.sent(functions.contacts.ResolveUsernameRequest)) == 1
    assert "nosuchchannel" in await db.failed_requests(store)


async def test_login_with_a_live_session_names_the_account(tmp_path):
    from bot.telegram.login import login

    settings = settings_for(tmp_path, TG_API_ID="1", TG_API_HASH="0" * 32)
    client = OfflineClient(CHANNEL)
    who = await login(settings, ask=lambda prompt: pytest.fail(f"asked {prompt!r}"),
                      client_factory=lambda s, name=None: client)
    assert who == "Dozor (id 777000111)" and not client.is_connected()


async def test_login_with_a_wrong_code_is_one_clear_line(tmp_path):
    from telethon import errors

    from bot.errors import DozorError
    from bot.telegram.login import login

    settings = settings_for(tmp_path, TG_API_ID="1", TG_API_HASH="0" * 32)
    client = OfflineClient(CHANNEL)
    client.authorized = False
    client.fail(functions.auth.SendCodeRequest, errors.PhoneNumberInvalidError(request=None))
    with pytest.raises(DozorError, match="login failed: PhoneNumberInvalid"):
        await login(settings, phone="+70000000000", client_factory=lambda s, name=None: client)
