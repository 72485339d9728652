"""Re-read a channel's recent window: edits and deletions Telegram did not push to us.

While Dozor was down, and always for channels that are polled, edits and
deletions are never pushed. A sweep asks for the stored posts of the last
`recheck_hours` (and the alerted ones of the last ALERTED_DAYS) by id: a
changed `edit_date` is an edit, an id that comes back empty is a deletion.
Both go to the pipeline's `on_edit` / `on_delete`, the same follow-ups as
live ones. Albums are stored under their first item: only its deletion is seen.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from telethon import functions, types

from bot.storage.posts import recheck_window
from bot.telegram.channels import input_channel
from bot.telegram.convert import _utc, is_post, make_deletion, messages_to_post
from bot.telegram.errors import translated

log = logging.getLogger(__name__)

ALERTED_DAYS = 3  # alerted posts are re-read this long (or recheck_hours, if longer)
CHUNK = 100  # ids per request (Telegram's limit)


async def recheck_channel(watcher, row) -> int:
    """Feed edits and deletions found in the window to the pipeline; returns how many."""
    now = watcher.now()
    hours = timedelta(hours=watcher.recheck_hours)
    window = await recheck_window(watcher.store, row.id, now - hours, now - max(hours, timedelta(days=ALERTED_DAYS)))
    if not window:
        return 0
    found = await _fetch(watcher.client, row, [item[0] for item in window])
    gone, changed = [], 0
    for message_id, stored_edit, album, text in window:
        message = found.get(message_id)
        if message is None:
            gone.append(message_id)
        elif not album and is_post(message) and _utc(message.edit_date) not in (None, stored_edit) \
                and (message.message or "") != text:  # a new edit date alone (media, buttons) changes nothing
            await watcher.pipeline.on_edit(messages_to_post([message], row.username, row.title))
            changed += 1
    if gone:
        await watcher.pipeline.on_delete(make_deletion(row.id, gone, now))
    if gone or changed:
        log.info("re-reading %s found %d edit(s) and %d deletion(s)", row.label, changed, len(gone))
    return changed + len(gone)


async def _fetch(client, row, ids: list[int]) -> dict[int, types.Message]:
    """The messages that still exist, by id (deleted ones come back empty or not at all)."""
    found: dict[int, types.Message] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = [types.InputMessageID(i) for i in ids[start:start + CHUNK]]
        async with translated(row.label, row.id):
            result = await client(functions.channels.GetMessagesRequest(input_channel(row), chunk))
        for message in getattr(result, "messages", []):
            if isinstance(message, types.Message):
                found[message.id] = message
    return found
