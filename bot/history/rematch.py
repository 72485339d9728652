"""Rematch: match stored posts again against the live rule set, after the rules changed.

A post stored while a rule was missing, disabled or different keeps the
matches it had; `rematch` adds the matches of rules it did not match before
(it never removes one: what was found stays found). With `alert`, each new
match, and each match an earlier rematch recorded without `alert`, goes to the outbox like a live one, for the subscribers that want it, marked
late; a subscriber that already has an alert for the post (an outbox row, or
an alert message showing it, first or grouped in) gets none. So a rematch
without `alert` to look first, then one with it, still alerts.
Posts are read in pages of PAGE, each page's writes one transaction. `now` is
an argument.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import aiosqlite

from bot.models import Match, Post
from bot.pipeline import Matcher
from bot.storage.alert_log import subscribers_shown
from bot.storage.db import Store
from bot.storage.outbox import enqueue
from bot.storage.posts import add_matches, mark_alerted_late, stored_posts_page
from bot.storage.subscribers import recipients

PAGE = 500


@dataclass
class RematchResult:
    posts: int = 0  # stored posts read
    matched_posts: int = 0  # posts that gained at least one match
    by_rule: Counter = field(default_factory=Counter)  # rule id -> posts newly matched
    alerts: int = 0  # outbox rows added
    first: datetime | None = None  # dates of the posts read
    last: datetime | None = None


async def rematch_posts(store: Store, rules: Matcher, now: datetime, since: datetime | None = None,
                        until: datetime | None = None, alert: bool = False) -> RematchResult:
    """Match the live posts dated in [since, until) again; record new matches (and queue alerts)."""
    result, after = RematchResult(), 0
    while page := await stored_posts_page(store, since, until, after, PAGE):
        after = page[-1][0]
        found: list[tuple[int, Post, list[Match], list[Match]]] = []
        for post_id, post, had, later in page:
            result.posts += 1
            result.first = min(result.first or post.date, post.date)
            result.last = max(result.last or post.date, post.date)
            new = [m for m in rules.match(post) if m.rule_id not in had]
            if new or (alert and later):
                found.append((post_id, post, new, later))
        if found:
            result.alerts += await store.write(lambda conn: _record(conn, found, now, alert))
            result.matched_posts += sum(1 for *_, new, _later in found if new)
            result.by_rule.update(m.rule_id for *_, new, _later in found for m in new)
    return result


async def _record(conn: aiosqlite.Connection, found: list[tuple[int, Post, list[Match], list[Match]]],
                  now: datetime, alert: bool) -> int:
    queued = 0
    for post_id, post, new, later in found:
        await add_matches(conn, post_id, new, now, rematched=not alert)
        if not alert:
            continue
        shown = await subscribers_shown(conn, post.channel_id, post.message_id)
        wanting = [r for r in await recipients(conn, new + later, now) if r.subscriber_id not in shown]
        added = await enqueue(conn, post_id, wanting, now)  # one alert per (subscriber, post), ever
        await mark_alerted_late(conn, post_id, [m.rule_id for m in new + later], late=bool(added))
        queued += added
    return queued
