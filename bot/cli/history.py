"""`dozor backtest ID|QUERY [--days N]`: how many stored posts a rule or query would have matched.

The figures come from bot/history/backtest.py, the same as the bot's /backtest.
"""
from __future__ import annotations

import asyncio

from bot.clock import utc_now
from bot.history.backtest import backtest_lines, resolve_target, run_backtest
from bot.cli.progress import progress_bar
from bot.storage import open_store
from bot.storage.lemma_index import refresh_lemma_index


def register(subparsers) -> None:
    bt = subparsers.add_parser("backtest", help="how many stored posts a rule or query would have matched")
    bt.add_argument("target", metavar="ID|QUERY")
    bt.add_argument("--days", type=int, default=30, help="look back this many days (default 30)")
    bt.set_defaults(handler=backtest)


def backtest(args, settings) -> int:
    async def go() -> int:
        async with open_store(settings.db_path) as store:
            target = await resolve_target(store, args.target)
            with progress_bar("indexing word forms") as update:  # only posts ingest did not index
                await refresh_lemma_index(store, progress=update)
            result = await run_backtest(store, target, utc_now(), args.days)
        print("\n".join(backtest_lines(result, max_days=args.days, max_channels=50)))
        return 0

    return asyncio.run(go())
