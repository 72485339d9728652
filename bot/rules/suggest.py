"""Rules that learn from feedback: candidate changes to one rule, and what each would do.

Pure: the caller passes posts and labels (from the relevant / not relevant
buttons or marks made in the shell) and gets `Suggestion`s back; nothing is
written here. Two kinds:

- veto: a word, or two adjacent words as a phrase, found in several hits
  marked not relevant and in (almost) none marked relevant. Applied, it joins
  the rule's `exclude`.
- alternative: a word or phrase found in several posts marked relevant (under
  any rule) that this rule misses, and in (almost) none marked not relevant.
  Applied, it is OR-ed onto the rule's query.

Words are compared by lemma (bot/text.py), so one suggestion stands for every
form. Words that are in more than `COMMON_SHARE` of stored posts are never
proposed (they would veto or add nearly anything), nor words the rule already
uses; an alternative must be in fewer than `RARE_SHARE` of them. `effect()`
compiles the changed rule and runs it over stored posts to show the hits it
would add or remove.
"""
from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Iterable

from bot.formatting import plural
from bot.models import RuleDef
from bot.rules.nodes import Prefix, Word, iter_words
from bot.rules.query import parse_query
from bot.rules.ruleset import compile_rules
from bot.text import Doc, analyze, first_lemma

COMMON_SHARE = 0.02  # a word in more stored posts than this is no one's veto
RARE_SHARE = 0.01  # an alternative must be rarer than this among stored posts, or it would flood alerts
MIN_SUPPORT = 2  # labelled posts a suggestion must rest on
MAX_AGAINST = 0.2  # share of the evidence against it that is still tolerated
FLOOD_RATIO, FLOOD_SLACK = 3, 5  # an alternative may add at most 3 stored posts per supporting mark, + 5


@dataclass(frozen=True)
class Post:
    """A stored post as the suggester sees it."""

    id: int
    text: str
    channel: str | None = None
    channel_id: int | None = None

    @cached_property
    def doc(self) -> Doc:
        """The analyzed text, computed once however many rule variants are tried on it."""
        return analyze(self.text)


@dataclass(frozen=True)
class Suggestion:
    kind: str  # "veto" | "alternative"
    term: str  # in the rule language: a word or a "two words" phrase
    support: int  # labelled posts for it (not relevant hits for a veto; missed relevant posts otherwise)
    against: int  # labelled posts against it (relevant hits for a veto; not relevant posts otherwise)

    def apply(self, rule: RuleDef) -> RuleDef:
        """The rule with this change made (a new RuleDef; the old one is untouched)."""
        if self.kind == "veto":
            exclude = f"({rule.exclude}) OR {self.term}" if rule.exclude else self.term
            return dataclasses.replace(rule, exclude=exclude)
        return dataclasses.replace(rule, query=f"({rule.query.strip()}) OR {self.term}")

    def describe(self) -> str:
        if self.kind == "veto":
            return (f'veto {self.term}: in {plural(self.support, "hit")} marked not relevant, '
                    f'{self.against} marked relevant')
        return (f'add {self.term}: in {plural(self.support, "post")} marked relevant that the rule misses, '
                f'{self.against} marked not relevant')


@dataclass(frozen=True)
class Effect:
    added: tuple[int, ...]  # post ids the changed rule matches and the rule did not
    removed: tuple[int, ...]  # post ids the rule matched and the changed rule does not


_lemma = lru_cache(maxsize=200_000)(first_lemma)


def post_terms(text: str | Doc) -> dict[str, str]:
    """Lemma (and "lemma lemma" for adjacent words) -> the term to write in a rule.

    Russian and Ukrainian words are written in their dictionary form, English ones
    as they appear (the rule language lemmatizes either); digits and one- or
    two-letter words are left out.
    """
    doc = analyze(text) if isinstance(text, str) else text
    words = []
    for tok in doc.tokens:
        if len(tok.lower) < 3 or not tok.lower.isalpha() or tok.lang not in ("ru", "uk", "en"):
            words.append(None)
            continue
        lemma = _lemma(tok.lower, tok.lang)
        words.append((lemma, lemma if tok.lang != "en" else tok.lower))
    terms: dict[str, str] = {}
    for i, word in enumerate(words):
        if word is None:
            continue
        terms.setdefault(word[0], word[1])
        nxt = words[i + 1] if i + 1 < len(words) else None
        if nxt is not None:
            terms.setdefault(f"{word[0]} {nxt[0]}", f'"{word[1]} {nxt[1]}"')
    return terms


@dataclass(frozen=True)
class Background:
    """How many of a sample of stored posts hold each single-word lemma."""

    counts: Counter
    total: int

    @classmethod
    def of(cls, texts: Iterable[str]) -> "Background":
        counts: Counter[str] = Counter()
        total = 0
        for text in texts:
            total += 1
            counts.update(k for k in post_terms(text) if " " not in k)
        return cls(counts, total)

    def share(self, key: str) -> float:
        """The share of posts holding the key (a phrase: its rarer word's share)."""
        if not self.total:
            return 0.0
        return min(self.counts[w] for w in key.split(" ")) / self.total

    def common(self) -> frozenset[str]:
        """The stop list learnt from the posts: words in more than COMMON_SHARE of them."""
        return frozenset(k for k, n in self.counts.items() if self.total and n / self.total > COMMON_SHARE)


def used_words(rule: RuleDef) -> tuple[frozenset[str], tuple[str, ...]]:
    """The lemmas and prefixes the rule's query and exclude already name."""
    keys: set[str] = set()
    prefixes: list[str] = []
    for query in (rule.query, rule.exclude):
        if not query:
            continue
        for node in iter_words(parse_query(query)):
            if isinstance(node, Word):
                keys |= node.keyset | {node.lower}
            elif isinstance(node, Prefix):
                prefixes.append(node.lower)
    return frozenset(keys), tuple(prefixes)


def _usable(key: str, common: frozenset[str], used: tuple[frozenset[str], tuple[str, ...]]) -> bool:
    """A word the rule does not use yet and that is not common; a phrase with one
    uncommon word or one of the rule's own words (it narrows what the rule found)."""
    keys, prefixes = used
    words = key.split(" ")
    own = [w in keys or w.startswith(prefixes) for w in words]
    if len(words) == 1:
        return not own[0] and key not in common
    return any(own) or not all(w in common for w in words)


def _ranked(support: Counter, against: Counter, terms: dict[str, str], background: Background, used,
            kind: str, limit: int, min_support: int) -> list[Suggestion]:
    """Keys with enough support and little against, best first (an alternative: the
    rarer among stored posts first); a phrase only when neither of its words would
    do alone with the same support."""
    common = background.common()
    good = {k for k, n in support.items()
            if n >= min_support and against[k] <= MAX_AGAINST * n and _usable(k, common, used)
            and (kind == "veto" or background.share(k) <= RARE_SHARE)}

    def rank(k: str):
        score = support[k] - 2 * against[k]
        if kind == "alternative":
            score /= 1 + background.share(k) * background.total
        return (-score, " " in k, k)

    chosen = []
    for key in sorted(good, key=rank):
        if " " in key and any(w in good and support[w] >= support[key] for w in key.split(" ")):
            continue
        chosen.append(Suggestion(kind, terms[key], support[key], against[key]))
    return chosen[:limit]


def _document_counts(posts: Iterable[Post], terms: dict[str, str]) -> Counter:
    counts: Counter[str] = Counter()
    for post in posts:
        found = post_terms(post.doc)
        counts.update(found.keys())
        for key, term in found.items():
            terms.setdefault(key, term)
    return counts


def suggest_vetoes(rule: RuleDef, relevant_hits: list[Post], irrelevant_hits: list[Post],
                   background: Background, limit: int = 8, min_support: int = MIN_SUPPORT) -> list[Suggestion]:
    """Words frequent in the rule's hits marked not relevant and rare in those marked relevant."""
    terms: dict[str, str] = {}
    bad = _document_counts(irrelevant_hits, terms)
    good = _document_counts(relevant_hits, terms)
    return _ranked(bad, good, terms, background, used_words(rule), "veto", limit, min_support)


def suggest_alternatives(rule: RuleDef, missed_relevant: list[Post], irrelevant: list[Post],
                         background: Background, limit: int = 8,
                         min_support: int = MIN_SUPPORT) -> list[Suggestion]:
    """Words frequent in posts marked relevant that the rule misses, rare in posts marked not relevant."""
    terms: dict[str, str] = {}
    wanted = _document_counts(missed_relevant, terms)
    unwanted = _document_counts(irrelevant, terms)
    return _ranked(wanted, unwanted, terms, background, used_words(rule), "alternative", limit, min_support)


def rule_hits(rule: RuleDef, posts: Iterable[Post]) -> set[int]:
    """Ids of the posts the rule matches (its exclude and channel filters included, even if disabled)."""
    compiled = compile_rules([dataclasses.replace(rule, enabled=True)])
    return {p.id for p in posts if compiled.match_doc(p.doc, p.channel, p.channel_id)}


def effect(rule: RuleDef, changed: RuleDef, posts: Iterable[Post], before: set[int] | None = None) -> Effect:
    """What the changed rule adds and removes among `posts` (compiles both and runs them;
    `before`: the rule's hits among them, when already known)."""
    posts = list(posts)
    if before is None:
        before = rule_hits(rule, posts)
    else:
        before = before & {p.id for p in posts}
    after = rule_hits(changed, posts)
    return Effect(tuple(sorted(after - before)), tuple(sorted(before - after)))


def floods(suggestion: Suggestion, change: Effect) -> bool:
    """An alternative that would add many more stored posts than the marks behind it
    (a common word that happened to be in a few relevant posts) is not worth showing."""
    return suggestion.kind == "alternative" and len(change.added) > FLOOD_RATIO * suggestion.support + FLOOD_SLACK


def majority(votes: dict[str, tuple[int, int]], rule_id: str | None = None) -> bool | None:
    """True / False when the votes (for one rule, or for any rule) lean one way; None if tied or absent."""
    pairs = [votes[rule_id]] if rule_id is not None and rule_id in votes else (
        [] if rule_id is not None else list(votes.values()))
    good = sum(g for g, _ in pairs)
    total = sum(n for _, n in pairs)
    if not total or good * 2 == total:
        return None
    return good * 2 > total
