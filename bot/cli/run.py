"""`dozor run`: replay a file (or the built-in sample) through the pipeline, or go live.

Without Telegram credentials, or with --replay: bot/app/replay.py. With
credentials: bot/app/live.py, under the run lock (a second live run stops with
one line, exit 2), until SIGINT/SIGTERM. bot.app.live is imported only when
going live: it imports Telethon, about half a second a replay need not pay.
"""
from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path

from bot.app.replay import run_replay
from bot.app.runlock import RunLock
from bot.settings import Settings


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
        with RunLock(settings.data_dir):  # a second live run stops here with one line, exit 2
            return asyncio.run(run_live_mode(args, settings))
    return asyncio.run(run_replay(args, settings))


async def run_live_mode(args: argparse.Namespace, settings: Settings) -> int:
    """Live: bot/app/live.py wires the watcher, pipeline, delivery, commands and digests."""
    from bot.app.live import LiveOptions, run_live_app  # Telethon: see the module docstring

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
