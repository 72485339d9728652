"""An account taken over from a dead process (bot/app/live.py's lease task puts it in `sweep_now`)
is swept on the next tick, its gap late-marked, and the channel's last sweep recorded."""
from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.storage import channels as db
from bot.storage import leases
from bot.telegram.live import watch_until_stopped
from tests.telegram.offline import T0, OfflineClient, RecordingPipeline
from tests.telegram.test_live_defaults import saved, watcher_for
from tests.telegram.test_telegram_live import CHANNEL, CID


async def test_an_account_taken_over_is_swept_at_once_and_its_gap_marked_late(store):
    row = await saved(store, last_seen=10)
    client, pipeline = OfflineClient(CHANNEL), RecordingPipeline()
    watcher = watcher_for(store, client, pipeline, now=lambda: T0 + timedelta(hours=1))
    watcher.watch(row)
    client.post(CHANNEL, 11, "пока аккаунт был у упавшего процесса")
    sweep_now, stop = {"dozor"}, asyncio.Event()
    loop = asyncio.create_task(watch_until_stopped([watcher], stop, interval=3600, tick=0.001, sweep_now=sweep_now))
    for _ in range(400):
        if pipeline.posts:
            break
        await asyncio.sleep(0.005)
    stop.set()
    await loop
    assert [(p.message_id, p.late) for p in pipeline.posts] == [(11, True)] and sweep_now == set()
    assert (await db.get_channel(store, CID)).last_seen_id == 11
    swept = dict((await leases.shared_status(store, T0))["sweeps"])
    assert swept[CHANNEL.username] is not None
