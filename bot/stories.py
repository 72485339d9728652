"""Near-duplicate posts: the same story copied across channels.

Pure. A post's text becomes a set of hashed word shingles (3 words in a row,
after folding case, ё→е, invisible characters, links and mentions); two posts
are one story when the Jaccard similarity of their sets reaches the threshold
(settings.dedup_threshold, passed in as `threshold`). A forward of a post, or
two forwards of the same original, are one story whatever the text.

This is the one rule: the Telegram alert sink (bot/delivery/telegram_sink.py),
the local sinks of the replay (bot/delivery/local_stories.py) and the digest
(bot/digest/build.py) all ask `same_story` or `group_posts`; what "also in …"
lists of a story (its other channels, one copy each) is `other_channels`,
worded by bot.formatting.also_in_text. Exact Jaccard,
not MinHash; `group_posts` finds the candidate pairs with a prefix filter (each
set's rarest shingles), which skips no pair reaching the threshold.
"""
from __future__ import annotations

import hashlib
import re
from array import array
from collections import Counter, defaultdict
from math import ceil
from typing import Iterable, Protocol, Sequence, TypeVar

DEFAULT_THRESHOLD = 0.7  # DOZOR_DEDUP_THRESHOLD's default
SHINGLE_WORDS = 3
MIN_WORDS = 6  # shorter texts ("Срочно!") never group by text alone
_INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff]")
_NOISE = re.compile(r"https?://\S+|t\.me/\S+|@\w+", re.IGNORECASE)
_WORD = re.compile(r"\w+")

PostKey = tuple[int, int]  # (channel_id, message_id)


class StoryPost(Protocol):
    """What the rule reads of a post (bot.models.Post and the digest's PostRow both have it)."""

    channel_id: int
    message_id: int
    fwd_from_channel_id: int | None
    fwd_from_message_id: int | None
    text: str


P = TypeVar("P", bound=StoryPost)
C = TypeVar("C")


def words(text: str) -> list[str]:
    """Folded words of a text: lower case, ё→е, no links, mentions or invisible characters."""
    text = _NOISE.sub(" ", _INVISIBLE.sub("", text or ""))
    return [w.replace("ё", "е") for w in _WORD.findall(text.lower())]


def shingles(text: str, size: int = SHINGLE_WORDS) -> frozenset[int]:
    """Hashed word shingles; empty for texts under MIN_WORDS words."""
    found = words(text)
    if len(found) < MIN_WORDS:
        return frozenset()
    grams = (" ".join(found[i:i + size]) for i in range(len(found) - size + 1))
    return frozenset(_hash(g) for g in grams)


def similarity(a: frozenset[int], b: frozenset[int]) -> float:
    """Jaccard similarity of two shingle sets; 0.0 when either is empty."""
    if not a or not b:
        return 0.0
    common = len(a & b)
    return common / (len(a) + len(b) - common)


def pack(hashes: Iterable[int]) -> bytes:
    """Shingle hashes as compact bytes for the database."""
    return array("Q", sorted(hashes)).tobytes()


def unpack(blob: bytes | None) -> frozenset[int]:
    if not blob:
        return frozenset()
    values = array("Q")
    values.frombytes(blob)
    return frozenset(values)


def origin(post: StoryPost) -> PostKey:
    """The post a forward came from, else the post itself."""
    if post.fwd_from_channel_id is not None and post.fwd_from_message_id is not None:
        return (post.fwd_from_channel_id, post.fwd_from_message_id)
    return (post.channel_id, post.message_id)


def same_origin(post: StoryPost, key: PostKey, fwd_from: PostKey | None) -> bool:
    """True when `post` and the post `key` (forwarded from `fwd_from`, if so) share an origin."""
    theirs = fwd_from if fwd_from and fwd_from[0] is not None and fwd_from[1] is not None else key
    return origin(post) == theirs or origin(post) == key or (post.channel_id, post.message_id) == theirs


def same_story(post: StoryPost, signature: frozenset[int], key: PostKey, fwd_from: PostKey | None,
               other_signature: frozenset[int], threshold: float) -> bool:
    """True when `post` (with its shingles) and the post `key` (forwarded from `fwd_from`) are one story."""
    if same_origin(post, key, fwd_from):
        return True
    return bool(signature) and similarity(signature, other_signature) >= threshold


def group_posts(posts: Sequence[P], threshold: float, signatures: Sequence[frozenset[int]] | None = None
                ) -> list[list[P]]:
    """Posts grouped into stories (forwards with their originals, near-identical texts), in input order.

    Grouping is transitive: A like B and B like C make one story. `signatures`
    are the posts' shingles if already known.
    """
    sets = list(signatures) if signatures is not None else [shingles(p.text) for p in posts]
    parent = list(range(len(posts)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i: int, j: int) -> None:
        a, b = find(i), find(j)
        parent[max(a, b)] = min(a, b)

    by_origin: dict[PostKey, int] = {}
    for i, post in enumerate(posts):
        by_origin.setdefault((post.channel_id, post.message_id), i)
    for i, post in enumerate(posts):
        union(by_origin.setdefault(origin(post), i), i)
    for i, j in _candidate_pairs(sets, threshold):
        if find(i) != find(j) and similarity(sets[i], sets[j]) >= threshold:
            union(i, j)
    groups: dict[int, list[P]] = defaultdict(list)
    for i, post in enumerate(posts):
        groups[find(i)].append(post)
    return list(groups.values())


def other_channels(first, copies: Sequence[C]) -> list[C]:
    """The story's copies in channels other than its first post's, one per channel (a copy still
    there preferred over a deleted one), in order: what "also in …" names.

    `first` and `copies` have `channel_id` (None when unknown: then the username, else the title,
    tells channels apart), `channel` (username) and `title` or `channel_title`."""
    elsewhere: dict[object, C] = {}
    for copy in copies:
        if _same_channel(first, copy):
            continue
        key = copy.channel_id if copy.channel_id is not None else _name_key(copy)
        if key not in elsewhere or getattr(elsewhere[key], "deleted", False):
            elsewhere[key] = copy
    return list(elsewhere.values())


def _same_channel(a, b) -> bool:
    if a.channel_id is not None and b.channel_id is not None:
        return a.channel_id == b.channel_id
    return _name_key(a) == _name_key(b)


def _name_key(item) -> str:
    title = getattr(item, "title", None) or getattr(item, "channel_title", None)
    return (item.channel or "").lower() or title or getattr(item, "link", None) or ""


def _candidate_pairs(sets: Sequence[frozenset[int]], threshold: float) -> set[tuple[int, int]]:
    """Pairs that may reach `threshold`: those sharing a shingle among each one's rarest.

    Two sets with Jaccard >= t share a shingle within the first |s| - ceil(t*|s|) + 1
    of each (shingles ordered rarest first), so no qualifying pair is missed.
    """
    frequency = Counter(h for grams in sets for h in grams)
    index: dict[int, list[int]] = defaultdict(list)
    for i, grams in enumerate(sets):
        ordered = sorted(grams, key=lambda h: (frequency[h], h))
        keep = len(ordered) - ceil(threshold * len(ordered) - 1e-9) + 1
        for gram in ordered[:max(1, keep)]:
            index[gram].append(i)
    return {(a, b) for members in index.values() for n, a in enumerate(members) for b in members[n + 1:]}


def _hash(gram: str) -> int:
    return int.from_bytes(hashlib.blake2b(gram.encode("utf-8"), digest_size=8).digest(), "little")
