"""`dozor db migrate-to postgresql://…`: copy this SQLite database into PostgreSQL.

The source is DOZOR_DB (a SQLite file). Resumable: run it again after an interruption and it
carries on per table (bot/storage/copy_to_pg.py); row counts are compared at the end. Then set
DOZOR_DB to the PostgreSQL URL.
"""
from __future__ import annotations

import asyncio

from bot.errors import ConfigError
from bot.storage import open_store
from bot.storage.copy_to_pg import copy_database
from bot.storage.pg_url import is_postgres_url, masked


def register(subparsers) -> None:
    db = subparsers.add_parser("db", help="database maintenance")
    actions = db.add_subparsers(dest="db_action", metavar="ACTION")
    db.set_defaults(handler=None, help_of=db)
    move = actions.add_parser("migrate-to", help="copy this SQLite database into PostgreSQL (resumable)")
    move.add_argument("url", metavar="postgresql://USER:PASS@HOST:PORT/DB")
    move.add_argument("--batch", type=int, default=5000, help="rows per transaction (default 5000)")
    move.set_defaults(handler=migrate_to)


def migrate_to(args, settings) -> int:
    if not is_postgres_url(args.url):
        raise ConfigError("dozor db migrate-to: the target must be a postgresql:// URL")
    if is_postgres_url(settings.db_path):
        raise ConfigError("dozor db migrate-to: DOZOR_DB must be the SQLite file to copy from")
    if args.batch < 1:
        raise ConfigError("dozor db migrate-to: --batch must be at least 1")

    async def go() -> int:
        async with open_store(settings.db_path) as source, open_store(args.url) as target:
            report = await copy_database(source, target, args.batch)
        total = sum(report.counts.values())
        print(f"copied {sum(report.copied.values())} rows this run; {total} rows in {len(report.counts)} tables,"
              f" counts checked: {settings.db_label} → {masked(args.url)}")
        print(f"now set DOZOR_DB={masked(args.url)}")
        return 0

    return asyncio.run(go())
