"""Live latency of the two watching modes, measured through the offline Telethon client.

join mode: a hand-built UpdateNewChannelMessage goes through Telethon's own
dispatch (`OfflineClient.push`) into the real Watcher, Pipeline (default rules)
and SQLite store; the clock stops when the pipeline has committed the post and
its outbox row for a subscriber (what the outbox worker sends at once).
polling mode: the real Watcher.poll_due on a fake monotonic clock (1 s ticks,
as `dozor run` checks every few seconds) over one simulated day of a busy
channel (a post every 2 min on average, irregular) and a quiet one (every 2 h);
latency = the poll that found a post minus its posting time.

    .venv/bin/python bench/live_latency_bench.py [--posts 300]
"""
from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout root: tests.telegram.offline

from telethon import utils  # noqa: E402

from bot.pipeline import Pipeline  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from bot.storage import Store  # noqa: E402
from bot.storage import channels as db  # noqa: E402
from bot.storage.subscribers import ensure_local_subscriber  # noqa: E402
from bot.telegram.budget import Budget  # noqa: E402
from bot.telegram.watcher import Watcher  # noqa: E402
from tests.telegram.offline import T0, OfflineClient, make_channel, make_message  # noqa: E402

CHANNEL = make_channel()
CID = utils.get_peer_id(CHANNEL)
TEXT = "В Пскове объявлена мобилизация: повестки вручают прямо на улице"


class TimedPipeline(Pipeline):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.done: list[float] = []

    async def on_post(self, post, *, alert: bool = True) -> bool:
        new = await super().on_post(post, alert=alert)
        self.done.append(time.perf_counter())
        return new


async def join_mode(posts: int) -> list[float]:
    from bot.app.rules import load_live_rules

    with tempfile.TemporaryDirectory() as folder:
        store = await Store.open(Path(folder) / "bench.db")
        settings = load_settings(env={"DOZOR_DATA_DIR": folder}, env_file=None, config_file=None)
        rules = await load_live_rules(store, settings)
        await ensure_local_subscriber(store, T0, 0)
        await db.save_channel(store, CID, username=CHANNEL.username, access_hash=CHANNEL.access_hash)
        client = OfflineClient(CHANNEL)
        pipeline = TimedPipeline(store, rules, lambda: T0 + timedelta(days=1))
        watcher = Watcher(client, store, pipeline, "dozor", Budget("dozor", gaps={}), chunk_wait=0)
        watcher.watch(await db.get_channel(store, CID))
        watcher.register()
        latencies = []
        for msg_id in range(1, posts + 1):
            start = time.perf_counter()
            await client.push_new(make_message(CHANNEL, msg_id, f"{TEXT} #{msg_id}"))
            latencies.append(pipeline.done[-1] - start)
        rows = await store.fetchval("SELECT COUNT(*) FROM outbox")
        await store.close()
        assert rows == posts, rows
        return latencies


async def polling_mode(post_every: float, hours: float = 24, floor: float = 30, ceiling: float = 300) -> list[float]:
    with tempfile.TemporaryDirectory() as folder:
        store = await Store.open(Path(folder) / "bench.db")
        await db.save_channel(store, CID, username=CHANNEL.username, access_hash=CHANNEL.access_hash)
        await db.advance_last_seen(store, CID, 1, None)
        client = OfflineClient(CHANNEL)
        found: dict[int, float] = {}
        clock = [0.0]

        class Recorder:
            async def on_post(self, post, alert=True):
                if post.message_id not in found:
                    found[post.message_id] = clock[0]
                    await store.write(lambda conn: conn.execute(
                        "INSERT INTO posts(channel_id, message_id, date, text, stored_at) VALUES (?, ?, ?, '', '')",
                        (CID, post.message_id, post.date.isoformat())))
                return True

        watcher = Watcher(client, store, Recorder(), "dozor", Budget("dozor", gaps={}), chunk_wait=0,
                          now=lambda: T0 + timedelta(seconds=clock[0]), poll_floor=floor, poll_ceiling=ceiling,
                          recheck_hours=0)
        watcher.watch(await db.get_channel(store, CID))
        posted: dict[int, float] = {}
        rng = random.Random(11)
        next_post, msg_id, tick = rng.uniform(0, post_every), 2, 1.0
        while clock[0] < hours * 3600:
            if clock[0] >= next_post:
                client.post(CHANNEL, msg_id, "пост", date=T0 + timedelta(seconds=clock[0]))
                posted[msg_id], msg_id = clock[0], msg_id + 1
                next_post += post_every * rng.uniform(0.5, 1.5)  # irregular, as real channels post
            await watcher.poll_due(clock[0])
            clock[0] += tick
        await store.close()
        return [found[i] - posted[i] for i in posted if i in found]


def summary(values: list[float], unit: float, label: str) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (f"{label}: n={len(values)} median {statistics.median(values) * unit:.1f} "
            f"p99 {p99 * unit:.1f} max {max(values) * unit:.1f}")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=300)
    args = parser.parse_args()
    print(summary(await join_mode(args.posts), 1000, "join mode, update -> outbox row committed (ms)"))
    print(summary(await polling_mode(120), 1, "polling, busy channel (a post every ~2 min: polled every 60 s) (s)"))
    print(summary(await polling_mode(7200), 1,
                  "polling, quiet channel (a post every ~2 h: polled every 300 s, the ceiling) (s)"))


if __name__ == "__main__":
    asyncio.run(main())
