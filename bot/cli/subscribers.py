"""`dozor subscribers list|add|remove|role|set` and `dozor status`, against the database.

`set` and the `--style`/`--topic` options live in bot/cli/subscriber_options.py.

`subscribers set CHAT_ID --calendar-day on|off`: the chat's daily digest covers the
last calendar day (00:00 to 24:00 in its zone) instead of the 24 hours up to its
digest time; it still arrives at the digest time.

`subscribers add --webhook URL [--secret S]` and `--apprise URL` add a delivery
target (bot/cli/targets.py); `list` shows it by a made-up chat id, which
`remove` takes, its URL masked, and its HEALTH: "ok", or "failing since …"
with the failed attempts in a row ("-" for a Telegram chat).

Changes are audited with actor "cli". A handler raises UsageError for what the
user got wrong; bot/__main__.py prints it as one line and exits 2.
"""
from __future__ import annotations

import asyncio
from datetime import datetime, time

from bot.cli import subscriber_options
from bot.cli.dates import DAY_FORMATS, parse_day
from bot.cli.targets import add_target
from bot.clock import utc_now
from bot.errors import UsageError
from bot.formatting import format_time, plural, zone
from bot.models import TARGET_CHAT_BASE, TELEGRAM_KINDS, OutboxStatus, SubscriberKind
from bot.storage import access, leases, open_store
from bot.storage.db import from_iso
from bot.storage.outbox import enqueue_missed
from bot.storage.subscribers import active_subscribers, subscriber_by_chat
from bot.storage.targets import TargetHealth, target_health

ACTOR = "cli"


def register(subparsers) -> None:
    subs = subparsers.add_parser("subscribers", help="list, add, remove subscribers or set their role")
    subs.add_argument("action", choices=("list", "add", "remove", "role", "set"))
    subs.add_argument("chat_id", type=int, nargs="?", metavar="CHAT_ID")
    subs.add_argument("--role", choices=("subscriber", "operator"))
    subs.add_argument("--title", default="")
    subs.add_argument("--calendar-day", choices=("on", "off"),
                      help="set: digests of the last calendar day (on) or of the 24 hours to the digest time (off)")
    subs.add_argument("--since", metavar="DAY",
                      help=f"add: also queue the stored matches of posts since DAY ({DAY_FORMATS}; in DOZOR_TZ)")
    subscriber_options.add_arguments(subs)
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
                subs = await active_subscribers(store)
                if not subs:
                    print("no subscribers yet: add one with `dozor subscribers add CHAT_ID`, or /start in the bot")
                    return 0
                health = await target_health(store)
                print("CHAT_ID\tKIND\tROLE\tTIME ZONE\tSTYLE\tTOPIC\tHEALTH\tTITLE")
                for sub in subs:
                    in_telegram = sub.kind in TELEGRAM_KINDS  # style and topic mean nothing elsewhere
                    style = sub.style if in_telegram else "-"
                    topic = subscriber_options.describe_topic(sub.topic_id) if in_telegram else "-"
                    print(f"{sub.chat_id}\t{sub.kind}\t{sub.role}\t{sub.tz}\t{style}\t{topic}"
                          f"\t{describe_health(health.get(sub.id))}\t{sub.title}")
                return 0
            if args.action == "add" and (args.webhook or args.apprise):
                return await add_target(store, args, settings, now)
            if args.webhook or args.apprise or args.secret:
                raise UsageError("--webhook, --apprise and --secret go with `subscribers add` (without a CHAT_ID)")
            if args.chat_id is None:
                raise UsageError(f"subscribers {args.action} needs a CHAT_ID")
            return await _change_subscriber(store, args, settings, now)

    return asyncio.run(go())


def describe_health(health: TargetHealth | None) -> str:
    """The HEALTH column: "-" for a Telegram chat; "ok", or since when and how often a target fails."""
    if health is None:
        return "-"
    if health.healthy:
        return "ok"
    since = health.failing_since.strftime("%Y-%m-%d %H:%M UTC") if health.failing_since else "?"
    return f"failing since {since} ({plural(health.failures, 'failed attempt')})"


async def _change_subscriber(store, args, settings, now) -> int:
    chat_id = args.chat_id
    if args.action == "add":
        return await _add_subscriber(store, args, settings, now)
    if args.action == "set":
        if args.calendar_day is not None:
            await _set_calendar_day(store, args, now)
            if args.style is None and args.topic is None and not args.no_topic:
                return 0
        return await subscriber_options.set_options(store, args, now)
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


async def _set_calendar_day(store, args, now) -> None:
    """`subscribers set CHAT_ID --calendar-day on|off` (audited)."""
    on = args.calendar_day == "on"
    if await subscriber_by_chat(store, args.chat_id, active_only=True) is None:
        raise UsageError(f"{args.chat_id} is not an active subscriber")
    await store.write(lambda c: access.update_subscriber(c, args.chat_id, ACTOR, now, "subscriber.digest_calendar_day",
                                                         digest_calendar_day=int(on)))
    print(f"{args.chat_id}: digests cover " + ("the last calendar day, 00:00 to 24:00" if on
                                               else "the 24 hours up to the digest time"))


async def _add_subscriber(store, args, settings, now) -> int:
    """Subscribe a chat; with --since DAY also queue the stored matches since that day (never silently none)."""
    chat_id, kind = args.chat_id, SubscriberKind.USER if args.chat_id > 0 else SubscriberKind.GROUP
    if chat_id > TARGET_CHAT_BASE:
        raise UsageError(f"{chat_id} is not a Telegram chat id; add a webhook or Apprise URL with --webhook/--apprise")
    if args.role == "operator" and chat_id < 0:
        raise UsageError(f"{chat_id} is a group or channel; only a person can be an operator")
    subscriber_options.check_topic(chat_id, args.topic)
    since = None
    if args.since:
        first = parse_day(args.since, now.astimezone(zone(settings.tz)).date(), "--since")
        since, args.since = datetime.combine(first, time(0), tzinfo=zone(settings.tz)), first.isoformat()

    async def add(conn) -> int:
        await access.add_subscriber(conn, chat_id, ACTOR, now, kind=kind, title=args.title,
                                    role=args.role or "subscriber", tz=settings.tz, topic_id=args.topic)
        if args.style:
            await access.update_subscriber(conn, chat_id, ACTOR, now, "subscriber.options", alert_style=args.style)
        return await enqueue_missed(conn, chat_id, since, now) if since else 0

    queued = await store.write(add)
    print(f"{chat_id} subscribed" + (f" (forum topic {args.topic})" if args.topic is not None else ""))
    if since is None:
        print(f"it gets alerts for new matches; to also get stored ones, run again with --since {now:%Y-%m-%d}"
              " (or an earlier day)")
    elif queued:
        print(f"{plural(queued, 'alert')} for stored matches since {args.since} queued for it; "
              "`dozor run` with the bot (TG_BOT_TOKEN) sends them, within seconds if it is running")
    else:
        print(f"no stored matches since {args.since} for it: nothing queued")
    return 0


def status(args, settings) -> int:
    """A short summary from the database: channels, active subscribers, the outbox, the last post."""

    async def go() -> int:
        async with open_store(settings.db_path) as store:
            summary = await access.status_summary(store)
            shared = await leases.shared_status(store, utc_now())
            lines = status_lines(summary, settings.db_label, settings.tz)
            if store.dialect == "postgresql" or shared["processes"]:
                lines += shared_status_lines(shared)
        print("\n".join(lines))
        return 0

    return asyncio.run(go())


def status_lines(summary: dict, db_path, tz: str | None = None) -> list[str]:
    def shown(stored: str | None) -> str | None:  # a stored UTC time in the display zone, labelled
        return format_time(from_iso(stored), tz) if stored else None

    channels = summary["channels"]
    outbox = summary["outbox"]
    lines = [
        f"database: {db_path}",
        "channels: " + (", ".join(f"{n} {s}" for s, n in sorted(channels.items())) or "none"),
        f"subscribers active: {summary['subscribers_active']}",
        f"outbox: {outbox.get(OutboxStatus.PENDING, 0)} pending, {outbox.get(OutboxStatus.PARKED, 0)} parked, "
        f"{outbox.get(OutboxStatus.SENT, 0)} sent, {outbox.get(OutboxStatus.CANCELLED, 0)} cancelled",
        f"last post: {shown(summary['last_post_at']) or 'none yet'}"
        + (f" (stored {shown(summary['last_stored_at'])})" if summary["last_stored_at"] else ""),
    ]
    if not summary["subscribers_active"]:
        lines.append("WARNING: no active subscribers: matches are stored but nobody is alerted "
                     "(`dozor subscribers add CHAT_ID`; without TG_BOT_TOKEN `dozor run` alerts DOZOR_ALERT_CHAT)")
    return lines


def shared_status_lines(shared: dict, max_channels: int = 20) -> list[str]:
    """The shared store: processes alive (accounts, channels), outbox depth, last sweep per channel."""
    lines = [f"processes alive: {len(shared['processes'])}"]
    for p in shared["processes"]:
        lines.append(f"  {p['id']}: accounts {', '.join(p['accounts']) or 'none'}; {p['channels']} channels;"
                     f" heartbeat {p['heartbeat_at']}")
    lines.append(f"outbox depth: {shared['pending']} pending ({shared['claimed']} claimed),"
                 f" oldest {shared['oldest_pending'] or 'none'}")
    sweeps = shared["sweeps"]
    lines.append("last sweep per channel (oldest first):" if sweeps else "last sweep per channel: no channels")
    lines += [f"  {name}: {at or 'never'}" for name, at in sweeps[:max_channels]]
    if len(sweeps) > max_channels:
        lines.append(f"  … and {len(sweeps) - max_channels} more")
    return lines
