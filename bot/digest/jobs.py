"""Digest glue: load the period's rows, build the digest, send it through a Sender, record it once.

A Telegram subscriber gets the HTML parts and the chart photo; a webhook or
Apprise subscriber gets one TargetMessage (bot/digest/target_digest.py) through
the sender of its kind, and its target's health is recorded as for alerts.

`threshold` is the "same story" similarity (settings.dedup_threshold) the
digest groups posts by, the same one the alert sinks use.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from typing import Awaitable, Callable
from zoneinfo import ZoneInfo

from bot.digest.chart import render_chart, windows_label
from bot.digest.build import Digest, build_digest
from bot.digest.render import render_html, render_text
from bot.formatting import escape
from bot.digest.target_digest import has_chart, target_digest_message
from bot.errors import Forbidden
from bot.models import TARGET_KINDS, Outgoing, Subscriber, SubscriberKind
from bot.delivery.senders import Sender
from bot.storage.db import Store
from bot.storage.digests import claim_digest, load_digest_data, release_digest
from bot.storage.targets import record_failure, record_success, target_of
from bot.stories import DEFAULT_THRESHOLD

log = logging.getLogger(__name__)
CHART_TITLE = "Matched posts per topic"


def digest_period(day: date, digest_time: str, tz: str, calendar_day: bool = False) -> tuple[datetime, datetime]:
    """The period of the digest due at `digest_time` on `day` in `tz`, as aware datetimes: the 24 hours
    ending then, or with `calendar_day` the day before it, 00:00 to 24:00."""
    zone = ZoneInfo(tz)
    hours, minutes = (0, 0) if calendar_day else (int(part) for part in digest_time.split(":"))
    end = datetime.combine(day, time(hours, minutes), tzinfo=zone)
    start = datetime.combine(day - timedelta(days=1), time(hours, minutes), tzinfo=zone)
    return start, end


def chart_png(digest: Digest) -> bytes:
    """The digest's chart: stacked bars per window, the title naming the period, year and zone."""
    return render_chart(digest.chart_windows, digest.chart_series, CHART_TITLE, digest.tz)


def chart_caption(digest: Digest) -> str:
    return f"{CHART_TITLE}, {windows_label(digest.chart_windows)} ({digest.tz})"


def last_due_day(now: datetime, digest_time: str, tz: str) -> date:
    """The local day of the most recent digest time at or before `now`."""
    local = now.astimezone(ZoneInfo(tz))
    day = local.date()
    _, end = digest_period(day, digest_time, tz)
    return day if end <= now else day - timedelta(days=1)


async def digest_text_for_period(store: Store, start: datetime, end: datetime, tz: str,
                                 threshold: float = DEFAULT_THRESHOLD) -> str:
    """Plain-text digest of everything matched in [start, end), all rules (terminal, no HTML)."""
    data = await load_digest_data(store, start, end)
    return render_text(build_digest(data, end, tz, threshold))


async def build_day_digest(store: Store, day: date, now: datetime, tz: str, digest_time: str,
                           subscriber_id: int | None = None, threshold: float = DEFAULT_THRESHOLD,
                           calendar_day: bool = False) -> Digest:
    """The digest due on `day` (bot.digest.jobs.digest_period); all rules unless a subscriber is given."""
    start, end = digest_period(day, digest_time, tz, calendar_day)
    data = await load_digest_data(store, start, end, subscriber_id)
    return build_digest(data, now, tz, threshold)


def digest_messages(digest: Digest, chat_id: int, topic_id: int | None = None) -> list[Outgoing]:
    """The text parts, then the chart as a photo (only when the 14 days had any match); into the
    forum topic `topic_id` when the subscriber is bound to one."""
    messages = [Outgoing(chat_id, part, silent=False, topic_id=topic_id) for part in render_html(digest)]
    if has_chart(digest):
        messages.append(Outgoing(chat_id, escape(chart_caption(digest)), silent=True, photo=chart_png(digest),
                                 topic_id=topic_id))
    return messages


async def subscriber_digest_messages(store: Store, digest: Digest, subscriber: Subscriber, day: date) -> list:
    """What the subscriber's digest is sent as: Outgoing messages for a chat, one TargetMessage for a target."""
    if subscriber.kind not in TARGET_KINDS:
        return digest_messages(digest, subscriber.chat_id, subscriber.topic_id)
    target = await target_of(store, subscriber.id)
    if target is None:
        raise Forbidden(subscriber.chat_id, "no webhook or Apprise URL stored for this subscriber")
    chart = chart_png(digest) if target.kind == SubscriberKind.APPRISE and has_chart(digest) else None
    return [target_digest_message(digest, target, subscriber.chat_id, day, chart)]


async def send_digest(store: Store, sender: Sender, subscriber: Subscriber, day: date, now: datetime,
                      threshold: float = DEFAULT_THRESHOLD) -> bool:
    """Send the subscriber's digest for `day` once; False if it was already sent.

    The (subscriber, day) record is written before sending, so two callers or a
    restart never send it twice. If nothing at all could be sent, the record is
    removed and the error raised, so a later attempt may try again.
    """
    if not await claim_digest(store, subscriber.id, day, now):
        log.info("digest for subscriber %s on %s was already sent", subscriber.id, day)
        return False
    sent = 0
    try:
        digest = await build_day_digest(store, day, now, subscriber.tz, subscriber.digest_time, subscriber.id,
                                        threshold, subscriber.digest_calendar_day)
        for message in await subscriber_digest_messages(store, digest, subscriber, day):
            await sender.send(message)
            sent += 1
    except BaseException as exc:
        if sent == 0:
            await release_digest(store, subscriber.id, day)
        log.exception("digest for subscriber %s on %s failed after %d messages", subscriber.id, day, sent)
        if subscriber.kind in TARGET_KINDS and isinstance(exc, Exception):
            error = f"digest: {exc}"
            await store.write(lambda conn: record_failure(conn, subscriber.id, error, now))
        raise
    if subscriber.kind in TARGET_KINDS:
        await store.write(lambda conn: record_success(conn, subscriber.id, now))
    log.info("digest for subscriber %s on %s sent in %d messages (%d matched posts)",
             subscriber.id, day, sent, digest.posts_matched)
    return True


async def digest_for_day(store: Store, day: date, now: datetime, tz: str, digest_time: str,
                         subscriber_id: int | None = None, threshold: float = DEFAULT_THRESHOLD,
                         calendar_day: bool = False) -> tuple[str, bytes]:
    """Plain text and chart PNG of one day's digest, without sending or recording (CLI)."""
    digest = await build_day_digest(store, day, now, tz, digest_time, subscriber_id, threshold, calendar_day)
    return render_text(digest), chart_png(digest)


async def digest_for_period(store: Store, start: datetime, end: datetime, now: datetime, tz: str,
                            subscriber_id: int | None = None, threshold: float = DEFAULT_THRESHOLD
                            ) -> tuple[str, bytes]:
    """Plain text and chart PNG of the digest of [start, end) (`dozor digest --from --to`), nothing sent."""
    data = await load_digest_data(store, start, end, subscriber_id)
    digest = build_digest(data, min(now, end), tz, threshold)
    return render_text(digest), chart_png(digest)


async def digest_html_parts(store: Store, subscriber: Subscriber, day: date, now: datetime,
                            threshold: float = DEFAULT_THRESHOLD) -> list[str]:
    """The subscriber's digest for `day` as HTML messages, without sending or recording (/digest)."""
    digest = await build_day_digest(store, day, now, subscriber.tz, subscriber.digest_time, subscriber.id,
                                    threshold, subscriber.digest_calendar_day)
    return render_html(digest)


def digest_command(store: Store, clock: Callable[[], datetime], threshold: float = DEFAULT_THRESHOLD
                   ) -> Callable[[Subscriber, date], Awaitable[str]]:
    """The `Ctx.digest` callable for /digest: the day's digest as one HTML text (parts joined by a line)."""

    async def digest(subscriber: Subscriber, day: date) -> str:
        return "\n".join(await digest_html_parts(store, subscriber, day, clock(), threshold))

    return digest
