"""bot.storage.channels: the cache of resolved channels, last seen ids and operator warnings."""
from __future__ import annotations

from datetime import datetime, timezone

from bot.models import Post
from bot.storage import channels as db
from bot.storage.posts import ensure_channel
from bot.storage.audit import audit_entries

CID = -1001234567890
NOW = datetime(2024, 5, 2, 12, 0, tzinfo=timezone.utc)


async def test_last_seen_id_never_goes_back(store):
    await db.save_channel(store, CID, username="pskovgubernia", access_hash=1)
    await db.advance_last_seen(store, CID, 20, NOW)
    await db.advance_last_seen(store, CID, 15, NOW)
    assert (await db.get_channel(store, CID)).last_seen_id == 20


async def test_name_lookup_ignores_case_and_at_sign(store):
    await db.save_channel(store, CID, username="PskovGubernia", access_hash=1)
    assert (await db.find_by_username(store, "@pskovgubernia")).id == CID


async def test_a_username_moves_to_the_channel_that_holds_it_now(store):
    await db.save_channel(store, -1001, username="pskov", access_hash=1)
    await db.save_channel(store, -1002, username="pskov", access_hash=2)
    assert (await db.find_by_username(store, "pskov")).id == -1002
    assert (await db.get_channel(store, -1001)).username is None


async def test_channel_seen_only_in_a_replay_becomes_watched_when_added(store):
    replayed = Post(channel_id=CID, message_id=1, text="", date=datetime(2024, 5, 1, tzinfo=timezone.utc),
                    channel="pskovgubernia")
    await store.write(lambda conn: ensure_channel(conn, replayed, replayed.date, status="replay"))
    assert await db.list_channels(store) == []
    row = await db.save_channel(store, CID, username="pskovgubernia", access_hash=7)
    assert (row.status, row.access_hash) == ("active", 7)


async def test_warning_of_one_kind_is_recorded_once_until_sent(store):
    await db.save_channel(store, CID, username="pskovgubernia", access_hash=1)
    assert await db.warn_once(store, CID, "private", NOW)
    assert not await db.warn_once(store, CID, "private", NOW)
    [warning] = await db.pending_warnings(store)
    assert (warning.channel_id, warning.kind, warning.at) == (CID, "private", NOW)


async def test_a_new_post_ends_a_silence_warning(store):
    await db.save_channel(store, CID, username="pskovgubernia", access_hash=1)
    await db.warn_once(store, CID, "silent", NOW)
    await db.advance_last_seen(store, CID, 5, NOW)
    assert await db.pending_warnings(store) == []
    assert await db.warn_once(store, CID, "silent", NOW)


async def test_removing_and_adding_back_is_audited(store):
    await db.save_channel(store, CID, username="pskovgubernia", access_hash=1, actor="cli")
    await db.remove_channel(store, "@pskovgubernia", actor="cli")
    await db.save_channel(store, CID, actor="cli")
    rows = await audit_entries(store, object_id=str(CID))
    assert [(r["actor"], r["action"]) for r in rows] == [("cli", "channel.add"), ("cli", "channel.remove"), ("cli", "channel.add")]
    assert (await db.get_channel(store, CID)).status == "active"
