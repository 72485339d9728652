"""run_live end to end on offline clients: catch up, live handlers, stop, broken sessions."""
from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from telethon import errors, functions, utils

from bot.errors import SessionInvalid
from bot.models import Post
from bot.settings import load_settings
from bot.storage import channels as db
from bot.storage.posts import insert_post
from bot.telegram.errors import translate
from bot.telegram.live import run_live, spread, watch_until_stopped
from bot.telegram.silence import is_silent
from bot.telegram.watcher import Watcher
from bot.telegram.budget import Budget
from tests.telegram.offline import T0, OfflineClient, RecordingPipeline, make_channel, make_message

CHANNEL = make_channel()
CID = utils.get_peer_id(CHANNEL)


def live_settings(tmp_path, **env):
    values = {"DOZOR_DATA_DIR": str(tmp_path), "TG_API_ID": "1", "TG_API_HASH": "0" * 32, **env}
    return load_settings(env=values, env_file=None, config_file=None)


async def no_sleep(seconds: float) -> None:
    return None


async def start_live(tmp_path, store, client, pipeline, **env):
    stop = asyncio.Event()
    task = asyncio.create_task(run_live(live_settings(tmp_path, **env), store, pipeline, stop,
                                        client_factory=lambda s, name=None: client, sleep=no_sleep,
                                        tick=0.01, chunk_wait=0))
    for _ in range(200):  # until handlers are registered (the catch-up is done)
        if client.list_event_handlers() or task.done():
            break
        await asyncio.sleep(0.005)
    return stop, task


async def test_live_start_catches_up_then_takes_live_posts_until_stopped(tmp_path, store):
    await db.save_channel(store, CID, username="pskovgubernia", access_hash=CHANNEL.access_hash)
    await db.advance_last_seen(store, CID, 10, None)
    client, pipeline = OfflineClient(CHANNEL), RecordingPipeline()
    client.post(CHANNEL, 11, "пока лежали")
    stop, task = await start_live(tmp_path, store, client, pipeline)
    await client.push_new(make_message(CHANNEL, 12, "живой пост"))
    stop.set()
    await asyncio.wait_for(task, 5)
    assert pipeline.ids() == [11, 12] and [p.late for p in pipeline.posts] == [True, False]
    assert not client.is_connected()


async def test_live_start_joins_channels_when_configured(tmp_path, store):
    await db.save_channel(store, CID, username="pskovgubernia", access_hash=CHANNEL.access_hash)
    client = OfflineClient(CHANNEL)
    stop, task = await start_live(tmp_path, store, client, RecordingPipeline(), DOZOR_JOIN_CHANNELS="true")
    stop.set()
    await asyncio.wait_for(task, 5)
    assert len(client.sent(functions.channels.JoinChannelRequest)) == 1
    assert (await db.get_channel(store, CID)).joined


async def test_session_not_logged_in_stops_with_a_login_hint(tmp_path, store):
    client = OfflineClient(CHANNEL)
    client.authorized = False
    with pytest.raises(SessionInvalid, match="dozor login"):
        await run_live(live_settings(tmp_path), store, RecordingPipeline(), asyncio.Event(),
                       client_factory=lambda s, name=None: client)


async def test_revoked_session_during_catch_up_stops_cleanly(tmp_path, store):
    await db.save_channel(store, CID, username="pskovgubernia", access_hash=CHANNEL.access_hash)
    await db.advance_last_seen(store, CID, 10, None)
    client = OfflineClient(CHANNEL)
    client.fail(functions.messages.GetHistoryRequest, errors.AuthKeyUnregisteredError(request=None))
    with pytest.raises(SessionInvalid, match="dozor login"):
        await run_live(live_settings(tmp_path), store, RecordingPipeline(), asyncio.Event(),
                       client_factory=lambda s, name=None: client, sleep=no_sleep, chunk_wait=0)
    assert not client.is_connected()


def test_duplicated_auth_key_means_log_in_again():
    error = translate(errors.AuthKeyDuplicatedError(request=None))
    assert isinstance(error, SessionInvalid) and "dozor login" in str(error)


async def test_update_loop_death_from_a_revoked_session_stops_the_watch_loop(tmp_path, store):
    client = OfflineClient(CHANNEL)
    watcher = Watcher(client, store, RecordingPipeline(), "dozor", Budget("dozor", sleep=no_sleep), chunk_wait=0)
    client._updates_error = errors.SessionRevokedError(request=None)  # what Telethon leaves when it gives up
    with pytest.raises(SessionInvalid):
        await watch_until_stopped([watcher], asyncio.Event(), interval=300, tick=0.001)


async def test_reconnection_triggers_a_sweep(tmp_path, store):
    await db.save_channel(store, CID, username="pskovgubernia", access_hash=CHANNEL.access_hash)
    await db.advance_last_seen(store, CID, 10, None)
    client, pipeline = OfflineClient(CHANNEL), RecordingPipeline()
    client.online = True
    watcher = Watcher(client, store, pipeline, "dozor", Budget("dozor", sleep=no_sleep, gaps={}), chunk_wait=0)
    watcher.watch(await db.get_channel(store, CID))
    stop = asyncio.Event()
    loop_task = asyncio.create_task(watch_until_stopped([watcher], stop, interval=3600, tick=0.001))
    client._sender._transport_connected = lambda: False  # the connection drops...
    await asyncio.sleep(0.02)
    client.post(CHANNEL, 11, "во время обрыва")
    client._sender._transport_connected = lambda: True  # ...and comes back
    for _ in range(100):
        if pipeline.posts:
            break
        await asyncio.sleep(0.005)
    stop.set()
    await loop_task
    assert pipeline.ids() == [11]


async def test_channels_are_spread_across_accounts(store):
    for n in range(4):
        await db.save_channel(store, -1001000 - n, access_hash=n + 1)
    load = await spread(store, ["dozor", "second"])
    assert sorted(len(rows) for rows in load.values()) == [2, 2]


def test_silence_far_beyond_the_usual_rhythm_is_flagged():
    dates = [T0 + timedelta(hours=h) for h in range(10)]  # hourly posts
    assert is_silent(dates, dates[-1] + timedelta(hours=9), factor=8)
    assert not is_silent(dates, dates[-1] + timedelta(hours=5), factor=8)


async def test_silent_channel_is_warned_once(store):
    await db.save_channel(store, CID, username="pskovgubernia", access_hash=1)
    for hour in range(10):
        post = Post(channel_id=CID, message_id=hour + 1, text="", date=T0 + timedelta(hours=hour))
        await store.write(lambda conn, post=post: insert_post(conn, post, T0))
    later = T0 + timedelta(days=3)
    watcher = Watcher(OfflineClient(CHANNEL), store, RecordingPipeline(), "dozor", Budget("dozor"), now=lambda: later)
    watcher.watch(await db.get_channel(store, CID))
    assert await watcher.check_silence() == [CID]
    assert await watcher.check_silence() == []
    [warning] = await db.pending_warnings(store)
    assert (warning.kind, warning.label) == ("silent", "@pskovgubernia")
    await db.mark_warnings_sent(store, [CID], later)
    assert await db.pending_warnings(store) == []


async def test_channel_added_while_running_is_picked_up_and_paused_one_dropped(store):
    from bot.telegram.live import refresh

    other = make_channel(bare_id=4242, username="other", access_hash=2)
    await db.save_channel(store, CID, username="pskovgubernia", access_hash=CHANNEL.access_hash)
    client = OfflineClient(CHANNEL, other)
    watcher = Watcher(client, store, RecordingPipeline(), "dozor", Budget("dozor", sleep=no_sleep, gaps={}))
    watcher.watch(await db.get_channel(store, CID))
    await db.add_request(store, "other")  # what `dozor channels add` leaves for a running watcher
    await db.set_status(store, CID, "paused", actor="cli")
    await refresh([watcher], store)
    assert list(watcher.channels) == [utils.get_peer_id(other)]


def test_cli_sees_a_running_watcher_through_its_marker(tmp_path):
    import os

    from bot.telegram.live import live_is_running, running_marker

    settings = live_settings(tmp_path)
    assert not live_is_running(settings)
    running_marker(settings).write_text(str(os.getpid()))
    assert live_is_running(settings)


async def test_unreachable_telegram_is_one_clear_error(tmp_path, store):
    from bot.errors import TelegramUnavailable

    client = OfflineClient(CHANNEL)

    async def cut_off():
        raise asyncio.IncompleteReadError(b"", 100)

    client.connect = cut_off
    with pytest.raises(TelegramUnavailable, match="cannot reach Telegram"):
        await run_live(live_settings(tmp_path), store, RecordingPipeline(), asyncio.Event(),
                       client_factory=lambda s, name=None: client)


async def test_lost_connection_pauses_the_sweep_without_failing(store):
    await db.save_channel(store, CID, username="pskovgubernia", access_hash=CHANNEL.access_hash)
    await db.advance_last_seen(store, CID, 10, None)
    client = OfflineClient(CHANNEL)
    client.fail(functions.messages.GetHistoryRequest, ConnectionError("Cannot send requests while disconnected"))
    watcher = Watcher(client, store, RecordingPipeline(), "dozor", Budget("dozor", sleep=no_sleep, gaps={}),
                      chunk_wait=0)
    watcher.watch(await db.get_channel(store, CID))
    assert await watcher.sweep() == 0
    assert CID in watcher.channels


async def test_refused_join_past_500_channels_warns_and_keeps_polling(tmp_path, store):
    from bot.telegram.live import join_missing

    await db.save_channel(store, CID, username="pskovgubernia", access_hash=CHANNEL.access_hash)
    client = OfflineClient(CHANNEL)
    client.fail(functions.channels.JoinChannelRequest, errors.ChannelsTooMuchError(request=None))
    watcher = Watcher(client, store, RecordingPipeline(), "dozor", Budget("dozor", sleep=no_sleep, gaps={}))
    row = await db.get_channel(store, CID)
    watcher.watch(row)
    await join_missing(watcher, [row])
    assert CID in watcher.channels and (await db.get_channel(store, CID)).status == "active"
    assert [w.kind for w in await db.pending_warnings(store)] == ["too_many"]
