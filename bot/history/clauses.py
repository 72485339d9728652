"""Clauses and key signatures: what lets a preview re-check only what a rule edit changed.

A query `a OR b OR c` is true on a post exactly when one of `a`, `b`, `c` is:
those alternatives are its clauses (a query that is no OR is one clause).
Editing one alternative of a 60-line rule leaves the others' verdicts valid.
A clause is named by its parsed form (`canonical`), not its spelling.

A post's key signature is a Bloom filter (an int of SIG_BITS bits) of every
index key its tokens offer (lemmas, forms, prefix keys: `Doc.keyset()`). A
clause can be true on a post only if the post holds one key of each word it
needs (the `keys()` contract the rule index relies on), so `possible(sig)`
false is a sure "no" without analyzing the text again; true may be wrong
(about 2% of the time) and then the text is checked. A clause that needs no
word positions (`by_words`) is decided exactly from the post's distinct token
forms and key sets, without the text. Pure: no I/O.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Callable

from bot.rules.nodes import And, Hashtag, Near, Not, Or, Phrase, Prefix, Regex, Word, iter_words

SIG_BITS = 4096


def split_clauses(node) -> list:
    """The top-level OR alternatives of a parsed query (the query itself when it is no OR)."""
    return list(node.children) if isinstance(node, Or) else [node]


def canonical(node) -> str:
    """A text two nodes share exactly when they evaluate alike on every post."""
    if isinstance(node, Word):
        return f"W{int(node.exact)}{node.text!r}"
    if isinstance(node, Prefix):
        return f"P{node.text!r}"
    if isinstance(node, Phrase):
        return f"F{int(node.exact)}[" + ",".join(canonical(w) for w in node.words) + "]"
    if isinstance(node, Hashtag):
        return f"H{node.tag!r}"
    if isinstance(node, Regex):
        return f"R{node.pattern!r}{node.flags!r}"
    if isinstance(node, Not):
        return "N(" + canonical(node.child) + ")"
    if isinstance(node, And):
        return "A(" + ",".join(canonical(c) for c in node.children) + ")"
    if isinstance(node, Or):
        return "O(" + ",".join(canonical(c) for c in node.children) + ")"
    if isinstance(node, Near):
        return f"{'O' if node.ordered else ''}NEAR{node.distance}({canonical(node.left)},{canonical(node.right)})"
    raise TypeError(f"unknown query node {type(node).__name__}")


@lru_cache(maxsize=200_000)
def key_mask(key: str) -> int:
    """The two bits `key` sets in a signature."""
    h = hash(key)  # per process: signatures live in memory only
    return (1 << (h % SIG_BITS)) | (1 << ((h >> 16) % SIG_BITS))


@lru_cache(maxsize=100_000)
def _keys_mask(keys: frozenset[str]) -> int:
    sig = 0
    for key in keys:
        sig |= key_mask(key)
    return sig


def signature(doc) -> int:
    """The Bloom filter of every key a post's tokens offer (`doc.keyset()`)."""
    sig = 0
    for keys in {tok.keys for tok in doc.tokens}:  # a word's keys are one shared frozenset (bot.text's cache)
        sig |= _keys_mask(keys)
    return sig


def _any_key(keys) -> Callable[[int], bool]:
    masks = [key_mask(k) for k in keys]
    return lambda sig: any(sig & m == m for m in masks)


def _all(tests) -> Callable[[int], bool] | None:
    tests = [t for t in tests if t is not None]
    if not tests:
        return None
    return tests[0] if len(tests) == 1 else (lambda sig: all(t(sig) for t in tests))


def possible(node) -> Callable[[int], bool] | None:
    """A test of a signature that is false only when `node` cannot be true on that post
    (None: no test, it always may be)."""
    if isinstance(node, (Word, Prefix)):
        return _any_key(node.keyset)
    if isinstance(node, Phrase):
        return _all(possible(w) for w in node.words)
    if isinstance(node, And):
        return _all(possible(c) for c in node.children)
    if isinstance(node, Near):
        return _all([possible(node.left), possible(node.right)])
    if isinstance(node, Or):
        tests = [possible(c) for c in node.children]
        if any(t is None for t in tests):
            return None
        return lambda sig: any(t(sig) for t in tests)
    return None  # Not, Regex: true without any given word; Hashtag: checked on the text


def by_words(node) -> Callable[[tuple, tuple], bool] | None:
    """For a clause that needs no word positions (words, prefixes, =words in lower case, with AND,
    OR, NOT): its exact verdict from a post's distinct token forms and key sets. None for the rest."""
    if isinstance(node, Word):
        if node.case:
            return None
        if node.exact:
            lower = node.lower
            return lambda lowers, keysets: lower in lowers
        wanted = node.keyset
        return lambda lowers, keysets: any(not keys.isdisjoint(wanted) for keys in keysets)
    if isinstance(node, Prefix):
        stem = node.lower
        return lambda lowers, keysets: any(low.startswith(stem) for low in lowers)
    children = [node.child] if isinstance(node, Not) else list(getattr(node, "children", None) or ())
    if not isinstance(node, (Not, And, Or)) or not children:
        return None
    tests = [by_words(c) for c in children]
    if any(t is None for t in tests):
        return None
    if isinstance(node, Not):
        return lambda lowers, keysets: not tests[0](lowers, keysets)
    if isinstance(node, And):
        return lambda lowers, keysets: all(t(lowers, keysets) for t in tests)
    return lambda lowers, keysets: any(t(lowers, keysets) for t in tests)


def needs_hash_sign(node) -> bool:
    """Whether `node` can be true only on a text with a '#' in it (a hashtag it cannot do without)."""
    if isinstance(node, Hashtag):
        return True
    if isinstance(node, (And, Near)):
        parts = node.children if isinstance(node, And) else [node.left, node.right]
        return any(needs_hash_sign(c) for c in parts)
    if isinstance(node, Or):
        return all(needs_hash_sign(c) for c in node.children)
    return False


class Clause:
    """A clause (or a rule's whole exclude) with its FTS5 prefilter, signature test and word keys."""

    def __init__(self, node):
        self.node = node
        self.name = canonical(node)
        self.fts = node.fts()
        self.possible = possible(node)
        self.by_words = by_words(node)
        self.word_keys = frozenset(k for w in iter_words(node) for k in w.keyset)
        self.keys = node.keys()  # one of these is in every post the clause is true on (None: no such set)

    def true_on(self, doc) -> bool:
        if self.keys is not None and doc.keyset().isdisjoint(self.keys):
            return False  # as Or.evaluate and the rule index skip it
        return self.node.evaluate(doc) is not None
