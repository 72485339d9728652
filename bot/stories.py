"""Near-duplicate posts: the same story copied across channels.

Pure. A post's text becomes a set of hashed word shingles (3 words in a row,
after folding case, ё→е, invisible characters, links and mentions); two posts
are one story when the Jaccard similarity of their sets reaches the threshold
(settings.dedup_threshold). Exact Jaccard, not MinHash: the sets compared are
the few alerts sent to one subscriber in the window, so exactness is cheap.
A forward of a post, or two forwards of the same original, are one story
whatever the text.
"""
from __future__ import annotations

import hashlib
import re
from array import array
from typing import Iterable

from bot.models import Post

SHINGLE_WORDS = 3
MIN_WORDS = 6  # shorter texts ("Срочно!") never group by text alone
_INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff]")
_NOISE = re.compile(r"https?://\S+|t\.me/\S+|@\w+", re.IGNORECASE)
_WORD = re.compile(r"\w+")

PostKey = tuple[int, int]  # (channel_id, message_id)


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


def origin(post: Post) -> PostKey:
    """The post a forward came from, else the post itself."""
    if post.fwd_from_channel_id is not None and post.fwd_from_message_id is not None:
        return (post.fwd_from_channel_id, post.fwd_from_message_id)
    return (post.channel_id, post.message_id)


def same_origin(post: Post, key: PostKey, fwd_from: PostKey | None) -> bool:
    """True when `post` and the post `key` (forwarded from `fwd_from`, if so) share an origin."""
    theirs = fwd_from if fwd_from and fwd_from[0] is not None and fwd_from[1] is not None else key
    return origin(post) == theirs or origin(post) == key or (post.channel_id, post.message_id) == theirs


def _hash(gram: str) -> int:
    return int.from_bytes(hashlib.blake2b(gram.encode("utf-8"), digest_size=8).digest(), "little")
