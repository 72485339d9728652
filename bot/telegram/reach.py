"""Views and forwards of young posts, refreshed: what the digest ranks stories by and alerts show.

A post's counts are stored when it arrives and then grow for a few days.
Every sweep interval the watcher asks Telegram (messages.getMessagesViews,
without counting a view) for the counts of each channel's posts younger than
REACH_DAYS (3) and stores them; posts older than that keep their last counts.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from telethon import functions

from bot.storage.posts import REACH_DAYS, reach_window, update_reach
from bot.telegram.channels import input_peer
from bot.telegram.errors import translated

log = logging.getLogger(__name__)

CHUNK = 100  # ids per request


async def refresh_reach(watcher, row) -> int:
    """Store fresh views and forwards of `row`'s posts younger than REACH_DAYS; returns posts updated."""
    ids = await reach_window(watcher.store, row.id, watcher.now() - timedelta(days=REACH_DAYS))
    counts: list[tuple[int, int | None, int | None]] = []
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        async with translated(row.label, row.id):
            result = await watcher.client(
                functions.messages.GetMessagesViewsRequest(peer=input_peer(row), id=chunk, increment=False))
        counts += [(message_id, getattr(found, "views", None), getattr(found, "forwards", None))
                   for message_id, found in zip(chunk, result.views)]
    if not counts:
        return 0
    updated = await watcher.store.write(lambda conn: update_reach(conn, row.id, counts))
    log.debug("views of %d posts of %s refreshed", updated, row.label)
    return updated
