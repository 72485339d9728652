"""CLI for server operators: `dozor rules import|export`, `dozor backtest`, `dozor subscribers …`, `dozor status`.

Handlers are `fn(args, settings) -> int`; user errors print one line on stderr
and return 2. Changes are audited with actor "cli".
"""
from __future__ import annotations

import argparse
import asyncio
import re
import sys
from datetime import datetime, timezone
from pathlib import Path

from bot.models import OutboxStatus, SubscriberKind
from bot.clock import utc_now
from bot.errors import DozorError
from bot.storage import access, open_store
from bot.storage.rules import delete_rule, load_rule_defs, upsert_rule
from bot.storage.subscribers import active_subscribers

ACTOR = "cli"


def _fail(message: str) -> int:
    print(f"dozor: {message}", file=sys.stderr)
    return 2


def _run(coro) -> int:
    try:
        return asyncio.run(coro)
    except DozorError as exc:
        return _fail(str(exc))


# ---- rules import / export ---------------------------------------------------------

def import_rules(args, settings) -> int:
    """Validate a TOML rule file and write its rules into the database (audited)."""
    from bot.rules import compile_rules, parse_rules_toml

    path = Path(args.file)
    if not path.is_file():
        return _fail(f"no such file: {path}")
    try:
        defs = parse_rules_toml(path.read_text(encoding="utf-8"), str(path))
    except DozorError as exc:
        return _fail(str(exc))

    async def go() -> int:
        async with open_store(settings.db_path) as store:
            current = {r.id: r for r in await load_rule_defs(store)}
            keep = {} if args.replace else {k: v for k, v in current.items() if k not in {d.id for d in defs}}
            compile_rules(list(keep.values()) + defs)  # RuleSyntaxError -> nothing written

            async def write(conn) -> None:
                for rule in defs:
                    if current.get(rule.id) != rule:
                        await upsert_rule(conn, rule, ACTOR)
                if args.replace:
                    for rule_id in set(current) - {d.id for d in defs}:
                        await delete_rule(conn, rule_id, ACTOR)

            await store.write(write)
        changed = sum(1 for d in defs if current.get(d.id) != d)
        print(f"{len(defs)} rules read from {path}, {changed} added or changed"
              + (f", {len(set(current) - {d.id for d in defs})} removed" if args.replace else ""))
        return 0

    return _run(go())


def export_rules(args, settings) -> int:
    """Write the live rule set as TOML (stdout or FILE), keeping comments of the old file."""
    from bot.rules import rules_to_toml

    async def go() -> int:
        async with open_store(settings.db_path) as store:
            defs = await load_rule_defs(store)
        text = rules_to_toml(defs)
        source = Path(args.file) if args.file and Path(args.file).is_file() else Path(settings.rules)
        if source.is_file():
            text = carry_comments(source.read_text(encoding="utf-8"), text)
        if args.file:
            Path(args.file).write_text(text, encoding="utf-8")
            print(f"{len(defs)} rules written to {args.file}", file=sys.stderr)
        else:
            sys.stdout.write(text)
        return 0

    return _run(go())


_ID = re.compile(r'^\s*id\s*=\s*["\']([^"\']+)["\']', re.MULTILINE)


def carry_comments(old: str, new: str) -> str:
    """Put the old file's header comment and each rule's leading comment lines into `new`."""
    header, by_id = _comment_blocks(old)
    blocks = new.split("[[rule]]")
    out = [header] if header else []
    for block in blocks[1:]:
        found = _ID.search(block)
        comment = by_id.get(found[1]) if found else None
        out.append((comment + "\n" if comment else "") + "[[rule]]" + block.rstrip("\n") + "\n")
    return "\n".join(part.rstrip("\n") + "\n" for part in out) if out else new


def _comment_blocks(text: str) -> tuple[str, dict[str, str]]:
    """The file's header comment, and rule id -> the comment lines right above its [[rule]]."""
    parts = re.split(r"^\[\[rule\]\][^\n]*\n", text, flags=re.MULTILINE)
    if len(parts) < 2:
        return "", {}
    by_id: dict[str, str] = {}
    for previous, body in zip(parts[:-1], parts[1:]):
        found = _ID.search(body)
        comment = _trailing_comments(previous)
        if found and comment:
            by_id[found[1]] = comment
    top = parts[0].rstrip("\n")
    first_comment = _trailing_comments(parts[0])
    header = top[: len(top) - len(first_comment)].strip("\n") if first_comment else top.strip("\n")
    if any(line.strip() and not line.strip().startswith("#") for line in header.split("\n")):
        header = ""
    return header, by_id


def _trailing_comments(chunk: str) -> str:
    """The comment lines directly above a [[rule]] (no blank line between)."""
    kept: list[str] = []
    for line in reversed(chunk.rstrip("\n").split("\n")):
        if not line.strip().startswith("#"):
            break
        kept.append(line)
    return "\n".join(reversed(kept))


# ---- backtest ------------------------------------------------------------------------

def backtest(args, settings) -> int:
    from bot.history.backtest import backtest_lines, resolve_target, run_backtest

    async def go() -> int:
        async with open_store(settings.db_path) as store:
            target = await resolve_target(store, args.target)
            result = await run_backtest(store, target, utc_now(), args.days)
        print("\n".join(backtest_lines(result, max_days=args.days, max_channels=50)))
        return 0

    return _run(go())


# ---- subscribers ------------------------------------------------------------------------

def subscribers(args, settings) -> int:
    now = utc_now()

    async def go() -> int:
        async with open_store(settings.db_path) as store:
            if args.action == "list":
                for sub in await active_subscribers(store):
                    print(f"{sub.chat_id}\t{sub.kind}\t{sub.role}\t{sub.tz}\t{sub.title}")
                return 0
            if args.chat_id is None:
                return _fail(f"subscribers {args.action} needs a CHAT_ID")
            return await _change_subscriber(store, args, settings, now)

    return _run(go())


async def _change_subscriber(store, args, settings, now) -> int:
    chat_id = args.chat_id
    if args.action == "add":
        return await _add_subscriber(store, args, settings, now)
    if args.action == "remove":
        done = await store.write(lambda c: access.remove_subscriber(c, chat_id, ACTOR, now))
    else:
        if args.role not in ("subscriber", "operator"):
            return _fail("subscribers role needs --role subscriber|operator")
        done = await store.write(lambda c: access.set_role(c, chat_id, args.role, ACTOR, now))
    if not done:
        return _fail(f"{chat_id} is not an active subscriber")
    print(f"{chat_id}: {args.action} done")
    return 0


async def _add_subscriber(store, args, settings, now) -> int:
    """Subscribe a chat; with --since DAY also queue the stored matches since that day (never silently none)."""
    from bot.storage.outbox import enqueue_missed

    chat_id, kind = args.chat_id, SubscriberKind.USER if args.chat_id > 0 else SubscriberKind.GROUP
    since = datetime.combine(args.since, datetime.min.time(), tzinfo=timezone.utc) if args.since else None

    async def add(conn) -> int:
        await access.add_subscriber(conn, chat_id, ACTOR, now, kind=kind, title=args.title,
                                    role=args.role or "subscriber", tz=settings.tz)
        return await enqueue_missed(conn, chat_id, since, now) if since else 0

    queued = await store.write(add)
    print(f"{chat_id} subscribed")
    if since is None:
        print(f"it gets alerts for new matches; to also get stored ones, run again with --since {now:%Y-%m-%d}"
              " (or an earlier day)")
    elif queued:
        print(f"{queued} alerts for stored matches since {args.since} queued for it; "
              "`dozor run` with the bot (TG_BOT_TOKEN) sends them, within seconds if it is running")
    else:
        print(f"no stored matches since {args.since} for it: nothing queued")
    return 0


def _day(text: str):
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a day (YYYY-MM-DD): {text!r}") from None


def status(args, settings) -> int:
    """A short summary from the database: channels, active subscribers, the outbox, the last post."""

    async def go() -> int:
        async with open_store(settings.db_path) as store:
            summary = await access.status_summary(store)
        print("\n".join(status_lines(summary, settings.db_path)))
        return 0

    return _run(go())


def status_lines(summary: dict, db_path) -> list[str]:
    channels = summary["channels"]
    outbox = summary["outbox"]
    lines = [
        f"database: {db_path}",
        "channels: " + (", ".join(f"{n} {s}" for s, n in sorted(channels.items())) or "none"),
        f"subscribers active: {summary['subscribers_active']}",
        f"outbox: {outbox.get(OutboxStatus.PENDING, 0)} pending, {outbox.get(OutboxStatus.PARKED, 0)} parked, "
        f"{outbox.get(OutboxStatus.SENT, 0)} sent, {outbox.get(OutboxStatus.CANCELLED, 0)} cancelled",
        f"last post: {summary['last_post_at'] or 'none yet'}"
        + (f" (stored {summary['last_stored_at']})" if summary["last_stored_at"] else ""),
    ]
    if not summary["subscribers_active"]:
        lines.append("WARNING: no active subscribers: matches are stored but nobody is alerted "
                     "(`dozor subscribers add CHAT_ID`; without TG_BOT_TOKEN `dozor run` alerts DOZOR_ALERT_CHAT)")
    return lines


def register(subparsers, rules_subparsers=None) -> None:
    """Add our subcommands; `rules_subparsers` is what bot.cli.rules.register returned."""
    if rules_subparsers is not None:
        imp = rules_subparsers.add_parser("import", help="validate a TOML rule file and load it into the database")
        imp.add_argument("file")
        imp.add_argument("--replace", action="store_true", help="also delete rules the file does not have")
        imp.set_defaults(handler=import_rules)
        exp = rules_subparsers.add_parser("export", help="write the live rules as TOML (stdout or FILE)")
        exp.add_argument("file", nargs="?")
        exp.set_defaults(handler=export_rules)
    bt = subparsers.add_parser("backtest", help="how many stored posts a rule or query would have matched")
    bt.add_argument("target", metavar="ID|QUERY")
    bt.add_argument("--days", type=int, default=30, help="look back this many days (default 30)")
    bt.set_defaults(handler=backtest)
    subs = subparsers.add_parser("subscribers", help="list, add, remove subscribers or set their role")
    subs.add_argument("action", choices=("list", "add", "remove", "role"))
    subs.add_argument("chat_id", type=int, nargs="?", metavar="CHAT_ID")
    subs.add_argument("--role", choices=("subscriber", "operator"))
    subs.add_argument("--title", default="")
    subs.add_argument("--since", type=_day, metavar="DAY",
                      help="add: also queue the stored matches of posts since DAY (YYYY-MM-DD, UTC)")
    subs.set_defaults(handler=subscribers)
    st = subparsers.add_parser("status", help="a short summary: channels, subscribers, outbox, last post")
    st.set_defaults(handler=status)


