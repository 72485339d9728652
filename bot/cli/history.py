"""`dozor backtest ID|QUERY [--query] [--days N | --from DAY --to DAY]`: how many stored posts a rule
or query would have matched.

The figures come from bot/history/backtest.py, the same as the bot's /backtest.
An argument that looks like a rule id and names none is an error listing the
nearest ids (`--query` searches it as words). Times carry the DOZOR_TZ zone;
when the window holds no stored posts the output says which dates the database holds.
"""
from __future__ import annotations

import argparse
import asyncio

from bot.cli.dates import add_window_options, empty_window_note, window_from_args
from bot.clock import utc_now
from bot.history.backtest import backtest_lines, resolve_target, run_backtest
from bot.cli.progress import progress_bar
from bot.storage import open_store
from bot.storage.lemma_index import refresh_lemma_index


def register(subparsers) -> None:
    bt = subparsers.add_parser(
        "backtest", formatter_class=argparse.RawDescriptionHelpFormatter, help="how many stored posts a rule or query would have matched",
        description="Count the stored posts a rule (by id) or a query in the rule language would have\n"
                    "matched, per day and channel, with the newest five.",
        epilog="examples: dozor backtest mobilization --from 2022-04-01 --to 2022-04-30\n"
               "          dozor backtest --query 'повестка NEAR/3 военкомат' --days 7",
    )
    bt.add_argument("target", metavar="ID|QUERY", help="a rule id, or a query (see docs/RULES.md)")
    bt.add_argument("--query", action="store_true", help="treat the argument as a query even if it looks like an id")
    bt.add_argument("--days", type=int, default=30, help="look back this many days (default 30; --from/--to instead give the days)")
    add_window_options(bt)
    bt.set_defaults(handler=backtest)


def backtest(args, settings) -> int:
    now = utc_now()
    window = window_from_args(args, settings.tz, now)

    async def go() -> int:
        async with open_store(settings.db_path) as store:
            target = await resolve_target(store, args.target, as_query=args.query, query_option="--query")
            with progress_bar("indexing word forms") as update:  # only posts ingest did not index
                await refresh_lemma_index(store, progress=update)
            span = (window.start, window.end, window.label()) if window else None
            result = await run_backtest(store, target, now, args.days, tz=settings.tz, window=span)
            label = result.window or f"in the last {args.days} days"
            note = await empty_window_note(store, result.since, result.until, label, settings.tz)
        days_shown = args.days if window is None else 366
        print("\n".join(backtest_lines(result, max_days=days_shown, max_channels=50)))
        if note:
            print(note)
        return 0

    return asyncio.run(go())
