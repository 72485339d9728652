"""`dozor digest [--date DAY] [--calendar-day] [--chat ID] [--print]`: a day's digest on demand.

DAY is today, yesterday, DD.MM.YYYY or YYYY-MM-DD (bot.formatting.parse_day, as the
bot's /digest). Without --calendar-day the digest covers the 24 hours ending at the
digest time on DAY; with it (or for a subscriber set to calendar days) the calendar
day DAY itself, 00:00 to 24:00 (default: yesterday).

A bad --date or an unknown --chat raises UsageError (bot/__main__.py: one line, exit 2).
`--from/--to` (bot/cli/dates.py) print the digest of those whole days in DOZOR_TZ
(or the --chat subscriber's zone) and its chart; a period digest is never sent.
Sending imports bot.app.live and bot.telegram (Telethon) only when it sends.
"""
from __future__ import annotations

import argparse
import asyncio
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo
from pathlib import Path

from bot.cli.dates import add_window_options, empty_window_note, window_from_args
from bot.clock import utc_now
from bot.digest.jobs import digest_for_day, digest_for_period, last_due_day, send_digest
from bot.errors import UsageError
from bot.formatting import parse_day
from bot.storage.db import Store
from bot.storage.history import stored_post_range
from bot.storage.subscribers import subscriber_by_chat


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "digest", help="print (or send) the daily digest for a day",
        description="Build the digest of the 24 hours ending at the digest time on DATE "
                    "(default: the latest digest due), or with --calendar-day of the calendar day DATE "
                    "(default: yesterday). Without --chat it covers every rule in DOZOR_TZ.",
    )
    parser.add_argument("--date", help="the digest's day: today, yesterday, DD.MM.YYYY or YYYY-MM-DD "
                                       "(default: the latest due)")
    parser.add_argument("--calendar-day", action="store_true",
                        help="cover the calendar day DATE, 00:00 to 24:00, instead of the 24 hours "
                             "up to the digest time (a subscriber can have this always: "
                             "`dozor subscribers set CHAT_ID --calendar-day on`)")
    parser.add_argument("--chat", type=int, help="a subscriber's chat id: its rules, time zone and digest time")
    parser.add_argument("--print", dest="print_only", action="store_true",
                        help="print the text and write the chart PNG into the data folder; send nothing")
    add_window_options(parser, note="; instead of --date: the digest of these days, printed, never sent")
    parser.set_defaults(handler=handle_digest)


def parse_digest_day(text: str, today: date) -> date:
    """--date as a person types it; UsageError naming the accepted forms."""
    try:
        return parse_day(text, today)
    except ValueError as exc:
        raise UsageError(f"--date: {exc}") from None


def handle_digest(args: argparse.Namespace, settings, now: datetime | None = None) -> int:
    """Print the digest text and write its chart; returns the exit code."""
    now = now or utc_now()
    if getattr(args, "from_day", None) is not None or getattr(args, "to_day", None) is not None:
        if args.date or args.calendar_day:
            raise UsageError("give either --date/--calendar-day or --from/--to, not both")
        return asyncio.run(_print_period_digest(args, settings, now))
    return asyncio.run(_print_digest(args, settings, now))


async def _print_period_digest(args: argparse.Namespace, settings, now: datetime) -> int:
    """Print the digest of the --from/--to days (and write its chart); nothing is sent."""
    store = await Store.open(settings.db_path)
    try:
        tz, subscriber_id = settings.tz, None
        if args.chat is not None:
            subscriber = await subscriber_by_chat(store, args.chat, active_only=False)
            if subscriber is None:
                raise UsageError(f"no subscriber with chat id {args.chat}")
            tz, subscriber_id = subscriber.tz, subscriber.id
        window = window_from_args(args, tz, now)
        start = window.start or (await stored_post_range(store))[0] or window.end - timedelta(days=1)
        note = await empty_window_note(store, start, window.end, window.label(), tz)
        text, png = await digest_for_period(store, start, window.end, now, tz, subscriber_id,
                                            settings.dedup_threshold)
    finally:
        await store.close()
    print(note or text)
    if note:
        return 0
    first, last = window.first or start.date(), window.last or window.end.date()
    chart = Path(settings.data_dir) / f"digest-{first.isoformat()}--{last.isoformat()}{'' if args.chat is None else f'-{args.chat}'}.png"
    chart.parent.mkdir(parents=True, exist_ok=True)
    chart.write_bytes(png)
    print(f"Chart: {chart}")
    return 0



async def _print_digest(args: argparse.Namespace, settings, now: datetime) -> int:
    store = await Store.open(settings.db_path)
    try:
        tz, digest_time, subscriber_id, calendar = settings.tz, settings.digest_time, None, args.calendar_day
        if args.chat is not None:
            subscriber = await subscriber_by_chat(store, args.chat, active_only=False)
            if subscriber is None:
                raise UsageError(f"no subscriber with chat id {args.chat}")
            tz, digest_time, subscriber_id = subscriber.tz, subscriber.digest_time, subscriber.id
            if calendar and not subscriber.digest_calendar_day:
                args.print_only = True  # sending would send the subscriber's own 24-hour digest
                print("Printing only: this subscriber's digests cover the 24 hours to its digest time "
                      "(`dozor subscribers set CHAT_ID --calendar-day on` changes that).")
            calendar = calendar or subscriber.digest_calendar_day
        day, named = due_day(args.date, calendar, now, digest_time, tz)
        text, png = await digest_for_day(store, day, now, tz, digest_time, subscriber_id,
                                         settings.dedup_threshold, calendar)
    finally:
        await store.close()
    print(text)
    chart = Path(settings.data_dir) / f"digest-{named.isoformat()}{'' if args.chat is None else f'-{args.chat}'}.png"
    chart.parent.mkdir(parents=True, exist_ok=True)
    chart.write_bytes(png)
    print(f"Chart: {chart}")
    if not args.print_only:
        return await _send_or_explain(args, settings, day, now)
    return 0


def due_day(text: str | None, calendar: bool, now: datetime, digest_time: str, tz: str) -> tuple[date, date]:
    """(the day the digest is due, the day the user named): with `calendar` the named day is the
    calendar day covered (default yesterday) and its digest is due the next day."""
    today = now.astimezone(ZoneInfo(tz)).date()
    if calendar:
        named = parse_digest_day(text, today) if text else today - timedelta(days=1)
        return named + timedelta(days=1), named
    day = parse_digest_day(text, today) if text else last_due_day(now, digest_time, tz)
    return day, day


async def _send_or_explain(args: argparse.Namespace, settings, day: date, now: datetime) -> int:
    """Send the digest to --chat through Telegram, when that can be done from here."""
    from bot.telegram.live import live_is_running  # Telethon: imported only when sending

    why = None
    if args.chat is None:
        why = "give --chat ID to send one subscriber's digest"
    elif not settings.has_telegram:
        why = "no Telegram credentials are set"
    elif live_is_running(settings):
        why = "`dozor run` is running and owns the Telegram session: use /digest in the chat"
    if why:
        print(f"Not sent: {why}.")
        return 0
    sent = await send_digest_now(settings, args.chat, day, now)
    print("Sent." if sent else f"Not sent: the digest for {day} was already sent to chat {args.chat}.")
    return 0


async def send_digest_now(settings, chat_id: int, day: date, now: datetime) -> bool:
    """Log in as the bot (or the user account), send one digest once, disconnect."""
    from bot.app.live import LiveOptions, open_sender  # Telethon: imported only when sending
    from bot.delivery.target_sink import target_senders
    from bot.models import TARGET_KINDS

    store = await Store.open(settings.db_path)
    subscriber = await subscriber_by_chat(store, chat_id, active_only=False)
    if subscriber is not None and subscriber.kind in TARGET_KINDS:  # a webhook or Apprise URL: no Telegram
        senders, close = target_senders(settings)
        try:
            return await send_digest(store, senders[subscriber.kind], subscriber, day, now, settings.dedup_threshold)
        finally:
            await close()
            await store.close()
    sender, bot, user, _alert_chat = await open_sender(settings, LiveOptions(digests=False))
    try:
        return await send_digest(store, sender, subscriber, day, now, settings.dedup_threshold)
    finally:
        for client in (bot, user):
            if client is not None:
                await client.disconnect()
        await store.close()
