"""Housekeeping for the live app: what operators must hear about, and digests following subscribers.

`AdminNotices.run_once()` sends the admins, once, the channel warnings the
watcher left (silent, private, banned, not found), accounts offline for long
and back again, webhook and Apprise targets failing TARGET_NOTICE_AFTER times in
a row (told again only after they delivered once more) and, once, the same
targets when they deliver again ("back"), and the alerts the outbox parked (a chat that blocked the bot, or too many failures). Each is marked in
the database when at least one admin got it, so a restart does not repeat it.

`SubscriberSync.sync()` re-reads the subscribers and re-schedules the digest
of any that were added, changed (/tz, /start) or deactivated since last time.
"""
from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from typing import Callable, Sequence

from bot.errors import Forbidden
from bot.formatting import escape as esc, plural
from bot.models import TARGET_KINDS, Outgoing, Subscriber, SubscriberKind
from bot.delivery.senders import Sender
from bot.storage.accounts import AccountNotice, mark_account_notices_sent, pending_account_notices
from bot.storage.channels import ChannelWarning, mark_warnings_sent, pending_warnings
from bot.storage.db import Store
from bot.storage.subscribers import active_subscribers
from bot.storage.outbox import mark_reported, unreported_parked
from bot.storage.targets import (FailingTarget, RecoveredTarget, mark_noticed, mark_recovery_noticed,
                                 targets_recovered, targets_to_notice)

log = logging.getLogger(__name__)
MAX_LISTED = 15  # lines per kind in one notice; the rest are counted
TARGET_NOTICE_AFTER = 3  # failed attempts in a row before the admins hear a webhook or Apprise target is failing
WARNING_TEXT = {
    "silent": "has gone silent (much longer than its usual gap between posts)",
    "private": "became private or removed the account",
    "banned": "is banned or unavailable",
    "not_found": "does not exist any more",
    "invalid": "is not known to any account under the id we hold (`dozor channels refresh`)",
    "too_many": "cannot be joined (500 channels); it is polled",
}


def warning_line(warning: ChannelWarning) -> str:
    title = f" ({esc(warning.title)})" if warning.title else ""
    what = WARNING_TEXT.get(warning.kind, esc(warning.kind))
    return f"• {esc(warning.label)}{title} {what}"


def parked_line(row) -> str:
    to = f"{row['kind']} {esc(row['title'])}" if row["kind"] in TARGET_KINDS else f"chat {row['chat_id']}"
    return f"• alert #{row['id']} to {to}: {esc((row['last_error'] or 'no error recorded')[:200])}"


def target_line(target: FailingTarget) -> str:
    since = target.failing_since.strftime("%Y-%m-%d %H:%M UTC") if target.failing_since else "a while"
    return (f"• {target.kind} {esc(target.label)} (subscriber {target.chat_id}): {target.failures} failed attempts "
            f"since {since}, last: {esc(target.last_error[:200])}; its alerts are kept and retried")


def recovered_line(target: RecoveredTarget) -> str:
    since = target.failing_since.strftime("%Y-%m-%d %H:%M UTC") if target.failing_since else "a while"
    return (f"• {target.kind} {esc(target.label)} (subscriber {target.chat_id}) delivers again since "
            f"{target.recovered_at.strftime('%Y-%m-%d %H:%M UTC')} (failing since {since}); "
            "its kept alerts are being sent")


def account_line(notice: AccountNotice) -> str:
    since = notice.since.strftime("%Y-%m-%d %H:%M UTC")
    if notice.kind == "offline":
        return f"• account {esc(notice.account)} has been offline since {since}; Dozor keeps reconnecting"
    minutes = round((notice.at - notice.since).total_seconds() / 60)
    return f"• account {esc(notice.account)} is back (offline since {since}, {minutes} min); missed posts swept"


def notice_html(warnings: Sequence[ChannelWarning], parked: Sequence, parked_total: int,
                accounts: Sequence[AccountNotice] = (), targets: Sequence[FailingTarget] = (),
                recovered: Sequence[RecoveredTarget] = ()) -> str:
    """The admins' message: accounts, failing delivery targets, targets back, channel warnings, then
    parked alerts (at most MAX_LISTED lines each)."""
    parts = ["📡 <b>Connection</b>\n" + "\n".join(account_line(n) for n in accounts)] if accounts else []
    if targets:
        parts.append("🔌 <b>Delivery targets failing</b>\n" + "\n".join(target_line(t) for t in targets[:MAX_LISTED]))
    if recovered:
        parts.append("✅ <b>Delivery targets back</b>\n"
                     + "\n".join(recovered_line(t) for t in recovered[:MAX_LISTED]))
    if warnings:
        lines = [warning_line(w) for w in warnings[:MAX_LISTED]]
        if len(warnings) > MAX_LISTED:
            lines.append(f"… and {len(warnings) - MAX_LISTED} more (/channels)")
        parts.append("⚠️ <b>Channels</b>\n" + "\n".join(lines))
    if parked_total:
        lines = [parked_line(r) for r in parked[:MAX_LISTED]]
        if parked_total > len(lines):
            lines.append(f"… and {parked_total - len(lines)} more (/stats)")
        parts.append(f"📭 <b>{plural(parked_total, 'alert')} could not be delivered</b> (parked)\n" + "\n".join(lines))
    return "\n\n".join(parts)


class AdminNotices:
    """Channel warnings and parked alerts to the admins' chats, once each.

    `record=False` (dry run) keeps them pending in the database and only
    remembers in memory what was shown."""

    def __init__(self, store: Store, sender: Sender, chats: Sequence[int], clock: Callable[[], datetime],
                 record: bool = True):
        self.store = store
        self.sender = sender
        self.chats = list(chats)
        self.clock = clock
        self.record = record
        self._shown_channels: set[int] = set()
        self._shown_rows: set[int] = set()
        self._shown_accounts: set[int] = set()
        self._shown_targets: set[int] = set()
        self._shown_recovered: set[tuple[int, datetime]] = set()

    async def run_once(self) -> int:
        """Send what is pending; returns how many chats received it."""
        warnings = [w for w in await pending_warnings(self.store) if w.channel_id not in self._shown_channels]
        parked = [r for r in await self._parked() if r["id"] not in self._shown_rows]
        accounts = [n for n in await pending_account_notices(self.store) if n.id not in self._shown_accounts]
        targets = [t for t in await targets_to_notice(self.store, TARGET_NOTICE_AFTER)
                   if t.subscriber_id not in self._shown_targets]
        recovered = [t for t in await targets_recovered(self.store)
                     if (t.subscriber_id, t.recovered_at) not in self._shown_recovered]
        if not warnings and not parked and not accounts and not targets and not recovered:
            return 0
        text = notice_html(warnings, parked, len(parked), accounts, targets, recovered)
        if not self.chats:
            log.warning("no DOZOR_ADMINS to tell: %s", text)
            reached = 0
        else:
            reached = await self._send(text)
            if not reached:
                return 0
        await self._mark(warnings, parked)
        await self._mark_accounts([n.id for n in accounts])
        await self._mark_targets([t.subscriber_id for t in targets])
        await self._mark_recovered(recovered)
        return reached

    async def _send(self, text: str) -> int:
        """Send to every admin chat; 0 if none got it and a later pass should try again."""
        reached = forbidden = 0
        for chat_id in self.chats:
            try:
                await self.sender.send(Outgoing(chat_id=chat_id, html=text, silent=False))
                reached += 1
            except Forbidden:
                forbidden += 1
                log.warning("admin chat %s cannot be written to (start the bot from it)", chat_id)
            except Exception as exc:  # RetryLater, network: the next pass tries again
                log.warning("telling admin chat %s failed: %s", chat_id, exc)
        if not reached and forbidden == len(self.chats):
            log.warning("no admin chat can be written to; the notice stays in this log only: %s", text)
            return len(self.chats)  # nobody can ever receive it: do not retry forever
        return reached

    async def _mark_accounts(self, ids: list[int]) -> None:
        if ids and self.record:
            await mark_account_notices_sent(self.store, ids, self.clock())
        self._shown_accounts.update(ids)

    async def _mark_targets(self, ids: list[int]) -> None:
        if ids and self.record:
            now = self.clock()
            await self.store.write(lambda conn: mark_noticed(conn, ids, now))
        self._shown_targets.update(ids)

    async def _mark_recovered(self, recovered: Sequence[RecoveredTarget]) -> None:
        ids = [t.subscriber_id for t in recovered]
        if ids and self.record:
            await self.store.write(lambda conn: mark_recovery_noticed(conn, ids))
        self._shown_recovered.update((t.subscriber_id, t.recovered_at) for t in recovered)
        self._shown_targets.difference_update(ids)  # failing again later is news again

    async def _parked(self) -> list:
        return await unreported_parked(self.store)

    async def _mark(self, warnings: Sequence[ChannelWarning], parked: Sequence) -> None:
        channel_ids, row_ids = [w.channel_id for w in warnings], [r["id"] for r in parked]
        if not self.record:
            self._shown_channels.update(channel_ids)
            self._shown_rows.update(row_ids)
            return
        now = self.clock()
        if channel_ids:
            await mark_warnings_sent(self.store, channel_ids, now)
        if row_ids:
            await self.store.write(lambda conn: mark_reported(conn, row_ids, now))


class SubscriberSync:
    """Keeps the digest scheduler in step with the subscribers table (commands and the CLI change it)."""

    def __init__(self, store: Store, scheduler, include_local: bool = False):
        self.store = store
        self.scheduler = scheduler  # bot.digest.scheduler.DigestScheduler
        self.include_local = include_local
        self.known: dict[int, Subscriber] = {}

    async def current(self) -> dict[int, Subscriber]:
        return {sub.id: sub for sub in await active_subscribers(self.store)
                if self.include_local or sub.kind != SubscriberKind.LOCAL}  # the scheduler skips what it cannot send

    async def prime(self) -> None:
        """What the scheduler scheduled at start."""
        self.known = await self.current()

    async def sync(self) -> int:
        """Re-schedule subscribers added, changed or gone since the last call; returns how many."""
        now = await self.current()
        changed = [sub for sub_id, sub in now.items() if self.known.get(sub_id) != sub]
        gone = [replace(sub, active=False) for sub_id, sub in self.known.items() if sub_id not in now]
        for sub in [*changed, *gone]:
            self.scheduler.reschedule(sub)
            log.info("digest of subscriber %s %s", sub.id,
                     f"at {sub.digest_time} {sub.tz}" if sub.active else "dropped")
        self.known = now
        return len(changed) + len(gone)
