"""Rule preview: what a draft rule or query would have matched in a date range, against the saved rule.

Fast enough to run as an operator types. The answers are `run_backtest`'s:
the same lemma-index candidates (a query's candidates are the union of its
clauses', bot/history/clauses.py) and the same evaluation of each candidate's
stored text. What makes it fast is memory kept per open store
(`PreviewIndex`): each clause's candidate ids (extended above the last post id
seen, never re-read), each checked post's verdict per clause and its key
signature. A preview then checks only the clauses it has not met before, and
only on posts whose signature allows them, so the saved rule costs nothing
and an edited alternative costs the posts that hold its words. Edited posts
are forgotten and checked again. A query with an alternative the lemma index
cannot look up (only NOT or a regex) falls back to the backtest's scan of the
newest SCAN_LIMIT posts. `warm` fills the memory for the saved rules off the
request path (the console starts it when it starts), so even the first
preview after a start reads no text for an unchanged rule.
"""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
import weakref
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Sequence

from bot.history.backtest import SCAN_LIMIT, Target, check_rows, post_summary, query_target, rule_target
from bot.history.clauses import Clause, signature, split_clauses
from bot.models import RuleDef
from bot.rules import RuleSyntaxError, compile_query, compile_rules
from bot.storage.candidates import candidate_dates, edited_posts, posts_to_check
from bot.storage.db import Store, to_iso
from bot.storage.history import history_posts, newest_posts_since
from bot.storage.lemma_index import indexed_up_to, refresh_lemma_index
from bot.text import analyze

log = logging.getLogger(__name__)

LISTED = 20  # new and lost hits listed with their excerpts
MAX_CLAUSES = 4_000  # clauses remembered per store before the memory starts over
MAX_POSTS = 200_000  # posts remembered per store (about 1.7 KiB each once checked) before it starts over


@dataclass
class HitSet:
    """The posts a rule or query matches in a range: post id -> the post's date (ISO text)."""

    label: str
    posts: dict[int, str] = field(default_factory=dict)
    capped: bool = False  # no indexable word: only the newest SCAN_LIMIT posts of the range were read

    def per_day(self) -> list[tuple[str, int]]:
        """(YYYY-MM-DD, hits) of every day with a hit, oldest first."""
        return sorted(Counter(date[:10] for date in self.posts.values()).items())


@dataclass
class Preview:
    draft: HitSet
    saved: HitSet
    days: list[tuple[str, int, int]]  # (YYYY-MM-DD, draft hits, saved hits), oldest first, days with a hit
    added: list[dict]  # newest first, up to `listed`: post summaries (bot.history.backtest.post_summary)
    lost: list[dict]
    added_total: int = 0
    lost_total: int = 0
    seconds: float = 0.0


class _Post:
    """What the preview knows of one post: bit i of `checked`/`true` is clause i's verdict."""

    __slots__ = ("date", "sig", "lowers", "keysets", "checked", "true", "lang", "channel", "channel_id")

    def __init__(self, date: str):
        self.date = date
        self.forget()

    def forget(self) -> None:
        self.sig: int | None = None
        self.lowers: tuple[str, ...] = ()  # its distinct token forms (lower case) and their key sets
        self.keysets: tuple[frozenset[str], ...] = ()
        self.checked = self.true = 0
        self.lang, self.channel, self.channel_id = "", None, None


class PreviewIndex:
    """Clause verdicts, candidate ids and key signatures of one store, kept between previews."""

    def __init__(self):
        self.lock = asyncio.Lock()
        self.posts_read = 0  # texts read and analyzed, over the index's life (for tests and benches)
        self.reset()

    def reset(self) -> None:
        self.bits: dict[str, int] = {}
        self.clauses: list[Clause] = []
        self.candidates: dict[int, set[int]] = {}
        self.upto: dict[int, int] = {}
        self.posts: dict[int, _Post] = {}
        self.edit_mark = 0

    def bit(self, clause: Clause) -> int:
        if clause.name not in self.bits:
            self.bits[clause.name] = len(self.clauses)
            self.clauses.append(clause)
        return self.bits[clause.name]


_indexes: "weakref.WeakKeyDictionary[Store, PreviewIndex]" = weakref.WeakKeyDictionary()


class _Subject:
    """A rule or query: its clauses' bits, its exclude's bit, and the whole-post check (for listings)."""

    def __init__(self, what: str | RuleDef):
        if isinstance(what, RuleDef):
            self.rule = compile_rules([dataclasses.replace(what, enabled=True)]).rules[0]
            self.target: Target = rule_target(what)
            node, exclude = self.rule.node, self.rule.exclude
        else:
            self.rule = None
            self.target = query_target(what)
            node, exclude = compile_query(what).node, None
        self.label = self.target.label
        self.clauses = [Clause(n) for n in split_clauses(node)]
        self.exclude = Clause(exclude) if exclude is not None else None
        self.indexable = all(c.fts for c in self.clauses)

    def bind(self, index: PreviewIndex) -> None:
        self.bits = sorted({index.bit(c) for c in self.clauses})
        self.mask = sum(1 << b for b in self.bits)
        self.exclude_bit = None if self.exclude is None else index.bit(self.exclude)


async def rule_hits(store: Store, query_or_rule: str | RuleDef, start: datetime, end: datetime | None = None,
                    lemmatize: Callable[[str], str] | None = None) -> HitSet:
    """The posts dated start <= date < end (no end: any later) that a rule (even a disabled one)
    or a query matches: a backtest's hits. Raises bot.rules.RuleSyntaxError for a bad query."""
    subject = _Subject(query_or_rule)
    await refresh_lemma_index(store, lemmatize)
    return (await _hit_sets(store, [subject], start, end))[0]


async def warm(store: Store, rules: Sequence[RuleDef], start: datetime,
               lemmatize: Callable[[str], str] | None = None) -> int:
    """Work out each rule's hits since `start` once, so later previews of them (and of drafts that
    share their alternatives) read no text. One rule at a time under the index's lock, so a preview
    asked meanwhile waits for one rule at most. Rules the lemma index cannot narrow keep nothing and
    are skipped; a rule that no longer compiles is logged and skipped. Returns how many were warmed."""
    await refresh_lemma_index(store, lemmatize)
    warmed = 0
    for rule in rules:
        try:
            subject = _Subject(rule)
        except (RuleSyntaxError, ValueError) as exc:
            log.warning("preview warm-up: rule %s skipped: %s", rule.id, exc)
            continue
        if subject.indexable:
            await _hit_sets(store, [subject], start, None)
            warmed += 1
    return warmed


def posts_read(store: Store) -> int:
    """How many post texts the previews of `store` have read so far."""
    index = _indexes.get(store)
    return 0 if index is None else index.posts_read


async def preview(store: Store, query_or_rule: str | RuleDef, saved_rule: RuleDef | None, start: datetime,
                  end: datetime | None = None, lemmatize: Callable[[str], str] | None = None,
                  listed: int = LISTED) -> Preview:
    """A draft (query text or rule) against the saved rule (None: a new rule) over start <= date < end:
    per-day counts of both, and the posts only the draft matches (added) or only the saved one (lost)."""
    started = time.perf_counter()
    draft = _Subject(query_or_rule)
    saved = _Subject(saved_rule) if saved_rule is not None else None
    await refresh_lemma_index(store, lemmatize)
    found = await _hit_sets(store, [draft] + ([saved] if saved else []), start, end)
    draft_hits, saved_hits = found[0], (found[1] if saved else HitSet("no saved rule"))
    added = set(draft_hits.posts) - set(saved_hits.posts)
    lost = set(saved_hits.posts) - set(draft_hits.posts)
    result = Preview(draft_hits, saved_hits, _days(draft_hits, saved_hits),
                     await _summaries(store, draft.target, added, draft_hits, listed),
                     await _summaries(store, saved.target, lost, saved_hits, listed) if saved else [],
                     len(added), len(lost))
    result.seconds = time.perf_counter() - started
    return result


def _days(draft: HitSet, saved: HitSet) -> list[tuple[str, int, int]]:
    a, b = dict(draft.per_day()), dict(saved.per_day())
    return [(day, a.get(day, 0), b.get(day, 0)) for day in sorted(set(a) | set(b))]


async def _summaries(store: Store, target: Target, post_ids: set[int], hits: HitSet, listed: int) -> list[dict]:
    newest = sorted(post_ids, key=lambda i: (hits.posts[i], i), reverse=True)[:listed]
    rows = await history_posts(store, newest) if newest else {}

    def summarize() -> list[dict]:  # the spans analyze each text: off the event loop
        return [post_summary(rows[i], target.spans(rows[i]["text"], rows[i]["channel"], rows[i]["channel_id"]))
                for i in newest if i in rows]

    return await asyncio.to_thread(summarize)


async def _hit_sets(store: Store, subjects: list[_Subject], start: datetime, end: datetime | None) -> list[HitSet]:
    index = _indexes.setdefault(store, PreviewIndex())
    async with index.lock:
        if len(index.clauses) > MAX_CLAUSES or len(index.posts) > MAX_POSTS:
            index.reset()
        indexed = [s for s in subjects if s.indexable]
        for subject in indexed:
            subject.bind(index)
        await _forget_edited(store, index)
        await _extend_candidates(store, index, [b for s in indexed for b in s.bits])
        since, until = to_iso(start), None if end is None else to_iso(end)
        ranges = {id(s): _in_range(index, s, since, until) for s in indexed}
        await _check(store, index, _merged(_unknown_query(index, s, ranges[id(s)]) for s in indexed))
        trues = {id(s): [p for p in ranges[id(s)] if index.posts[p].true & s.mask] for s in indexed}
        await _check(store, index, _merged(_unknown_exclude(index, s, trues[id(s)]) for s in indexed))
        return [await _scanned(store, s, start, end) if not s.indexable else _hits(index, s, trues[id(s)])
                for s in subjects]


def _merged(per_subject) -> dict[int, int]:
    """post id -> every clause bit some subject needs checked on it."""
    wanted: dict[int, int] = {}
    for pairs in per_subject:
        for post_id, bits in pairs:
            wanted[post_id] = wanted.get(post_id, 0) | bits
    return wanted


async def _forget_edited(store: Store, index: PreviewIndex) -> None:
    edited, index.edit_mark = await edited_posts(store, index.edit_mark)
    for post_id in edited:
        if post_id in index.posts:
            index.posts[post_id].forget()


async def _extend_candidates(store: Store, index: PreviewIndex, bits: list[int]) -> None:
    """Each clause's candidate ids up to the lemma index's last post (read once, then only what is newer)."""
    upto = await indexed_up_to(store)
    for b in set(bits):
        after = index.upto.get(b, 0)
        if after >= upto:
            continue
        found = index.candidates.setdefault(b, set())
        for post_id, date in await candidate_dates(store, index.clauses[b].fts, after, upto):
            found.add(post_id)
            if post_id not in index.posts:
                index.posts[post_id] = _Post(date)
        index.upto[b] = upto


def _in_range(index: PreviewIndex, subject: _Subject, since: str, until: str | None) -> list[int]:
    ids = set().union(*(index.candidates.get(b, ()) for b in subject.bits))
    posts = index.posts
    return [p for p in ids if posts[p].date >= since and (until is None or posts[p].date < until)]


def _open_bits(index: PreviewIndex, post: _Post, bits: list[int]) -> int:
    """The bits among `bits` whose verdict on `post` is unknown and that its signature allows."""
    unknown = 0
    for b in bits:
        if post.checked >> b & 1:
            continue
        clause = index.clauses[b]
        if post.sig is None:
            unknown |= 1 << b
        elif clause.possible is not None and not clause.possible(post.sig):
            post.checked |= 1 << b  # a sure "no": the post lacks a word the clause needs
        elif clause.by_words is not None:
            post.checked |= 1 << b
            if clause.by_words(post.lowers, post.keysets):
                post.true |= 1 << b
        else:
            unknown |= 1 << b
    return unknown


def _unknown_query(index: PreviewIndex, subject: _Subject, ids: list[int]):
    for p in ids:
        post = index.posts[p]
        if not post.true & subject.mask and (subject.mask & ~post.checked):
            unknown = _open_bits(index, post, subject.bits)
            if unknown and not post.true & subject.mask:
                yield p, unknown


def _unknown_exclude(index: PreviewIndex, subject: _Subject, ids: list[int]):
    if subject.exclude_bit is None:
        return
    for p in ids:
        unknown = _open_bits(index, index.posts[p], [subject.exclude_bit])
        if unknown:
            yield p, unknown


async def _check(store: Store, index: PreviewIndex, wanted: dict[int, int]) -> None:
    """Analyze each wanted post once and record the verdicts of its wanted clause bits."""
    if not wanted:
        return
    rows = await posts_to_check(store, sorted(wanted))
    index.posts_read += len(rows)
    await asyncio.to_thread(_check_rows, index, rows, wanted)  # off the event loop: alerts keep flowing


def _check_rows(index: PreviewIndex, rows, wanted: dict[int, int]) -> None:
    every = 0
    for unknown in wanted.values():
        every |= unknown
    scope = frozenset().union(*(index.clauses[b].word_keys for b in _bits(every)))
    plans: dict[int, list[tuple[int, Clause]]] = {}
    for row in rows:
        post, unknown = index.posts[row["id"]], wanted[row["id"]]
        doc = analyze(row["text"])
        if post.sig is None:
            post.sig = signature(doc)
            post.lowers = tuple({tok.lower for tok in doc.tokens})
            post.keysets = tuple({tok.keys for tok in doc.tokens})
            post.lang, post.channel, post.channel_id = doc.lang, row["channel"], row["channel_id"]
        present = doc.keyset()
        scoped = False
        plan = plans.get(unknown) or plans.setdefault(unknown, [(b, index.clauses[b]) for b in _bits(unknown)])
        for b, clause in plan:
            post.checked |= 1 << b
            if clause.keys is not None and present.isdisjoint(clause.keys):
                continue  # as Or.evaluate and the rule index skip it
            if not scoped:
                doc.by_key(scope)  # one index of every key these clauses ask for, as RuleSet.match_doc builds
                scoped = True
            if clause.node.evaluate(doc) is not None:
                post.true |= 1 << b


def _bits(mask: int) -> list[int]:
    return [b for b in range(mask.bit_length()) if mask >> b & 1]


def _hits(index: PreviewIndex, subject: _Subject, trues: list[int]) -> HitSet:
    rule, posts, found = subject.rule, index.posts, {}
    for p in trues:
        post = posts[p]
        if subject.exclude_bit is not None and post.true >> subject.exclude_bit & 1:
            continue
        if rule is not None and not rule.allows(post.channel, post.channel_id, post.lang):
            continue
        found[p] = post.date
    return HitSet(subject.label, found)


async def _scanned(store: Store, subject: _Subject, start: datetime, end: datetime | None) -> HitSet:
    """The backtest's way for a query the lemma index cannot narrow: the newest SCAN_LIMIT posts."""
    rows = await newest_posts_since(store, start, SCAN_LIMIT + 1)
    capped = len(rows) > SCAN_LIMIT
    rows = [r for r in rows[:SCAN_LIMIT] if end is None or r["date"] < to_iso(end)]
    hits = await asyncio.to_thread(check_rows, subject.target, rows)
    return HitSet(subject.label, {row["id"]: date for date, _, row, _ in hits}, capped)
