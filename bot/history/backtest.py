"""Backtest: how many stored posts a rule (or a query) would have matched, per day and
per channel, with the five newest, before it goes live.

The lemma index (bot/storage/lemma_index.py) narrows the posts to a superset
of the matches; the rule engine then checks each candidate's stored text.
`now` is an argument; nothing here reads the clock except the elapsed-time figure.
"""
from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from bot.formatting import excerpt, post_link
from bot.history.clauses import needs_hash_sign
from bot.models import Span
from bot.rules import compile_query, compile_rules
from bot.rules.nodes import MAX_RULE_REGEXES
from bot.storage.db import Store
from bot.storage.history import indexed_posts_since, newest_posts_since
from bot.storage.lemma_index import refresh_lemma_index
from bot.storage.rules import get_rule

EXCERPT_CHARS = 160  # one line of a backtest or search result
SCAN_LIMIT = 3_000  # newest posts checked one by one when a query has no indexable term (~1 ms each)


@dataclass(frozen=True)
class Target:
    """A rule or an ad-hoc query, ready to check texts."""

    label: str
    fts: str | None  # FTS5 query over posts_lemmas selecting a superset, or None
    spans: Callable[[str, str | None, int | None], list[Span]]  # (text, channel, channel_id)
    needs_hash: bool = False  # true only on texts with a '#' (a hashtag query): others are skipped unread


@dataclass
class BacktestResult:
    label: str
    days: int
    since: datetime
    total: int = 0
    candidates: int = 0
    per_day: list[tuple[str, int]] = field(default_factory=list)
    per_channel: list[tuple[str, int]] = field(default_factory=list)
    newest: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    capped: bool = False


def query_target(query: str, max_regex: int | None = None, who: str = "a query") -> Target:
    """Compile an ad-hoc query (at most `max_regex` /regex/ terms, default a rule's cap);
    raises bot.rules.RuleSyntaxError."""
    compiled = compile_query(query, MAX_RULE_REGEXES if max_regex is None else max_regex, who)
    return Target(query, compiled.fts_query(), lambda text, channel, cid: compiled.matches_text(text),
                  needs_hash_sign(compiled.node))


def rule_target(rule) -> Target:
    """A stored rule with its exclude and channel filters, even when it is disabled."""
    ruleset = compile_rules([dataclasses.replace(rule, enabled=True)])
    query = compile_query(rule.query)
    fts = query.fts_query()

    def spans(text: str, channel: str | None, channel_id: int | None) -> list[Span]:
        found = ruleset.match_text(text, channel=channel, channel_id=channel_id)
        return [span for match in found for span in (match.spans or ((0, 0),))]

    return Target(f"rule {rule.id}", fts, spans, needs_hash_sign(query.node))


async def resolve_target(store: Store, target: str) -> Target:
    """A stored rule's id, or else a query."""
    rule = await get_rule(store, target.strip()) if " " not in target.strip() else None
    return rule_target(rule) if rule is not None else query_target(target)


async def candidate_rows(store: Store, target: Target, since: datetime):
    """Posts since `since` that may match: from the lemma index, or the newest SCAN_LIMIT."""
    if target.fts:
        return await indexed_posts_since(store, target.fts, since), False
    rows = await newest_posts_since(store, since, SCAN_LIMIT + 1)
    return rows[:SCAN_LIMIT], len(rows) > SCAN_LIMIT


async def run_backtest(store: Store, target: Target, now: datetime, days: int = 30,
                       lemmatize: Callable[[str], str] | None = None) -> BacktestResult:
    """Count what `target` matches among posts of the last `days` days before `now`."""
    started = time.perf_counter()
    await refresh_lemma_index(store, lemmatize)
    since = now - timedelta(days=days)
    result = BacktestResult(target.label, days, since)
    rows, result.capped = await candidate_rows(store, target, since)
    result.candidates = len(rows)
    hits = await asyncio.to_thread(check_rows, target, rows)  # keeps the event loop (alerts) responsive
    by_day, by_channel = Counter(), Counter()
    for _, _, row, _ in hits:
        by_day[row["date"][:10]] += 1
        by_channel[channel_label(row)] += 1
    result.total = len(hits)
    result.per_day = sorted(by_day.items(), reverse=True)
    result.per_channel = by_channel.most_common()
    hits.sort(key=lambda h: (h[0], h[1]), reverse=True)
    result.newest = [post_summary(row, spans) for _, _, row, spans in hits[:5]]
    result.seconds = time.perf_counter() - started
    return result


def check_rows(target: Target, rows) -> list[tuple[str, int, object, list[Span]]]:
    """(date, id, row, spans) of the rows the target really matches."""
    hits = []
    for row in rows:
        if target.needs_hash and "#" not in row["text"]:
            continue
        spans = target.spans(row["text"], row["channel"], row["channel_id"])
        if spans:
            hits.append((row["date"], row["id"], row, spans))
    return hits


def channel_label(row) -> str:
    if row["channel"]:
        return "@" + row["channel"]
    return row["channel_title"] or str(row["channel_id"])


def post_summary(row, spans: list[Span]) -> dict:
    return {
        "id": row["id"], "date": row["date"], "channel": channel_label(row),
        "link": post_link(row["channel_id"], row["message_id"], row["channel"], row["link"]),  # t.me or None
        "excerpt": excerpt(row["text"], spans, EXCERPT_CHARS, mark=("", "")),
    }


def backtest_lines(result: BacktestResult, max_days: int = 14, max_channels: int = 10) -> list[str]:
    """The result as plain-text lines (the bot escapes them into HTML; the CLI prints them)."""
    scope = f"posts among the newest {SCAN_LIMIT} of" if result.capped else "posts in"
    lines = [
        f"Backtest of {result.label}: {result.total} {scope} the last {result.days} days "
        f"({result.candidates} candidates checked, {result.seconds:.2f} s)",
    ]
    if result.capped:
        lines.append("The query has no word the index can look up (only regex or NOT), so not every post was read.")
    if result.total:
        lines.append("Per day: " + ", ".join(f"{d} {n}" for d, n in result.per_day[:max_days])
                     + (" …" if len(result.per_day) > max_days else ""))
        lines.append("Per channel: " + ", ".join(f"{c} {n}" for c, n in result.per_channel[:max_channels])
                     + (" …" if len(result.per_channel) > max_channels else ""))
        lines.append("Newest:")
        for post in result.newest:
            lines.append(f"- {post['date'][:16].replace('T', ' ')} {post['channel']} {post['link'] or ''}".rstrip())
            lines.append(f"  {post['excerpt']}")
    return lines
