"""The query tree: each node evaluates against a `Doc` to hits or None.

A hit is (first token, end token, start, end): a token interval and the
normalized-text span it covers. `evaluate` returns None when the node is
false and a list of hits when it is true (NOT is true with no hits).
`keys()` gives the index keys one of which must be in a post for the node to
be true (None: no such set, the rule is always a candidate); `fts()` gives an
FTS5 expression over lemma text that is true for a superset of matches.
`run(node, doc, steps)` is the same evaluation that also records, node by
node, what it found (`Step`); explain reads that record, so it cannot
disagree with matching.
"""
from __future__ import annotations

import logging
import time
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from functools import lru_cache

import regex

from bot.text import Doc, fold, word_keys, first_lemma, script_lang, _morph

log = logging.getLogger(__name__)
REGEX_TIMEOUT = 0.05  # seconds one /regex/ may spend on one post; past it the regex counts as false
MAX_RULE_REGEXES = 3  # /regex/ terms one rule (query and exclude together) may hold
MAX_SEARCH_REGEXES = 1  # /regex/ terms a subscriber's /search may hold
MAX_NEAR_CHECKS = 200_000  # pairs one NEAR node may check on one post (~0.1 s)
SMALL_NEAR_PAIRS = 64  # up to this many pairs NEAR checks them all, without sorting and bisecting
REGEX_POST_BUDGET = 0.1  # seconds all /regex/ terms of all rules may take on one post (DOZOR_REGEX_BUDGET)
Hit = tuple[int, int, int, int]
Hits = list[Hit] | None


@dataclass(eq=False)
class Step:
    """What evaluating one node found: its hits (None = false) and its children's steps.

    A child missing from `children` was not evaluated (AND stopped at a false
    part); `skipped` marks an OR alternative none of whose words is in the post.
    """

    node: object
    hits: Hits = None
    children: list["Step"] = field(default_factory=list)
    skipped: bool = False


def run(node, doc: Doc, steps: list[Step] | None) -> Hits:
    """`node.evaluate(doc)`; with `steps`, also append the Step of `node` (children nested)."""
    if steps is None:
        return node.evaluate(doc)
    step = Step(node)
    steps.append(step)
    step.hits = node.evaluate(doc, step.children) if isinstance(node, (Not, And, Or, Near)) else node.evaluate(doc)
    return step.hits


def fts_quote(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def _fts_any(words) -> str:
    parts = sorted({fts_quote(w.lstrip("~")) for w in words if w.lstrip("~")})
    return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"


def _tok_hit(doc: Doc, i: int) -> Hit:
    tok = doc.tokens[i]
    return (i, i + 1, tok.start, tok.end)


@lru_cache(maxsize=100_000)
def term_keys(lower: str) -> frozenset[str]:
    """Keys of a query word: its lemmas in the language its letters suggest."""
    lang = script_lang(lower, "ru")
    keys = word_keys(lower, lang)
    if lang == "ru" and not set(lower) & set("ыэъ") and _morph("uk").word_is_known(lower):
        keys = keys | word_keys(lower, "uk")
    keys = frozenset(k for k in keys if not k.startswith("*"))  # drop prefix keys
    if lang in ("ru", "uk"):
        # a word written in its dictionary form means that lemma only
        if lower in keys and len(keys) > 2:
            own = {p.normal_form.replace("ё", "е") for p in _morph(lang).parse(lower)
                   if p.normal_form.replace("ё", "е") == lower}
            if own:
                return frozenset(own)
    return keys


@dataclass(eq=False)
class Word:
    """`word` (every form), `=word` (this form; case-sensitive with capitals)."""

    text: str
    exact: bool = False

    def __post_init__(self):
        self.lower = fold(self.text)
        self.case = self.exact and self.text != self.text.lower()
        self.cased = self.text.replace("ё", "е").replace("Ё", "Е")
        self.keyset = frozenset({self.lower}) if self.exact else term_keys(self.lower)

    def positions(self, doc: Doc) -> list[int]:
        if doc._keyset.isdisjoint(self.keyset):
            return []
        index = doc.by_key(self.keyset)
        if len(self.keyset) == 1:
            found = index.get(self.lower, []) if self.exact else index.get(next(iter(self.keyset)), [])
        else:
            found = sorted({i for key in self.keyset for i in index.get(key, ())})
        if self.case:
            found = [i for i in found
                     if doc.tokens[i].text.replace("ё", "е").replace("Ё", "Е") == self.cased]
        elif self.exact:  # the keys hold lemmas too: =призыв must not match призывами
            found = [i for i in found if doc.tokens[i].lower == self.lower]
        return found

    def evaluate(self, doc: Doc) -> Hits:
        found = self.positions(doc)
        return [_tok_hit(doc, i) for i in found] if found else None

    def keys(self):
        return self.keyset

    def fts(self):
        lang = script_lang(self.lower, "ru")
        return _fts_any(set(self.keyset) | {first_lemma(self.lower, lang)})

    def __str__(self):
        return ("=" if self.exact else "") + self.text


@dataclass(eq=False)
class Prefix:
    text: str

    def __post_init__(self):
        self.lower = fold(self.text)
        self.key = "*" + self.lower[:4]
        self.keyset = frozenset({self.key})

    def evaluate(self, doc: Doc) -> Hits:
        if self.key not in doc._keyset:
            return None
        tokens = doc.tokens
        hits = [_tok_hit(doc, i) for i in doc.by_key(self.keyset).get(self.key, ())
                if tokens[i].lower.startswith(self.lower)]
        return hits or None

    def keys(self):
        return frozenset({self.key})

    def fts(self):
        return fts_quote(self.lower) + "*"

    def __str__(self):
        return self.text + "*"


@dataclass(eq=False)
class Phrase:
    words: list[Word]
    exact: bool = False

    def evaluate(self, doc: Doc) -> Hits:
        runs = [set(w.positions(doc)) for w in self.words]
        if not all(runs):
            return None
        n = len(self.words)
        hits = [(i, i + n, doc.tokens[i].start, doc.tokens[i + n - 1].end)
                for i in sorted(runs[0])
                if all(i + k in runs[k] for k in range(1, n))]
        return hits or None

    def keys(self):
        return max(self.words, key=lambda w: len(w.lower)).keyset  # likely the rarest

    def fts(self):
        return "(" + " AND ".join(w.fts() for w in self.words) + ")"

    def __str__(self):
        return ("=" if self.exact else "") + '"' + " ".join(w.text for w in self.words) + '"'


@dataclass(eq=False)
class Hashtag:
    tag: str

    def __post_init__(self):
        self.lower = fold(self.tag)
        self.parts = [p for p in self.lower.split("_") if p]

    def evaluate(self, doc: Doc) -> Hits:
        wanted = {i for i, tag in enumerate(doc.hashtags)
                  if tag == self.lower or self.lower in tag.split("_")}
        groups: dict[int, list[int]] = {}
        for i, tok in enumerate(doc.tokens):
            if tok.tag in wanted:
                groups.setdefault(tok.tag, []).append(i)
        hits = [(ix[0], ix[-1] + 1, max(doc.tokens[ix[0]].start - 1, 0), doc.tokens[ix[-1]].end)
                for ix in groups.values()]  # the whole tag, from its '#'
        return hits or None

    def keys(self):
        return frozenset(self.parts[:1]) or None

    def fts(self):
        if not self.parts:
            return None
        return "(" + " AND ".join(Word(p).fts() for p in self.parts) + ")"  # lemma text

    def __str__(self):
        return "#" + self.tag


class RegexBudget:
    """Seconds all /regex/ terms of every rule may spend on one post together (Doc.regex_budget).

    Once spent, every further regex counts as false on that post and `cut` is set,
    so the rule set can log which rule lost its regex terms.
    """

    def __init__(self, seconds: float):
        self.left = seconds
        self.cut = False

    def timeout(self) -> float:
        return min(REGEX_TIMEOUT, max(self.left, 0.0))


@dataclass(eq=False)
class Regex:
    pattern: str
    flags: str = ""

    def __post_init__(self):
        # The `regex` module, not `re`: it takes a timeout, so a pattern with catastrophic
        # backtracking cannot stall the event loop on a long post (V0 keeps re's semantics).
        self.compiled = regex.compile(self.pattern, regex.V0 | (regex.IGNORECASE if "i" in self.flags else 0))
        self.timed_out = 0

    def evaluate(self, doc: Doc) -> Hits:
        budget = doc.regex_budget
        timeout = REGEX_TIMEOUT if budget is None else budget.timeout()
        started = time.perf_counter()
        try:
            if timeout <= 0:
                raise TimeoutError
            found = [(m.start(), m.end()) for m in self.compiled.finditer(doc.text, timeout=timeout)]
        except TimeoutError:
            if budget is not None and timeout < REGEX_TIMEOUT:
                budget.cut = True  # the post's budget ran out, not this regex's own: the rule set logs it
                return None
            self.timed_out += 1
            if self.timed_out == 1:
                log.warning("regex %r gave up after %.2fs on a %d-character post; it counts as false there",
                            str(self), REGEX_TIMEOUT, len(doc.text))  # %r: a newline cannot forge a log line
            return None
        finally:
            if budget is not None:
                budget.left -= time.perf_counter() - started
        if not found:
            return None
        starts, ends = [t.start for t in doc.tokens], [t.end for t in doc.tokens]
        hits = []
        for start, end in found:  # tokens are sorted and disjoint: find the covered ones by bisection
            a, b = bisect_right(ends, start), bisect_left(starts, end)
            a, b = (a, b) if a < b else (0, 0)
            hits.append((a, b, start, end))
        return hits

    def keys(self):
        return None

    def fts(self):
        return None

    def __str__(self):
        return f"/{self.pattern}/{self.flags}"


@dataclass(eq=False)
class Not:
    child: object

    def evaluate(self, doc: Doc, steps: list[Step] | None = None) -> Hits:
        found = self.child.evaluate(doc) if steps is None else run(self.child, doc, steps)
        return [] if found is None else None

    def keys(self):
        return None

    def fts(self):
        return None

    def __str__(self):
        return f"NOT {self.child}"


@dataclass(eq=False)
class And:
    children: list

    def evaluate(self, doc: Doc, steps: list[Step] | None = None) -> Hits:
        hits: list[Hit] = []
        for child in self.children:
            found = child.evaluate(doc) if steps is None else run(child, doc, steps)
            if found is None:
                return None
            hits.extend(found)
        return hits

    def keys(self):
        sets = [k for k in (c.keys() for c in self.children) if k is not None]
        return min(sets, key=len) if sets else None

    def fts(self):
        parts = [f for f in (c.fts() for c in self.children) if f is not None]
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"

    def __str__(self):
        return "(" + " AND ".join(map(str, self.children)) + ")"


@dataclass(eq=False)
class Or:
    children: list

    def __post_init__(self):
        self.child_keys = [child.keys() for child in self.children]

    def evaluate(self, doc: Doc, steps: list[Step] | None = None) -> Hits:
        hits: list[Hit] | None = None
        present = doc._keyset
        for child, keys in zip(self.children, self.child_keys):
            if keys is not None and present.isdisjoint(keys):
                if steps is not None:
                    steps.append(Step(child, skipped=True))
                continue  # none of its terms is in the post: it cannot be true
            found = child.evaluate(doc) if steps is None else run(child, doc, steps)
            if found is not None:
                hits = (hits or []) + found
        return hits

    def keys(self):
        keys: set[str] = set()
        for k in self.child_keys:
            if k is None:
                return None
            keys |= k
        return frozenset(keys)

    def fts(self):
        parts = [c.fts() for c in self.children]
        if any(p is None for p in parts):
            return None
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"

    def __str__(self):
        return "(" + " OR ".join(map(str, self.children)) + ")"


@dataclass(eq=False)
class Near:
    left: object
    right: object
    distance: int
    ordered: bool = False

    def evaluate(self, doc: Doc, steps: list[Step] | None = None) -> Hits:
        if steps is None:
            left, right = self.left.evaluate(doc), self.right.evaluate(doc)
        else:
            left, right = run(self.left, doc, steps), run(self.right, doc, steps)
        if not left or not right:
            return None
        hits, _ = near_hits(left, right, self.distance, self.ordered)
        return hits or None

    def keys(self):
        sets = [k for k in (self.left.keys(), self.right.keys()) if k is not None]
        return min(sets, key=len) if sets else None

    def fts(self):
        return And([self.left, self.right]).fts()

    def __str__(self):
        op = "ONEAR" if self.ordered else "NEAR"
        return f"({self.left} {op}/{self.distance} {self.right})"


def near_hits(left: list[Hit], right: list[Hit], distance: int, ordered: bool,
              max_checks: int = MAX_NEAR_CHECKS, windowed: bool | None = None) -> tuple[list[Hit], int]:
    """The hits of `left` and `right` that have a partner within `distance` tokens, and the
    pairs checked.

    Only partners that can be near are looked at: `right` sorted by first token, and for
    each left hit the window of first tokens from (its start - distance - the longest right
    hit) to (its end + distance), found by bisection. So a post of one repeated word costs
    about len(left) x 2 x distance checks, not len(left) x len(right). Past `max_checks`
    (a pathological post) the node stops looking and keeps the hits found so far.
    `windowed=False` checks every pair (the definition; tests and bench/near_bench.py compare
    against it); None decides by size: few pairs, nearly every post, are all checked directly.
    """
    if windowed is None:
        windowed = len(left) * len(right) > SMALL_NEAR_PAIRS
    if windowed:
        right = sorted(right)
        firsts = [b[0] for b in right]
        longest = max(b[1] - b[0] for b in right)
    hits: set[Hit] = set()
    checks = 0
    for a in left:
        window = right
        if windowed:
            window = right[bisect_left(firsts, a[0] - distance - longest):bisect_right(firsts, a[1] + distance)]
        for b in window:
            checks += 1
            if b[0] >= a[1]:
                gap = b[0] - a[1] + 1
            elif ordered:
                continue
            else:
                gap = max(a[0] - b[1] + 1, 0)
            if gap <= distance:
                hits.update((a, b))
        if checks >= max_checks:
            log.debug("NEAR/%d stopped after %d pair checks", distance, checks)
            break
    return sorted(hits), checks


def count_regexes(node) -> int:
    """How many /regex/ terms a tree holds."""
    if isinstance(node, Regex):
        return 1
    children = list(getattr(node, "children", None) or ())
    children += [getattr(node, name) for name in ("left", "right", "child") if hasattr(node, name)]
    return sum(count_regexes(child) for child in children)


def iter_words(node):
    """Every Word and Prefix in a tree (phrase words included): the index terms."""
    if isinstance(node, (Word, Prefix)):
        yield node
    for child in getattr(node, "children", None) or getattr(node, "words", None) or ():
        yield from iter_words(child)
    for name in ("left", "right", "child"):
        if hasattr(node, name):
            yield from iter_words(getattr(node, name))
