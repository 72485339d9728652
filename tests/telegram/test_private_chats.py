"""Operators cannot make Dozor watch a private group: public channels and groups are watched by
default; a private group or channel (no username) only after an admin's audited confirmation
(issue 13 item 2). Group members' messages go through the same decision."""
from __future__ import annotations

from telethon import types, utils

from bot.cli import channels as cli
from bot.commands import dispatch
from bot.storage import channels as db
from bot.storage.audit import audit_entries
from bot.telegram.budget import Budget
from bot.telegram.channels import ChannelRef, resolve
from bot.telegram.live import resolve_queued, spread
from bot.telegram.watcher import Watcher
from tests.commands.cmd_helpers import ADMIN, OPERATOR
from tests.commands.conftest import make_ctx, people, settings  # noqa: F401  (fixtures)
from tests.telegram.offline import T0, OfflineClient, RecordingPipeline, make_channel
from tests.telegram.test_telegram_channels import settings_for


def group(bare_id: int, username: str | None) -> types.Channel:
    return types.Channel(id=bare_id, title="Чат", photo=types.ChatPhotoEmpty(), date=T0, megagroup=True,
                         access_hash=77, username=username)


PRIVATE_GROUP = group(1888000222, None)
PGID = utils.get_peer_id(PRIVATE_GROUP)


def budget() -> Budget:
    async def no_sleep(_seconds: float) -> None:
        return None
    return Budget("dozor", sleep=no_sleep, gaps={})


def member_message(chat: types.Channel, msg_id: int, text: str) -> types.Message:
    return types.Message(id=msg_id, peer_id=types.PeerChannel(chat.id), from_id=types.PeerUser(4242),
                         message=text, date=T0, post=False)


async def test_public_channel_and_public_group_are_watched_by_default(store):
    channel, public_group = make_channel(), group(1888000333, "pskov_chat")
    client = OfflineClient(channel, public_group)
    for chat in (channel, public_group):
        row = await resolve(client, store, ChannelRef(channel_id=utils.get_peer_id(chat)), budget())
        assert row.status == "active"


async def test_private_group_added_by_an_operator_is_not_watched_until_an_admin_confirms(store, make_ctx, people):
    await dispatch(make_ctx(OPERATOR), f"/channel add {PGID}")
    await resolve_queued(OfflineClient(PRIVATE_GROUP), store, budget())
    assert (await db.get_channel(store, PGID)).status == "unconfirmed"
    assert (await spread(store, ["dozor"]))["dozor"] == []
    refused = await dispatch(make_ctx(OPERATOR), f"/channel resume {PGID}")
    assert "admin must /channel confirm" in refused.html
    assert "for admins" in (await dispatch(make_ctx(OPERATOR), f"/channel confirm {PGID}")).html
    assert (await db.get_channel(store, PGID)).status == "unconfirmed"

    assert "is confirmed" in (await dispatch(make_ctx(ADMIN), f"/channel confirm {PGID}")).html
    assert (await db.get_channel(store, PGID)).status == "active"
    [entry] = [e for e in await audit_entries(store, object_kind="channel") if e["action"] == "channel.confirm_private"]
    assert entry["actor"] == f"tg:{ADMIN}" and entry["object_id"] == str(PGID)


async def test_members_messages_of_an_unconfirmed_group_never_reach_the_pipeline(store):
    client, pipeline = OfflineClient(PRIVATE_GROUP), RecordingPipeline()
    await resolve(client, store, ChannelRef(channel_id=PGID), budget())
    watcher = Watcher(client, store, pipeline, "dozor", budget(), chunk_wait=0)
    for row in (await spread(store, ["dozor"]))["dozor"]:
        watcher.watch(row)
    watcher.register()
    await client.push_new(member_message(PRIVATE_GROUP, 5, "мобилизация у нас в подъезде"))
    assert pipeline.posts == []


async def test_removed_private_group_added_again_needs_the_confirmation_again(store):
    client = OfflineClient(PRIVATE_GROUP)
    await resolve(client, store, ChannelRef(channel_id=PGID), budget())
    await db.remove_channel(store, str(PGID))
    again = await resolve(client, store, ChannelRef(channel_id=PGID), budget())
    assert again.status == "unconfirmed"


async def test_cli_adds_a_private_group_only_with_confirm_private_and_audits_it(tmp_path, store):
    settings = settings_for(tmp_path, TG_API_ID="1", TG_API_HASH="0" * 32)
    client = OfflineClient(PRIVATE_GROUP)
    [(ok, line)] = await cli.add_channels(settings, store, [ChannelRef(channel_id=PGID)], True,
                                          client_factory=lambda s, name=None: client)
    assert not ok and "--confirm-private" in line
    assert (await db.get_channel(store, PGID)).status == "unconfirmed"
    [(ok, line)] = await cli.add_channels(settings, store, [ChannelRef(channel_id=PGID)], True,
                                          client_factory=lambda s, name=None: client, confirm_private=True)
    assert ok and (await db.get_channel(store, PGID)).status == "active"
    actions = [(e["actor"], e["action"]) for e in await audit_entries(store, object_kind="channel")]
    assert ("cli", "channel.confirm_private") in actions


async def test_cli_confirmation_given_offline_holds_when_the_id_is_resolved(tmp_path, store):
    await cli.add_channels(settings_for(tmp_path), store, [ChannelRef(channel_id=PGID)], False,
                           confirm_private=True)
    await resolve_queued(OfflineClient(PRIVATE_GROUP), store, budget())
    assert (await db.get_channel(store, PGID)).status == "active"
