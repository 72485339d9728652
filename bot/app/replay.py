"""`dozor run` without credentials (or with --replay): replay a file, or the built-in sample.

The command itself is bot/cli/run.py; live mode is bot/app/live.py.

The built-in sample (no --replay) goes into <data folder>/demo.db unless
DOZOR_DB is set, so invented posts never mix with real ones in dozor.db.

Posts are stored and matched in batches, each batch one transaction;
after each batch the outbox is drained to the local subscriber (chat 0), whose
sinks are the terminal and, with --alerts-to, a JSONL file. Both group
reposts of a story by the alert sinks' rule (bot/delivery/local_stories.py):
the terminal prints each story of a batch once, with the "also in N channels"
line a Telegram alert gets; each JSONL record names its story and "also in". A killed replay
loses nothing: its pending outbox rows are delivered first on the next run,
and posts already stored are not stored (or alerted) again. SIGTERM stops it
cleanly: reading ends after the current post, what was read is stored and its
alerts delivered, then "stopped; run again to continue" and exit 0.
"""
from __future__ import annotations

import argparse
import asyncio
import gzip
import logging
import signal
import sys
import time
from datetime import datetime, timedelta
from importlib import resources
from itertools import islice
from pathlib import Path
from typing import Awaitable, Callable, Iterable, Iterator

from bot.app.rules import RulesWatcher, load_live_rules, require_enabled_rules
from bot.clock import utc_now
from bot.delivery.local_sinks import FanoutSink, JsonlSink, Sink, TerminalSink, flush_sink
from bot.delivery.local_stories import LocalStories
from bot.delivery.senders import DryRunSender
from bot.delivery.telegram_sink import TelegramAlertSink
from bot.delivery.worker import OutboxWorker
from bot.digest.jobs import digest_text_for_period
from bot.errors import SourceError
from bot.formatting import plural
from bot.models import LOCAL_CHAT_ID, ChannelStatus, OutboxStatus, Post, SubscriberKind
from bot.pipeline import Pipeline
from bot.settings import Settings
from bot.sources import ReadReport, read_posts
from bot.storage.db import Store
from bot.storage.outbox import count_by_status
from bot.storage.subscribers import ensure_local_subscriber
from bot.stories import DEFAULT_THRESHOLD

log = logging.getLogger(__name__)
BATCH = 500
DEMO_DB = "demo.db"  # the built-in sample's database, in the data folder


def sample_path() -> Path:
    """The built-in sample posts (package data)."""
    return Path(str(resources.files("bot.sample").joinpath("posts.jsonl")))


def batched(posts: Iterable[Post], size: int) -> Iterator[list[Post]]:
    iterator = iter(posts)
    while batch := list(islice(iterator, size)):
        yield batch


def demo_settings(settings: Settings) -> Settings:
    """The built-in sample is stored in <data folder>/demo.db, apart from real posts (an explicit DOZOR_DB wins)."""
    return settings if settings.db is not None else settings.replace(db=settings.data_dir / DEMO_DB)


async def run_replay(args: argparse.Namespace, settings: Settings) -> int:
    path = args.replay or sample_path()
    if not Path(path).is_file():
        raise SourceError(f"replay file not found: {path}")
    if args.replay is None:
        settings = demo_settings(settings)
        print(f"Replaying the built-in sample (invented posts) into {settings.db_path}, "
              f"kept apart from the database of real posts.\n")
    clock = utc_now
    store = await Store.open(settings.db_path)
    stories = LocalStories.from_settings(settings)  # one for both sinks, so they group alike
    jsonl = JsonlSink(args.alerts_to, stories) if args.alerts_to else None
    terminal = replay_sink(args, store, settings, clock, stories)
    sink: Sink = FanoutSink(terminal, jsonl) if jsonl else terminal
    try:
        rules = await load_live_rules(store, settings)
        require_enabled_rules(rules, "the replay")  # exit 2 before a post is stored unmatched
        pipeline = Pipeline(store, rules, clock,
                            new_channel_status=ChannelStatus.REPLAY, recipient_kinds=(SubscriberKind.LOCAL,))
        await ensure_local_subscriber(store, clock(), LOCAL_CHAT_ID, tz=settings.tz)
        rules_watcher = RulesWatcher(store, pipeline, settings.regex_budget)
        await rules_watcher.prime()
        worker = OutboxWorker(store, lambda _subscriber: sink, clock, settings.max_attempts, kinds=(SubscriberKind.LOCAL,))

        async def drain() -> None:  # deliver what is due, then print the stories the terminal held
            await worker.run_until_idle()
            flush_sink(sink)

        await drain()  # what a killed run left pending goes first
        report = ReadReport()
        with stop_on_sigterm() as stop:
            first, last = await replay_posts(path, report, pipeline, drain, clock(), rules_watcher, stop)
        await drain()
        if not stop.is_set():
            await print_digest(store, first, last, settings.tz, settings.dedup_threshold)
        await print_summary(store, settings, path, report, pipeline, worker)
        if stop.is_set():
            print("stopped; run again to continue")
    finally:
        flush_sink(sink)  # an interrupted replay still prints the alerts it delivered
        if jsonl:
            jsonl.close()
        await store.close()
    return 0


def replay_sink(args: argparse.Namespace, store: Store, settings: Settings, clock,
                stories: LocalStories | None = None) -> Sink:
    """The terminal; with --dry-run the real alert sink printing the HTML it would send to Telegram."""
    if not getattr(args, "dry_run", False):
        return TerminalSink(stories=stories)
    return TelegramAlertSink(store, DryRunSender(), settings, clock)


class stop_on_sigterm:
    """`with stop_on_sigterm() as stop:` an asyncio.Event that SIGTERM sets (the handler is removed after)."""

    def __enter__(self) -> asyncio.Event:
        self.stop = asyncio.Event()
        self.loop = asyncio.get_running_loop()
        self.loop.add_signal_handler(signal.SIGTERM, self.stop.set)
        return self.stop

    def __exit__(self, *exc) -> None:
        self.loop.remove_signal_handler(signal.SIGTERM)


def until_stopped(posts: Iterable[Post], stop: asyncio.Event | None) -> Iterator[Post]:
    for post in posts:
        if stop is not None and stop.is_set():
            return
        yield post


async def replay_posts(path: Path, report: ReadReport, pipeline: Pipeline, drain: Callable[[], Awaitable[None]],
                       now: datetime, rules_watcher: RulesWatcher | None = None, stop: asyncio.Event | None = None,
                       ) -> tuple[datetime | None, datetime | None]:
    """Feed the file through the pipeline in batches until it ends or `stop` is set, delivering after each
    (`drain`), each batch after a look at the rules version, so a rule saved meanwhile applies to the next;
    returns the first and last post dates."""
    first = last = None
    progress = Progress(path)
    for batch in batched(until_stopped(read_posts(path, report, now), stop), BATCH):
        if rules_watcher is not None:
            await rules_watcher.check_once()
        await pipeline.on_posts(batch)
        await drain()
        dates = [p.date for p in batch]
        first = min([first, *dates] if first else dates)
        last = max([last, *dates] if last else dates)
        progress.show(report.posts)
    progress.done()
    return first, last


async def print_digest(store: Store, first: datetime | None, last: datetime | None, tz: str,
                       threshold: float = DEFAULT_THRESHOLD) -> None:
    if first is None or last is None:
        return
    first = first.replace(microsecond=0)  # stored dates are whole seconds
    end = last.replace(microsecond=0) + timedelta(seconds=1)
    print(await digest_text_for_period(store, first, end, tz, threshold))
    print()


async def print_summary(store: Store, settings: Settings, path: Path, report: ReadReport, pipeline: Pipeline,
                        worker: OutboxWorker) -> None:
    counts = pipeline.counts
    pending = (await count_by_status(store)).get(OutboxStatus.PENDING, 0)
    skipped = f", {plural(len(report.skipped), 'line')} skipped" if report.skipped else ""
    print(
        f"Replayed {path.name}: {plural(report.posts, 'post')} read, {counts.stored} new, {counts.matched} matched, "
        f"{plural(worker.delivered, 'alert')}{skipped}; {pending} pending; database {settings.db_label}"
    )
    if not settings.has_telegram:
        print("To go live: put TG_API_ID and TG_API_HASH (from https://my.telegram.org) in .env, "
              "run `dozor login`, add channels with `dozor channels add NAME`, then `dozor run`.")


class Progress:
    """A one-line progress counter on stderr, shown only when stderr is a terminal."""

    def __init__(self, path: Path):
        self.enabled = sys.stderr.isatty()
        self.name = path.name
        self.started = time.monotonic()
        self.total = _count_lines(path) if self.enabled else 0

    def show(self, done: int) -> None:
        if not self.enabled:
            return
        rate = done / max(1e-6, time.monotonic() - self.started)
        if self.total:
            width = 30
            filled = min(width, int(width * done / self.total))
            bar = "#" * filled + "." * (width - filled)
            sys.stderr.write(f"\r{self.name} [{bar}] {done:,}/{self.total:,} posts, {rate:,.0f}/s ")
        else:
            sys.stderr.write(f"\r{self.name}: {done:,} posts, {rate:,.0f}/s ")
        sys.stderr.flush()

    def done(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _count_lines(path: Path) -> int:
    if path.suffix == ".json":
        return 0
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            return sum(1 for _ in handle)
    except OSError:
        return 0

