"""`dozor subscribers list|add|remove|role` and `dozor status`, against the database.

`subscribers add --webhook URL [--secret S]` and `--apprise URL` add a delivery
target (bot/cli/targets.py); `list` shows it by a made-up chat id, which
`remove` takes, and its URL masked.

Changes are audited with actor "cli". A handler raises UsageError for what the
user got wrong; bot/__main__.py prints it as one line and exits 2.
"""
from __future__ import annotations

import argparse
import asyncio
from datetime import datetime, timezone

from bot.clock import utc_now
from bot.errors import UsageError
from bot.models import TARGET_CHAT_BASE, OutboxStatus, SubscriberKind
from bot.storage import access, open_store
from bot.storage.outbox import enqueue_missed
from bot.storage.subscribers import active_subscribers
from bot.cli.targets import add_target

ACTOR = "cli"


def register(subparsers) -> None:
    subs = subparsers.add_parser("subscribers", help="list, add, remove subscribers or set their role")
    subs.add_argument("action", choices=("list", "add", "remove", "role"))
    subs.add_argument("chat_id", type=int, nargs="?", metavar="CHAT_ID")
    subs.add_argument("--role", choices=("subscriber", "operator"))
    subs.add_argument("--title", default="")
    subs.add_argument("--since", type=_day, metavar="DAY",
                      help="add: also queue the stored matches of posts since DAY (YYYY-MM-DD, UTC)")
    target = subs.add_mutually_exclusive_group()
    target.add_argument("--webhook", metavar="URL",
                        help="add: a webhook that gets one JSON POST per alert (docs/WEBHOOKS.md) instead of a chat")
    target.add_argument("--apprise", metavar="URL",
                        help="add: an Apprise URL (mailto://, slack://, ntfy://, …) that gets each alert as a message")
    subs.add_argument("--secret", metavar="S",
                      help="add --webhook: sign each body with HMAC-SHA256 using S (header X-Dozor-Signature)")
    subs.set_defaults(handler=subscribers)
    st = subparsers.add_parser("status", help="a short summary: channels, subscribers, outbox, last post")
    st.set_defaults(handler=status)


def subscribers(args, settings) -> int:
    now = utc_now()

    async def go() -> int:
        async with open_store(settings.db_path) as store:
            if args.action == "list":
                for sub in await active_subscribers(store):  # a target's title is its URL masked
                    print(f"{sub.chat_id}\t{sub.kind}\t{sub.role}\t{sub.tz}\t{sub.title}")
                return 0
            if args.action == "add" and (args.webhook or args.apprise):
                return await add_target(store, args, settings, now)
            if args.webhook or args.apprise or args.secret:
                raise UsageError("--webhook, --apprise and --secret go with `subscribers add` (without a CHAT_ID)")
            if args.chat_id is None:
                raise UsageError(f"subscribers {args.action} needs a CHAT_ID")
            return await _change_subscriber(store, args, settings, now)

    return asyncio.run(go())


async def _change_subscriber(store, args, settings, now) -> int:
    chat_id = args.chat_id
    if args.action == "add":
        return await _add_subscriber(store, args, settings, now)
    if args.action == "remove":
        done = await store.write(lambda c: access.remove_subscriber(c, chat_id, ACTOR, now))
    else:
        if args.role not in ("subscriber", "operator"):
            raise UsageError("subscribers role needs --role subscriber|operator")
        if args.role == "operator" and (chat_id < 0 or chat_id > TARGET_CHAT_BASE):
            raise UsageError(f"{chat_id} is a group, channel or delivery target; only a person can be an operator")
        done = await store.write(lambda c: access.set_role(c, chat_id, args.role, ACTOR, now))
    if not done:
        raise UsageError(f"{chat_id} is not an active subscriber")
    print(f"{chat_id}: {args.action} done")
    return 0


async def _add_subscriber(store, args, settings, now) -> int:
    """Subscribe a chat; with --since DAY also queue the stored matches since that day (never silently none)."""
    chat_id, kind = args.chat_id, SubscriberKind.USER if args.chat_id > 0 else SubscriberKind.GROUP
    if chat_id > TARGET_CHAT_BASE:
        raise UsageError(f"{chat_id} is not a Telegram chat id; add a webhook or Apprise URL with --webhook/--apprise")
    if args.role == "operator" and chat_id < 0:
        raise UsageError(f"{chat_id} is a group or channel; only a person can be an operator")
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

    return asyncio.run(go())


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
