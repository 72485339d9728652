"""Issue 11, the watcher side: joined by default, honest polling, re-reads, outages, per-account hashes."""
from __future__ import annotations

import argparse
import asyncio
import os
from datetime import timedelta

import pytest
from telethon import errors, functions, utils

from bot.storage import accounts as access
from bot.storage import channels as db
from bot.storage.posts import insert_post
from bot.cli import channels as cli
from bot.telegram.budget import Budget
from bot.telegram.client import make_client
from bot.telegram.convert import message_to_post
from bot.telegram.errors import ChannelUnavailable, translate
from bot.telegram.live import join_missing, run_live, running_marker, watch_until_stopped
from bot.telegram.polling import poll_interval
from bot.telegram.watcher import Watcher
from tests.telegram.offline import T0, OfflineClient, RecordingPipeline, make_channel, make_message
from tests.telegram.test_telegram_live import CHANNEL, CID, live_settings, no_sleep, start_live


def watcher_for(store, client, pipeline=None, now=lambda: T0 + timedelta(days=1), **options) -> Watcher:
    return Watcher(client, store, pipeline or RecordingPipeline(), options.pop("account", "dozor"),
                   Budget("dozor", sleep=no_sleep, gaps={}), chunk_wait=0, now=now, **options)


async def saved(store, last_seen: int = 0):
    await db.save_channel(store, CID, username=CHANNEL.username, title=CHANNEL.title, access_hash=CHANNEL.access_hash)
    if last_seen:
        await db.advance_last_seen(store, CID, last_seen, None)
    return await db.get_channel(store, CID)


# item 2: joined by default; polling adapts; "late" means found well after posting
async def test_channels_are_joined_by_default(tmp_path, store):
    await saved(store)
    client = OfflineClient(CHANNEL)
    stop, task = await start_live(tmp_path, store, client, RecordingPipeline())
    stop.set()
    await asyncio.wait_for(task, 5)
    assert len(client.sent(functions.channels.JoinChannelRequest)) == 1


def test_busy_channels_are_polled_more_often_within_floor_ceiling_and_budget():
    every = lambda seconds: [T0 + timedelta(seconds=seconds * i) for i in range(10)]  # noqa: E731
    assert poll_interval(every(120), floor=30, ceiling=300) == 60
    assert poll_interval(every(10), floor=30, ceiling=300) == 30
    assert poll_interval(every(3600), floor=30, ceiling=300) == 300
    assert poll_interval([], floor=30, ceiling=300) == 300
    assert poll_interval(every(10), floor=30, ceiling=300, polled=200, request_gap=0.5) == 100


async def test_polled_channel_is_swept_on_its_own_schedule(store):
    row = await saved(store, last_seen=10)
    client, pipeline = OfflineClient(CHANNEL), RecordingPipeline()
    watcher = watcher_for(store, client, pipeline, poll_floor=30, poll_ceiling=300)
    watcher.watch(row)
    client.post(CHANNEL, 11, "первый")
    await watcher.poll_due(0.0)
    client.post(CHANNEL, 12, "второй")
    await watcher.poll_due(100.0)  # not due yet: one stored post, so the ceiling (300 s)
    assert pipeline.ids() == [11]
    await watcher.poll_due(301.0)
    assert pipeline.ids() == [11, 12]


async def test_post_found_soon_after_posting_is_not_late(store):
    row = await saved(store, last_seen=10)
    client, pipeline = OfflineClient(CHANNEL), RecordingPipeline()
    posted = make_message(CHANNEL, 11).date
    watcher = watcher_for(store, client, pipeline, now=lambda: posted + timedelta(seconds=60), late_after=120)
    watcher.watch(row)
    client.post(CHANNEL, 11, "свежий")
    client.post(CHANNEL, 9, "")  # older ids are not read again
    await watcher.sweep()
    watcher.now = lambda: posted + timedelta(seconds=600)
    client.post(CHANNEL, 12, "старый")  # posted at minute 12, found 9 minutes later
    await watcher.sweep()
    assert [(p.message_id, p.late) for p in pipeline.posts] == [(11, False), (12, True)]


# item 3: sweeps re-read the recent window
async def test_sweep_sees_edits_and_deletions_made_while_down(store):
    row = await saved(store, last_seen=12)
    client, pipeline = OfflineClient(CHANNEL), RecordingPipeline()
    for msg_id in (10, 11, 12):
        message = client.post(CHANNEL, msg_id, f"пост {msg_id}")
        await store.write(lambda conn, m=message: insert_post(conn, message_to_post(m, CHANNEL.username), T0))
    client.edit(CHANNEL, 11, "пост 11, исправлен", edit_date=T0 + timedelta(hours=1))
    client.delete(CHANNEL, 12)
    watcher = watcher_for(store, client, pipeline, now=lambda: T0 + timedelta(hours=2))
    watcher.watch(row)
    await watcher.sweep(recheck=True)
    assert [(p.message_id, p.text) for p in pipeline.edits] == [(11, "пост 11, исправлен")]
    assert [d.message_ids for d in pipeline.deletions] == [(12,)]


# item 4: outages never end the run
def test_clients_reconnect_forever(tmp_path):
    client = make_client(live_settings(tmp_path))
    assert client._connection_retries == -1 and client._auto_reconnect


async def test_outage_is_survived_swept_after_and_told_to_admins(store):
    row = await saved(store, last_seen=10)
    client, pipeline = OfflineClient(CHANNEL), RecordingPipeline()
    wall = [T0]
    mono = [0.0]
    watcher = watcher_for(store, client, pipeline, now=lambda: wall[0])
    watcher.watch(row)
    client.connect_errors.extend([OSError("network is unreachable")] * 2)
    stop = asyncio.Event()
    loop = asyncio.create_task(watch_until_stopped([watcher], stop, interval=3600, tick=0.001,
                                                   clock=lambda: mono[0], offline_notice_after=300))
    await asyncio.sleep(0.02)  # offline: the first reconnection fails
    client.post(CHANNEL, 11, "во время обрыва")
    wall[0], mono[0] = T0 + timedelta(seconds=400), 10.0
    for _ in range(200):  # still offline after 400 s: the admins are told (waited for, not slept: a busy CI)
        if await access.pending_account_notices(store):
            break
        await asyncio.sleep(0.005)
    assert [n.kind for n in await access.pending_account_notices(store)] == ["offline"]
    wall[0], mono[0] = T0 + timedelta(seconds=500), 30.0
    for _ in range(200):
        if pipeline.posts:
            break
        await asyncio.sleep(0.005)
    assert not loop.done()
    stop.set()
    await loop
    assert pipeline.ids() == [11]
    assert [n.kind for n in await access.pending_account_notices(store)] == ["offline", "back"]


# item 7: access hashes per account
async def test_second_account_uses_its_own_access_hash(tmp_path, store):
    await saved(store, last_seen=10)
    await db.assign_account(store, CID, "second")
    first, second = OfflineClient(CHANNEL), OfflineClient(make_channel(access_hash=777))
    second.check_hashes = True
    second.post(CHANNEL, 11, "пост")
    clients = {"dozor": first, "second": second}
    pipeline = RecordingPipeline()
    stop = asyncio.Event()
    task = asyncio.create_task(run_live(live_settings(tmp_path, DOZOR_ACCOUNTS="second"), store, pipeline, stop,
                                        client_factory=lambda s, name=None: clients[name or "dozor"],
                                        sleep=no_sleep, tick=0.01, chunk_wait=0))
    for _ in range(200):
        if second.list_event_handlers() or task.done():
            break
        await asyncio.sleep(0.005)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert pipeline.ids() == [11] and (await db.get_channel(store, CID)).status == "active"
    assert second.sent(functions.channels.JoinChannelRequest)[0].channel.access_hash == 777
    assert await access.access_for(store, "second", CID) == (True, 777, None)


async def test_stale_access_hash_is_resolved_again_by_name(store):
    await db.save_channel(store, CID, username=CHANNEL.username, access_hash=1)  # stale
    await db.advance_last_seen(store, CID, 10, None)
    client, pipeline = OfflineClient(CHANNEL), RecordingPipeline()
    client.check_hashes = True
    client.post(CHANNEL, 11, "пост")
    watcher = watcher_for(store, client, pipeline)
    watcher.watch(await db.get_channel(store, CID))
    await watcher.sweep()
    await watcher.sweep()
    assert pipeline.ids() == [11] and len(client.sent(functions.contacts.ResolveUsernameRequest)) == 1
    assert (await db.get_channel(store, CID)).access_hash == CHANNEL.access_hash


async def test_channel_one_account_cannot_read_goes_to_another(store):
    row = await saved(store, last_seen=10)
    client = OfflineClient(CHANNEL)
    client.fail(functions.messages.GetHistoryRequest, errors.ChannelPrivateError(request=None))
    watcher = watcher_for(store, client, accounts=("dozor", "second"))
    watcher.watch(row)
    await watcher.sweep()
    after = await db.get_channel(store, CID)
    assert (after.status, after.account) == ("active", "second") and CID not in watcher.channels
    watcher2 = watcher_for(store, OfflineClient(CHANNEL), account="second", accounts=("dozor", "second"))
    watcher2.fail = None
    client2 = watcher2.client
    client2.fail(functions.messages.GetHistoryRequest, errors.ChannelPrivateError(request=None))
    watcher2.watch(after)
    await watcher2.sweep()
    assert (await db.get_channel(store, CID)).status == "private"  # no account can read it


async def test_resumed_channel_may_be_tried_again_by_every_account(store):
    await saved(store)
    await access.save_access(store, "dozor", CID, None, T0, "private")
    await db.set_status(store, CID, "private")
    await db.set_status(store, CID, "active", actor="cli")  # `dozor channels resume`
    assert await access.accounts_refused(store, CID) == set()


async def test_refresh_while_offline_waits_for_the_connection(store):
    await saved(store)
    client = OfflineClient(CHANNEL)
    await client.connect()
    await db.add_request(store, "other")
    client.fail(functions.contacts.ResolveUsernameRequest, ConnectionError("disconnected"))
    watcher = watcher_for(store, client)
    stop = asyncio.Event()
    loop = asyncio.create_task(watch_until_stopped([watcher], stop, interval=0, tick=0.001, store=store))
    await asyncio.sleep(0.03)
    assert not loop.done()
    stop.set()
    await loop


async def test_channels_refresh_resolves_again_and_reactivates(tmp_path, store):
    await db.save_channel(store, CID, username=CHANNEL.username, access_hash=1)
    await db.set_status(store, CID, "unavailable")
    client = OfflineClient(CHANNEL)
    lines = await cli.refresh_channels(live_settings(tmp_path), store, [], "dozor",
                                       client_factory=lambda s, name=None: client)
    assert lines[0][0] and "refreshed @pskovgubernia" in lines[0][1]
    row = await db.get_channel(store, CID)
    assert (row.status, row.access_hash) == ("active", CHANNEL.access_hash)


# item 9: one channel's join failing never aborts the start
async def test_unexpected_join_error_is_logged_and_retried_and_the_rest_watched(store, caplog):
    other = make_channel(bare_id=4242, username="other", access_hash=2)
    row = await saved(store)
    await db.save_channel(store, utils.get_peer_id(other), username="other", access_hash=2)
    client = OfflineClient(CHANNEL, other)
    client.fail_on_call(functions.channels.JoinChannelRequest, 1, RuntimeError("surprise"))
    watcher = watcher_for(store, client)
    rows = [row, await db.get_channel(store, utils.get_peer_id(other))]
    for r in rows:
        watcher.watch(r)
    await join_missing(watcher, rows)
    assert "@pskovgubernia" in caplog.text and len(watcher.channels) == 2
    assert [r.joined for r in watcher.channels.values()] == [False, True]
    await join_missing(watcher, list(watcher.channels.values()))  # the next refresh retries it
    assert all(r.joined for r in watcher.channels.values())


# item 10: a failed gap sweep never drops the live post
async def test_failed_gap_sweep_keeps_the_live_post_and_the_hole(store, caplog):
    row = await saved(store, last_seen=9)
    client, pipeline = OfflineClient(CHANNEL), RecordingPipeline()
    client.fail(functions.messages.GetHistoryRequest, errors.PeerIdInvalidError(request=None))
    watcher = watcher_for(store, client, pipeline)
    watcher.watch(row)
    watcher.register()
    await client.push_new(make_message(CHANNEL, 13, "живой"))
    assert pipeline.ids() == [13] and (await db.get_channel(store, CID)).last_seen_id == 9
    assert "Traceback" not in caplog.text


def test_peer_id_invalid_is_translated():
    error = translate(errors.PeerIdInvalidError(request=None), "@x", CID)
    assert isinstance(error, ChannelUnavailable) and error.kind == "invalid"


# item 14: one true line when `dozor run` is running
def test_channels_add_while_running_says_when_it_is_picked_up(tmp_path, capsys):
    settings = live_settings(tmp_path)
    (tmp_path / "dozor.session").write_text("")
    running_marker(settings).write_text(str(os.getpid()))
    code = cli.channels_add_command(argparse.Namespace(refs=["@pskovgubernia"], offline=False), settings)
    out = capsys.readouterr().out.strip().splitlines()
    assert code == 0 and out == ["queued @pskovgubernia: it is resolved by the running `dozor run` within 300 s"]


if __name__ == "__main__":  # pragma: no cover
    pytest.main([__file__])
