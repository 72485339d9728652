"""`dozor run` without credentials (or with --replay): replay a file, or the built-in sample.

The command itself is bot/cli/run.py; live mode is bot/app/live.py.

Posts are stored and matched in batches, each batch one transaction;
after each batch the outbox is drained to the local subscriber (chat 0), whose
sinks are the terminal and, with --alerts-to, a JSONL file. Both group
reposts of a story already shown by the alert sinks' rule (bot/delivery/local_stories.py):
the terminal prints a short "also in" line, the JSONL record names the story. A killed replay
loses nothing: its pending outbox rows are delivered first on the next run,
and posts already stored are not stored (or alerted) again.
"""
from __future__ import annotations

import argparse
import gzip
import logging
import sys
import time
from datetime import datetime, timedelta
from importlib import resources
from itertools import islice
from pathlib import Path
from typing import Iterable, Iterator

from bot.app.rules import load_live_rules
from bot.clock import utc_now
from bot.delivery.local_sinks import FanoutSink, JsonlSink, Sink, TerminalSink
from bot.delivery.local_stories import LocalStories
from bot.delivery.senders import DryRunSender
from bot.delivery.telegram_sink import TelegramAlertSink
from bot.delivery.worker import OutboxWorker
from bot.digest.jobs import digest_text_for_period
from bot.errors import SourceError
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


def sample_path() -> Path:
    """The built-in sample posts (package data)."""
    return Path(str(resources.files("bot.sample").joinpath("posts.jsonl")))


def batched(posts: Iterable[Post], size: int) -> Iterator[list[Post]]:
    iterator = iter(posts)
    while batch := list(islice(iterator, size)):
        yield batch


async def run_replay(args: argparse.Namespace, settings: Settings) -> int:
    path = args.replay or sample_path()
    if not Path(path).is_file():
        raise SourceError(f"replay file not found: {path}")
    clock = utc_now
    store = await Store.open(settings.db_path)
    stories = LocalStories.from_settings(settings)  # one for both sinks, so they group alike
    jsonl = JsonlSink(args.alerts_to, stories) if args.alerts_to else None
    try:
        terminal = replay_sink(args, store, settings, clock, stories)
        sink: Sink = FanoutSink(terminal, jsonl) if jsonl else terminal
        pipeline = Pipeline(store, await load_live_rules(store, settings), clock,
                            new_channel_status=ChannelStatus.REPLAY, recipient_kinds=(SubscriberKind.LOCAL,))
        await ensure_local_subscriber(store, clock(), LOCAL_CHAT_ID, tz=settings.tz)
        worker = OutboxWorker(store, lambda _subscriber: sink, clock, settings.max_attempts, kinds=(SubscriberKind.LOCAL,))
        await worker.run_until_idle()  # what a killed run left pending goes first
        report = ReadReport()
        first, last = await replay_posts(path, report, pipeline, worker, clock())
        await worker.run_until_idle()
        await print_digest(store, first, last, settings.tz, settings.dedup_threshold)
        await print_summary(store, settings, path, report, pipeline, worker)
    finally:
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


async def replay_posts(path: Path, report: ReadReport, pipeline: Pipeline, worker: OutboxWorker,
                       now: datetime) -> tuple[datetime | None, datetime | None]:
    """Feed the file through the pipeline in batches; returns the first and last post dates."""
    first = last = None
    progress = Progress(path)
    for batch in batched(read_posts(path, report, now), BATCH):
        await pipeline.on_posts(batch)
        await worker.run_until_idle()
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
    skipped = f", {len(report.skipped)} lines skipped" if report.skipped else ""
    print(
        f"Replayed {path.name}: {report.posts} posts read, {counts.stored} new, {counts.matched} matched, "
        f"{worker.delivered} alerts{skipped}; {pending} pending; database {settings.db_label}"
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

