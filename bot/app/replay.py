"""`dozor run`: replay a file (or the built-in sample) through the pipeline, or go live.

Live (credentials set, no --replay): bot/app/live.py.

Replay: posts are stored and matched in batches, each batch one transaction;
after each batch the outbox is drained to the local subscriber (chat 0), whose
sinks are the terminal and, with --alerts-to, a JSONL file. Both group
reposts of a story already shown by the alert sinks' rule (bot/delivery/local_stories.py):
the terminal prints a short "also in" line, the JSONL record names the story. A killed replay
loses nothing: its pending outbox rows are delivered first on the next run,
and posts already stored are not stored (or alerted) again.
"""
from __future__ import annotations

import argparse
import asyncio
import importlib.util
import logging
import signal
import sys
import time
from datetime import datetime, timedelta
from importlib import resources
from itertools import islice
from pathlib import Path
from typing import Iterable, Iterator

from bot.errors import SourceError
from bot.models import Post
from bot.delivery.worker import OutboxWorker
from bot.pipeline import Pipeline, utc_clock
from bot.settings import Settings
from bot.delivery.local_sinks import FanoutSink, JsonlSink, Sink, TerminalSink
from bot.delivery.local_stories import LocalStories
from bot.sources import ReadReport, read_posts
from bot.storage.db import Store
from bot.storage.outbox import count_by_status
from bot.storage.subscribers import ensure_local_subscriber
from bot.stories import DEFAULT_THRESHOLD

log = logging.getLogger(__name__)
BATCH = 500
LOCAL_CHAT_ID = 0


def sample_path() -> Path:
    """The built-in sample posts (package data)."""
    return Path(str(resources.files("bot.sample").joinpath("posts.jsonl")))


def register(subparsers) -> None:
    run = subparsers.add_parser(
        "run", help="watch channels live, or replay posts from a file",
        description="Without Telegram credentials (or with --replay) replay posts through the rules and print "
                    "alerts; with TG_API_ID/TG_API_HASH set, watch the channels live.",
    )
    run.add_argument("--replay", metavar="FILE", type=Path,
                     help="JSONL (.jsonl/.gz) or Telegram Desktop export (result.json) to replay")
    run.add_argument("--alerts-to", metavar="FILE", type=Path, help="also append each alert as a JSON line to FILE")
    run.add_argument("--dry-run", action="store_true",
                     help="send nothing to Telegram: print alerts in the terminal instead")
    run.add_argument("--alert-backfill", action="store_true",
                     help="live: also alert on the history read when a channel is first added")
    run.set_defaults(handler=handle_run)


def handle_run(args: argparse.Namespace, settings: Settings) -> int:
    if args.replay is None and settings.has_telegram:
        from bot.app.runlock import RunLock

        with RunLock(settings.data_dir):  # a second live run stops here with one line, exit 2
            return asyncio.run(run_live_mode(args, settings))
    return asyncio.run(run_replay(args, settings))


async def load_live_rules(store: Store, settings: Settings):
    """Seed the rules table from the rule file if empty, then compile what the table holds."""
    from bot.rules import compile_rules, load_rule_file
    from bot.storage.rules import load_rule_defs, seed_rules_if_empty

    if Path(settings.rules).is_file():
        defs = load_rule_file(settings.rules)
        compile_rules(defs)  # a syntax error stops here, before a broken rule reaches the database
        added = await seed_rules_if_empty(store, defs)
        if added:
            log.info("seeded %d rules from %s", added, settings.rules)
    else:
        log.warning("rule file %s not found; using the rules already in the database", settings.rules)
    return compile_rules(await load_rule_defs(store), settings.regex_budget)


def batched(posts: Iterable[Post], size: int) -> Iterator[list[Post]]:
    iterator = iter(posts)
    while batch := list(islice(iterator, size)):
        yield batch


async def run_replay(args: argparse.Namespace, settings: Settings) -> int:
    path = args.replay or sample_path()
    if not Path(path).is_file():
        raise SourceError(f"replay file not found: {path}")
    clock = utc_clock
    store = await Store.open(settings.db_path)
    stories = LocalStories.from_settings(settings)  # one for both sinks, so they group alike
    jsonl = JsonlSink(args.alerts_to, stories) if args.alerts_to else None
    try:
        terminal = replay_sink(args, store, settings, clock, stories)
        sink: Sink = FanoutSink(terminal, jsonl) if jsonl else terminal
        pipeline = Pipeline(store, await load_live_rules(store, settings), clock,
                            new_channel_status="replay", recipient_kinds=("local",))
        await ensure_local_subscriber(store, clock(), LOCAL_CHAT_ID, tz=settings.tz)
        worker = OutboxWorker(store, lambda _subscriber: sink, clock, settings.max_attempts, kinds=("local",))
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
    from bot.delivery.telegram_sink import DryRunSender, TelegramAlertSink

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
    if importlib.util.find_spec("bot.digest.jobs") is None:
        print(f"Digest: (the digest module is not installed) period {first:%Y-%m-%d} to {last:%Y-%m-%d}")
        return
    from bot.digest.jobs import digest_text_for_period

    print(await digest_text_for_period(store, first, end, tz, threshold))
    print()


async def print_summary(store: Store, settings: Settings, path: Path, report: ReadReport, pipeline: Pipeline,
                        worker: OutboxWorker) -> None:
    counts = pipeline.counts
    pending = (await count_by_status(store)).get("pending", 0)
    skipped = f", {len(report.skipped)} lines skipped" if report.skipped else ""
    print(
        f"Replayed {path.name}: {report.posts} posts read, {counts.stored} new, {counts.matched} matched, "
        f"{worker.delivered} alerts{skipped}; {pending} pending; database {settings.db_path}"
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
    import gzip

    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            return sum(1 for _ in handle)
    except OSError:
        return 0


async def run_live_mode(args: argparse.Namespace, settings: Settings) -> int:
    """Live: bot/app/live.py wires the watcher, pipeline, delivery, commands and digests."""
    from bot.app.live import LiveOptions, run_live_app

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        return await run_live_app(settings, stop, LiveOptions(dry_run=args.dry_run,
                                                              alert_backfill=args.alert_backfill))
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
