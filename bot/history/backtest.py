"""Backtest: how many stored posts a rule (or a query) would have matched, per day and
per channel, with the five newest, before it goes live.

The lemma index (bot/storage/lemma_index.py) narrows the posts to a superset
of the matches; the rule engine then checks each candidate's stored text.
`now` is an argument; nothing here reads the clock except the elapsed-time figure.
A backtest covers the last `days` days, or a [since, until) window (the CLI's
--from/--to); days are counted and times shown in the zone `tz`, labelled.
An argument that looks like a rule id but names none is an UnknownRule error
listing the nearest ids, never a silent search for that word.
"""
from __future__ import annotations

import asyncio
import dataclasses
import difflib
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from bot.errors import UsageError
from bot.formatting import excerpt, format_time, post_link, zone
from bot.history.clauses import needs_hash_sign
from bot.models import Span
from bot.rules import compile_query, compile_rules
from bot.rules.nodes import MAX_RULE_REGEXES
from bot.rules.rulefile import RULE_ID
from bot.storage.db import Store, from_iso
from bot.storage.history import indexed_posts_since, newest_posts_since
from bot.storage.lemma_index import refresh_lemma_index
from bot.storage.rules import get_rule, load_rule_defs

EXCERPT_CHARS = 160  # one line of a backtest or search result
SCAN_LIMIT = 3_000  # newest posts checked one by one when a query has no indexable term (~1 ms each)


@dataclass(frozen=True)
class Target:
    """A rule or an ad-hoc query, ready to check texts."""

    label: str
    fts: str | None  # FTS5 query over posts_lemmas selecting a superset, or None
    spans: Callable[[str, str | None, int | None], list[Span]]  # (text, channel, channel_id)
    needs_hash: bool = False  # true only on texts with a '#' (a hashtag query): others are skipped unread


class UnknownRule(UsageError):
    """A rule id that names no rule: `nearest` are the closest ids; `instead` says what else to do."""

    def __init__(self, rule_id: str, nearest: list[str], instead: str = ""):
        close = f"; nearest: {', '.join(nearest)}" if nearest else "; there are no rules yet"
        super().__init__(f"no rule with id {rule_id!r}{close}" + (f". {instead}" if instead else ""))
        self.rule_id = rule_id
        self.nearest = nearest


OPERATOR_WORDS = {"AND", "OR", "NOT", "NEAR"}


def looks_like_rule_id(text: str) -> bool:
    """One token a rule id could be: no spaces, quotes, operators or wildcards (ASCII letters, digits, _ . -)."""
    return bool(RULE_ID.match(text)) and text.upper() not in OPERATOR_WORDS and not text.upper().startswith("NEAR/")


def nearest_ids(text: str, ids: list[str], count: int = 5) -> list[str]:
    """The ids most like `text` (difflib), else the first few ids."""
    by_case = {rule_id.lower(): rule_id for rule_id in ids}
    close = difflib.get_close_matches(text.lower(), list(by_case), n=count, cutoff=0.5)
    return [by_case[rule_id] for rule_id in close] or sorted(ids)[:count]


@dataclass
class BacktestResult:
    label: str
    days: int
    since: datetime | None
    until: datetime | None = None
    window: str | None = None  # the window's label ("from 28.11.2026 to 29.11.2026 (MSK)"); None: the last `days` days
    tz: str | None = None
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


async def resolve_target(store: Store, target: str, as_query: bool = False,
                         query_option: str | None = None) -> Target:
    """A stored rule's id, or else a query (always a query when `as_query`).

    Raises UnknownRule when `target` looks like a rule id and is none (`query_option`,
    e.g. "--query", is named in the message as the way to search the word)."""
    text = target.strip()
    if as_query:
        return query_target(target)
    rule = await get_rule(store, text) if " " not in text else None
    if rule is not None:
        return rule_target(rule)
    if looks_like_rule_id(text):
        instead = f'To search for the word instead, write it in double quotes ("{text}")' + (
            f" or use {query_option}" if query_option else "")
        raise UnknownRule(text, nearest_ids(text, [r.id for r in await load_rule_defs(store)]), instead)
    return query_target(target)


async def candidate_rows(store: Store, target: Target, since: datetime | None, until: datetime | None = None):
    """Posts in [since, until) that may match: from the lemma index, or the newest SCAN_LIMIT."""
    if target.fts:
        return await indexed_posts_since(store, target.fts, since, until), False
    rows = await newest_posts_since(store, since, SCAN_LIMIT + 1, until)
    return rows[:SCAN_LIMIT], len(rows) > SCAN_LIMIT


async def run_backtest(store: Store, target: Target, now: datetime, days: int = 30,
                       lemmatize: Callable[[str], str] | None = None, *, tz: str | None = None,
                       window: tuple[datetime | None, datetime | None, str] | None = None) -> BacktestResult:
    """Count what `target` matches among posts of the last `days` days before `now`,
    or in `window` (since, until, label); per day in zone `tz` (UTC when None)."""
    started = time.perf_counter()
    await refresh_lemma_index(store, lemmatize)
    since, until, label = window or (now - timedelta(days=days), None, None)
    result = BacktestResult(target.label, days, since, until, label, tz)
    rows, result.capped = await candidate_rows(store, target, since, until)
    result.candidates = len(rows)
    hits = await asyncio.to_thread(check_rows, target, rows)  # keeps the event loop (alerts) responsive
    by_day, by_channel = Counter(), Counter()
    for _, _, row, _ in hits:
        by_day[local_day(row["date"], tz)] += 1
        by_channel[channel_label(row)] += 1
    result.total = len(hits)
    result.per_day = sorted(by_day.items(), reverse=True)
    result.per_channel = by_channel.most_common()
    hits.sort(key=lambda h: (h[0], h[1]), reverse=True)
    result.newest = [post_summary(row, spans) for _, _, row, spans in hits[:5]]
    result.seconds = time.perf_counter() - started
    return result


def local_day(stored_date: str, tz: str | None) -> str:
    """The YYYY-MM-DD day, in zone `tz`, of a stored UTC date."""
    return from_iso(stored_date).astimezone(zone(tz)).date().isoformat()


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


def post_summary(row, spans: list[Span], mark: tuple[str, str] = ("", "")) -> dict:
    return {
        "id": row["id"], "date": row["date"], "channel": channel_label(row),
        "link": post_link(row["channel_id"], row["message_id"], row["channel"], row["link"]),  # t.me or None
        "excerpt": excerpt(row["text"], spans, EXCERPT_CHARS, mark=mark),
    }


def backtest_lines(result: BacktestResult, max_days: int = 14, max_channels: int = 10) -> list[str]:
    """The result as plain-text lines (the bot escapes them into HTML; the CLI prints them)."""
    scope = f"posts among the newest {SCAN_LIMIT}" if result.capped else "posts"
    period = result.window or f"in the last {result.days} days"
    lines = [
        f"Backtest of {result.label}: {result.total} {scope} {period} "
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
            when = format_time(from_iso(post["date"]), result.tz)
            lines.append(f"- {when} {post['channel']} {post['link'] or ''}".rstrip())
            lines.append(f"  {post['excerpt']}")
    return lines
