"""Webhook delivery: throughput and latency to 10 webhooks, and whether a slow target delays Telegram.

Everything as `dozor run` wires it: the real Pipeline (word rules of
tests.factories, every post matches) commits each post with its outbox rows;
the real DeliveryLanes run live beside it (a TargetLane per webhook: real
TargetAlertSink, real aiohttp behind the per-target rate limit, default
DOZOR_WEBHOOK_RATE=100). The webhooks are paths of one HTTP/1.1 server on
127.0.0.1 (tests/servers/http_receiver.py) in a separate process, so the
receiver does not share Dozor's event loop. Latency = the request reaching the
server minus the moment the pipeline committed the post (one clock: time.time()).

1. fan-out: posts/s for `--seconds`, each to all 10 webhooks (every post its own story)
   (rate x 10 alerts/s); p50/p99/max latency and delivered/s. Run once at
   10 posts/s (100 alerts/s) and once at 100 posts/s (1,000 alerts/s).
2. slow target: 3 Telegram chats (a fake bot, 10 ms per send, Telegram's rate
   limits raised so they do not dominate) get 10 posts/s for `--seconds`; their
   latency with no webhook, with a webhook that takes 2 s per request (lanes,
   as shipped), and for contrast with that webhook in one shared worker (the
   outbox worker before lanes).

    .venv/bin/python bench/webhook_bench.py [--seconds 10] [--rates 10,100]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.delivery.lanes import DeliveryLanes, TargetLane  # noqa: E402
from bot.delivery.ratelimit import RateLimiter  # noqa: E402
from bot.delivery.senders import LimitedSender  # noqa: E402
from bot.delivery.target_sink import TargetAlertSink, target_senders  # noqa: E402
from bot.delivery.telegram_sink import TelegramAlertSink  # noqa: E402
from bot.delivery.worker import OutboxWorker  # noqa: E402
from bot.models import TARGET_KINDS, TELEGRAM_KINDS  # noqa: E402
from bot.pipeline import Pipeline  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from bot.storage import Store  # noqa: E402
from tests.delivery.target_helpers import MATCHING, add_webhook  # noqa: E402
from tests.factories import add_subscriber, default_rules, make_post  # noqa: E402
from tests.servers.http_receiver import HttpReceiver, Reply  # noqa: E402

WEBHOOKS = 10
TELEGRAM_CHATS = (1001, 1002, 1003)
FAKE_TELEGRAM_SEND = 0.010


def serve(port_out, commands, slow_paths: list[str]) -> None:
    """The receiver process: serve until told to stop, then send back (path, message id, arrival time)."""

    async def main() -> None:
        async with HttpReceiver() as hooks:
            for path in slow_paths:
                hooks.always(path, Reply(200, delay=2.0))
            port_out.send(hooks.port)
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, commands.recv)
            port_out.send([(r.path, json.loads(r.body)["post"]["message_id"], r.at) for r in hooks.requests])

    asyncio.run(main())


class Receiver:
    def __init__(self, slow_paths: list[str] = ()):
        self.parent, child = multiprocessing.Pipe()
        self.commands, self._commands_child = multiprocessing.Pipe()
        self.process = multiprocessing.Process(target=serve, args=(child, self._commands_child, list(slow_paths)))

    def __enter__(self) -> "Receiver":
        self.process.start()
        self.port = self.parent.recv()
        return self

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def collect(self) -> list[tuple[str, int, float]]:
        self.commands.send("stop")
        return self.parent.recv()

    def __exit__(self, *exc) -> None:
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.terminate()


class FakeTelegram:
    """A bot that takes FAKE_TELEGRAM_SEND per message; notes when each (chat, post) went out."""

    def __init__(self) -> None:
        self.sent: dict[tuple[int, int], float] = {}
        self._ids = 0

    async def send(self, message) -> int:
        await asyncio.sleep(FAKE_TELEGRAM_SEND)
        self._ids += 1
        post_id = int(message.html.split("(bench ")[1].split(")")[0]) if "(bench " in message.html else -1
        self.sent.setdefault((message.chat_id, post_id), time.time())
        return self._ids


WORDS = ("район", "город", "военкомат", "завод", "школа", "собрание", "новость", "сообщение", "жители", "власти",
         "область", "неделя", "утро", "вечер", "список", "адрес", "улица", "повод", "вопрос", "ответ")


def post_text(message_id: int) -> str:
    """A matching post whose other words differ from post to post (each its own story, as most are)."""
    rng = random.Random(message_id)
    filler = " ".join(rng.choice(WORDS) + str(rng.randrange(1000)) for _ in range(30))
    return f"{MATCHING} (bench {message_id}). {filler}"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def summary(latencies: list[float]) -> str:
    ms = [x * 1000 for x in latencies]
    return (f"p50 {percentile(ms, 0.5):.0f} ms, p99 {percentile(ms, 0.99):.0f} ms, max {max(ms):.0f} ms, "
            f"mean {statistics.mean(ms):.0f} ms")


async def feed(pipeline: Pipeline, rate: float, seconds: float) -> dict[int, float]:
    """Posts at `rate`/s for `seconds`, on schedule; message id -> commit time."""
    committed, start = {}, time.monotonic()
    for i in range(int(rate * seconds)):
        due = start + i / rate
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        message_id = 10_000 + i
        await pipeline.on_post(make_post(message_id=message_id, text=post_text(message_id), channel=f"bench{i % 50}"))
        committed[message_id] = time.time()
    return committed


async def wait_drained(store: Store, limit: float) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if not await store.fetchval("SELECT count(*) FROM outbox WHERE status = 'pending'"):
            return
        await asyncio.sleep(0.05)


def lanes_for(store, settings, telegram: FakeTelegram | None, shared: bool):
    """DeliveryLanes as shipped, or (`shared`) one OutboxWorker for Telegram and targets alike."""
    senders, close = target_senders(settings)
    targets = TargetAlertSink(store, senders, settings)
    tg_sink = None
    if telegram is not None:
        tg_sink = TelegramAlertSink(store, LimitedSender(telegram, RateLimiter.from_settings(settings)), settings)
    if shared:
        def sink_for(sub):
            return targets if sub.kind in TARGET_KINDS else tg_sink
        return DeliveryLanes(store, OutboxWorker(store, sink_for, _now, settings.max_attempts), lambda _: None,
                             on_close=close), True
    main = OutboxWorker(store, lambda _s: tg_sink, _now, settings.max_attempts, kinds=TELEGRAM_KINDS) if tg_sink else None

    def make_lane(subscriber_id: int) -> TargetLane:
        return TargetLane(store, lambda _s: targets, _now, settings.max_attempts, subscriber_ids=(subscriber_id,))
    return DeliveryLanes(store, main, make_lane, on_close=close), False


def _now():
    from bot.clock import utc_now
    return utc_now()


async def scenario(rate: float, seconds: float, webhooks: int, slow: bool, telegram: bool, shared: bool = False):
    """One run on a fresh database; returns (webhook latencies, telegram latencies, delivered/s, wall)."""
    env = {"DOZOR_RATE_PER_CHAT": "1000", "DOZOR_RATE_GLOBAL": "10000", "DOZOR_RATE_PER_GROUP": "100000"}
    settings = load_settings(env=env, env_file=None, config_file=None)
    slow_paths = ["/slow"] if slow else []
    with tempfile.TemporaryDirectory() as tmp, Receiver(slow_paths) as receiver:
        store = await Store.open(Path(tmp) / "dozor.db")
        for n in range(webhooks):
            await add_webhook(store, receiver.url(f"/hook{n}"))
        if slow:
            await add_webhook(store, receiver.url("/slow"))
        fake = FakeTelegram() if telegram else None
        for chat in TELEGRAM_CHATS if telegram else ():
            await add_subscriber(store, chat)
        lanes, shared_worker = lanes_for(store, settings, fake, shared)
        if shared_worker:
            lanes.make_lane = None
            lanes.refresh = _no_lanes
        pipeline = Pipeline(store, default_rules(), notify=lanes.notify)
        stop = asyncio.Event()
        runner = asyncio.create_task(lanes.run(stop))
        started, cpu_start = time.time(), time.process_time()
        committed = await feed(pipeline, rate, seconds)
        if slow:  # the slow target never catches up; wait for the others only
            await asyncio.sleep(3.0)
        else:
            await wait_drained(store, 120)
        stop.set()
        await asyncio.wait_for(runner, 30)  # each lane ends after its request in flight
        cpu = time.process_time() - cpu_start  # Dozor's process, all its threads (aiosqlite's too)
        requests = receiver.collect()
        await store.close()
    fast = [(p, m, t) for p, m, t in requests if p != "/slow"]
    hook_latency = [t - committed[m] for _p, m, t in fast if m in committed]
    last = max((t for _p, _m, t in fast), default=started)
    delivered_per_s = len(fast) / max(1e-9, last - started)
    tg_latency = [t - committed[m] for (_chat, m), t in (fake.sent.items() if fake else ()) if m in committed]
    return hook_latency, tg_latency, delivered_per_s, len(fast), cpu


async def _no_lanes() -> list[int]:
    return []


async def main(seconds: float, rates: list[int]) -> None:
    print(f"webhook bench: {WEBHOOKS} webhooks on one local HTTP server (separate process), {seconds:g} s per run; "
          f"load average before: {os.getloadavg()[0]:.1f}")
    for rate in rates:
        lat, _tg, per_s, count, cpu = await scenario(rate, seconds, WEBHOOKS, slow=False, telegram=False)
        print(f"fan-out {rate} posts/s x {WEBHOOKS} webhooks = {rate * WEBHOOKS} alerts/s offered: "
              f"{count} delivered, {per_s:.0f} delivered/s; latency {summary(lat)}; "
              f"CPU {cpu * 1000 / max(1, count):.2f} ms per delivered alert (pipeline included)")
    print(f"slow target: {len(TELEGRAM_CHATS)} Telegram chats (fake bot, {FAKE_TELEGRAM_SEND * 1000:.0f} ms a send), "
          "10 posts/s")
    for label, slow, shared in (("no webhook", False, False), ("+ a 2 s webhook, lanes (as shipped)", True, False),
                                ("+ a 2 s webhook, one shared worker (before)", True, True)):
        _lat, tg, _per_s, _count, _cpu = await scenario(10, seconds, 0, slow=slow, telegram=True, shared=shared)
        print(f"  {label}: Telegram latency over {len(tg)} sends: {summary(tg) if tg else 'nothing sent'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each run (default 10)")
    parser.add_argument("--rates", default="10,100", help="posts/s of the fan-out runs (default 10,100)")
    args = parser.parse_args()
    asyncio.run(main(args.seconds, [int(r) for r in args.rates.split(",")]))
