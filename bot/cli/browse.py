"""`dozor search` and `dozor export`: read what Dozor stored without a bot.

    dozor search QUERY [--from DAY] [--to DAY] [--channel NAME] [--limit N]
    dozor export [--from DAY] [--to DAY] [--rule ID] [--format csv|jsonl] [FILE]

`search` checks stored posts against QUERY in the rule language (word forms,
NEAR, NOT, …), newest first, through bot/history/search.py (the bot's /search);
matched words are bold when stdout is a terminal (and NO_COLOR is unset).
`export` writes the stored matches (bot.storage.history.stored_matches) through
bot/history/export.py: CSV safe for spreadsheets (UTF-8 with a BOM) or JSONL, to
FILE or stdout. Days are inclusive, in DOZOR_TZ (bot/cli/dates.py); every time
printed carries its zone. A window without stored posts says which dates the
database holds. Mistakes (a bad query, day, channel or rule id) are UsageError
or RuleSyntaxError: one line, exit 2.
"""
from __future__ import annotations

import argparse
import asyncio
import difflib
import os
import sys
from pathlib import Path

from bot.cli.dates import add_window_options, empty_window_note, window_from_args
from bot.clock import utc_now
from bot.errors import UsageError
from bot.formatting import format_time
from bot.history.backtest import UnknownRule, nearest_ids, query_target
from bot.history.export import matches_csv, matches_jsonl
from bot.models import ChannelStatus
from bot.history.search import SearchScope, search_posts
from bot.storage import open_store
from bot.storage.channels import find_by_username, get_channel, list_channels
from bot.storage.db import from_iso
from bot.storage.history import stored_matches
from bot.storage.rules import load_rule_defs

BOLD = ("\x1b[1m", "\x1b[0m")
FORMATS = ("csv", "jsonl")


def register(subparsers) -> None:
    search = subparsers.add_parser(
        "search", formatter_class=argparse.RawDescriptionHelpFormatter,
        help="find stored posts with the rule language, newest first",
        description="Search the posts Dozor stored with the rule language (word forms, OR, NOT, NEAR/n,\n"
                    "\"phrases\", prefix*), newest first.",
        epilog="examples: dozor search мобилизация --from 2022-04-12 --to 2022-04-13\n"
               "          dozor search 'повестка OR военкомат' --channel pskovgubernia --limit 5",
    )
    search.add_argument("query", help="what to look for, in the rule language (docs/RULES.md)")
    add_window_options(search)
    search.add_argument("--channel", help="only this channel: its @username or id")
    search.add_argument("--limit", type=int, default=20, help="show at most this many posts (default 20)")
    search.set_defaults(handler=search_command)

    export = subparsers.add_parser(
        "export", formatter_class=argparse.RawDescriptionHelpFormatter,
        help="write the stored matches as CSV or JSONL",
        description="Write every stored match (post text, channel, link, date, rules, spans), oldest first,\n"
                    "as CSV for spreadsheets (UTF-8 with a BOM; a cell that looks like a formula gets a\n"
                    "leading ') or as JSONL.",
        epilog="examples: dozor export matches.csv --from 2022-04-01 --to 2022-04-30\n"
               "          dozor export --rule mobilization --format jsonl",
    )
    export.add_argument("file", nargs="?", help="write here (default: stdout)")
    add_window_options(export, "matches")
    export.add_argument("--rule", action="append", dest="rule_ids", metavar="ID",
                        help="only this rule's matches (repeat for more rules)")
    export.add_argument("--format", choices=FORMATS,
                        help="csv or jsonl (default: from FILE's ending, else csv)")
    export.set_defaults(handler=export_command)


def search_command(args, settings) -> int:
    if args.limit < 1:
        raise UsageError(f"--limit {args.limit}: give 1 or more")
    now = utc_now()
    window = window_from_args(args, settings.tz, now)
    target = query_target(args.query)  # RuleSyntaxError: one line with a caret
    since, until, label = (window.start, window.end, window.label()) if window else (None, None, None)
    mark = BOLD if sys.stdout.isatty() and not os.environ.get("NO_COLOR") else ("", "")

    async def go() -> int:
        async with open_store(settings.db_path) as store:
            scope = SearchScope(since, until, await channel_id_of(store, args.channel))
            page = await search_posts(store, target, 1, args.limit, budget=None, scope=scope, mark=mark)
            note = None if page.posts else await empty_window_note(store, since, until, label, settings.tz)
        for post in page.posts:
            when = format_time(from_iso(post["date"]), settings.tz)
            print(f"{when}  {post['channel']}  {post['link'] or ''}".rstrip())
            print(f"  {post['excerpt']}")
        print(note or search_footer(args.query, len(page.posts), page.has_more, label))
        return 0

    return asyncio.run(go())


def search_footer(query: str, shown: int, more: bool, label: str | None) -> str:
    where = f" {label}" if label else ""
    if not shown:
        return f"No stored post matches {query!r}{where}."
    found = f"{shown} post{'s match' if shown != 1 else ' matches'} {query!r}{where}, newest first"
    return found + ("; more match: raise --limit or narrow --from/--to." if more else ".")


async def channel_id_of(store, ref: str | None) -> int | None:
    """The stored channel `ref` (@username, title or id) names; UsageError naming the nearest ones otherwise."""
    if ref is None:
        return None
    name = ref.strip().lstrip("@")
    if name.lstrip("-").isdigit():
        channel = await get_channel(store, int(name))
        if channel is not None:
            return channel.id
    channel = await find_by_username(store, name)
    if channel is not None:
        return channel.id
    rows = await list_channels(store, tuple(status for status in ChannelStatus if status != ChannelStatus.REMOVED))
    by_name = {key.lower(): row for row in rows for key in (row.title, row.username) if key}
    if name.lower() in by_name:
        return by_name[name.lower()].id
    close = difflib.get_close_matches(name.lower(), list(by_name), n=5, cutoff=0.5)
    known = sorted({channel_name(row) for row in rows})
    hint = (f"; nearest: {', '.join(dict.fromkeys(channel_name(by_name[key]) for key in close))}" if close
            else f"; stored channels: {', '.join(known[:10])}" if known else "; none is stored yet")
    raise UsageError(f"--channel {ref!r}: no such channel among the stored posts{hint}")


def channel_name(row) -> str:
    return "@" + row.username if row.username else repr(row.title)


def export_format(args) -> str:
    if args.format:
        return args.format
    return "jsonl" if args.file and Path(args.file).suffix.lower() in (".jsonl", ".ndjson") else "csv"


def export_command(args, settings) -> int:
    now = utc_now()
    window = window_from_args(args, settings.tz, now)
    since, until, label = (window.start, window.end, window.label()) if window else (None, None, None)
    fmt = export_format(args)

    async def go() -> int:
        async with open_store(settings.db_path) as store:
            await check_rule_ids(store, args.rule_ids or [])
            posts = await stored_matches(store, since, until, args.rule_ids or ())
            note = None if posts else await empty_window_note(store, since, until, label, settings.tz)
        data = matches_csv(posts, settings.tz) if fmt == "csv" else matches_jsonl(posts, settings.tz)
        write_output(args.file, data)
        where = f" {label}" if label else ""
        done = f"{len(posts)} matched post{'s' if len(posts) != 1 else ''}{where} written as {fmt}"
        print(note or (done + (f" to {args.file}" if args.file else "")), file=sys.stderr)
        return 0

    return asyncio.run(go())


async def check_rule_ids(store, rule_ids: list[str]) -> None:
    """UnknownRule (with the nearest ids) for a --rule that names no live rule."""
    if not rule_ids:
        return
    ids = [rule.id for rule in await load_rule_defs(store)]
    for rule_id in rule_ids:
        if rule_id not in ids:
            raise UnknownRule(rule_id, nearest_ids(rule_id, ids))


def write_output(file: str | None, data: bytes) -> None:
    if file is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    try:
        Path(file).write_bytes(data)
    except OSError as exc:
        raise UsageError(f"cannot write {file}: {exc.strerror or exc}") from None
