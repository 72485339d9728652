"""What `dozor rules suggest` reads, and marks an operator makes from the shell.

Feedback is the `feedback` table the alert buttons write (relevant / not
relevant per subscriber, post and rule). A mark from the CLI is stored the same
way, as the feedback of the terminal's subscriber (chat id 0, the one replay
mode delivers to); if that subscriber does not exist yet it is created
inactive, so marking a post never starts alerts anywhere.
Posts come back as `StoredPost`: the stored text with its channel.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from bot.models import LOCAL_CHAT_ID
from bot.storage import access
from bot.storage.db import Store, to_iso
from bot.storage.lemma_index import lemma_filter, refresh_lemma_index

_COLUMNS = "p.id, p.message_id, p.date, p.text, p.channel_id, c.username AS channel"
_FROM = " FROM posts p LEFT JOIN channels c ON c.id = p.channel_id"


@dataclass(frozen=True)
class StoredPost:
    id: int
    text: str
    channel: str | None
    channel_id: int
    message_id: int
    date: str

    @property
    def ref(self) -> str:
        """How a person names it: channel/message, or the stored id."""
        return f"{self.channel}/{self.message_id}" if self.channel else f"#{self.id}"


def _post(row) -> StoredPost:
    return StoredPost(row["id"], row["text"], row["channel"], row["channel_id"], row["message_id"], row["date"])


async def feedback_votes(store: Store) -> dict[int, dict[str, tuple[int, int]]]:
    """post id -> rule id -> (relevant votes, all votes), over every subscriber."""
    rows = await store.fetchall(
        "SELECT post_id, rule_id, sum(relevant) AS good, count(*) AS votes FROM feedback"
        " GROUP BY post_id, rule_id"
    )
    votes: dict[int, dict[str, tuple[int, int]]] = {}
    for row in rows:
        votes.setdefault(row["post_id"], {})[row["rule_id"]] = (int(row["good"]), int(row["votes"]))
    return votes


async def posts_by_ids(store: Store, ids: Iterable[int]) -> list[StoredPost]:
    wanted = sorted(set(ids))
    posts: list[StoredPost] = []
    for start in range(0, len(wanted), 500):  # SQLite's variable limit
        chunk = wanted[start:start + 500]
        marks = ",".join("?" * len(chunk))
        rows = await store.fetchall(f"SELECT {_COLUMNS}{_FROM} WHERE p.id IN ({marks})", chunk)
        posts.extend(_post(r) for r in rows)
    return sorted(posts, key=lambda p: p.id)


async def posts_by_lemma_query(store: Store, fts: str) -> list[StoredPost]:
    """Stored posts whose lemma text matches an FTS5 expression (a superset of a rule's hits)."""
    await refresh_lemma_index(store)
    in_lemmas, param = lemma_filter(store, fts)
    rows = await store.fetchall(f"SELECT {_COLUMNS}{_FROM} WHERE {in_lemmas} ORDER BY p.id", (param,))
    return [_post(r) for r in rows]


async def newest_posts(store: Store, limit: int) -> list[StoredPost]:
    rows = await store.fetchall(f"SELECT {_COLUMNS}{_FROM} ORDER BY p.date DESC, p.id DESC LIMIT ?", (limit,))
    return [_post(r) for r in rows]


async def find_post(store: Store, ref: str) -> StoredPost | None:
    """A post by its stored id ("123" or "#123"), as channel/message ("pskovgubernia/5012"),
    or by the link alerts and backtests print (t.me/name/5012, t.me/c/1234567890/5012)."""
    ref = ref.strip().lstrip("@")
    private = re.search(r"t\.me/c/(\d+)/(\d+)", ref)
    if private:
        row = await store.fetchone(f"SELECT {_COLUMNS}{_FROM} WHERE p.channel_id = ? AND p.message_id = ?",
                                   (-int("100" + private.group(1)), int(private.group(2))))
        return None if row is None else _post(row)
    ref = re.sub(r"^(https?://)?t\.me/(s/)?", "", ref)
    if "/" in ref:
        channel, _, message = ref.rpartition("/")
        if not message.isdigit():
            return None
        row = await store.fetchone(f"SELECT {_COLUMNS}{_FROM} WHERE c.username = ? AND p.message_id = ?",
                                   (channel, int(message)))
    else:
        number = ref.lstrip("#")
        if not number.isdigit():
            return None
        row = await store.fetchone(f"SELECT {_COLUMNS}{_FROM} WHERE p.id = ?", (int(number),))
    return None if row is None else _post(row)


async def mark_post(store: Store, post_id: int, rule_id: str, relevant: bool, now: datetime) -> None:
    """Record the terminal operator's relevant / not relevant mark, as a button press would."""

    async def write(conn) -> None:
        await conn.execute(
            "INSERT OR IGNORE INTO subscribers(chat_id, kind, title, active, role, created_at)"
            " VALUES (?, 'local', 'terminal', 0, 'operator', ?)", (LOCAL_CHAT_ID, to_iso(now))
        )
        async with conn.execute("SELECT id FROM subscribers WHERE chat_id = ?", (LOCAL_CHAT_ID,)) as cur:
            subscriber_id = (await cur.fetchone())[0]
        await access.record_feedback(conn, subscriber_id, post_id, rule_id, relevant, now)

    await store.write(write)
