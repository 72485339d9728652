"""Shaping stored rows for the console's templates: highlighted text, links, filters from a query string.

Pure: rows and parameters in, plain values (and Markup whose every piece of
post text went through html.escape) out.
"""
from __future__ import annotations

import html
from datetime import date, datetime, time, timedelta

from markupsafe import Markup

from bot.formatting import excerpt, merge_spans, post_link, zone
from bot.storage.web_alerts import AlertFilter


def highlighted(text: str, spans) -> Markup:
    """The whole text, escaped, with each span wrapped in <mark>."""
    text = text or ""
    spans = merge_spans([tuple(s) for s in spans], len(text))
    return Markup(excerpt(text, spans, len(text) + 1, mark=("<mark>", "</mark>"),
                          escape_text=lambda piece: html.escape(piece, quote=True), one_line=False))


def channel_label(row: dict) -> str:
    if row.get("channel"):
        return "@" + row["channel"]
    return row.get("channel_title") or str(row.get("channel_id", ""))


def link_of(row: dict) -> str | None:
    return post_link(row["channel_id"], row["message_id"], row.get("channel"), row.get("link"))


def form_day(text: str | None) -> date | None:
    """A day from a form's date input (YYYY-MM-DD, as browsers send it); None when empty or not a day."""
    try:
        return date.fromisoformat((text or "").strip()) if text else None
    except ValueError:
        return None


def day_start(day: date, tz: str) -> datetime:
    """Midnight of `day` in zone `tz`, as an aware moment."""
    return datetime.combine(day, time(0), tzinfo=zone(tz))


def alert_filter(params, tz: str, subscriber_id: int | None) -> AlertFilter:
    """The alerts page's filter from its query parameters (dates are whole days in the viewer's zone)."""
    since, until = form_day(params.get("from")), form_day(params.get("to"))
    channel = (params.get("channel") or "").strip()
    return AlertFilter(
        subscriber_id=subscriber_id, rule=(params.get("rule") or None), tag=(params.get("tag") or None),
        channel_id=int(channel) if channel.lstrip("-").isdigit() else None,
        since=day_start(since, tz) if since else None,
        until=day_start(until + timedelta(days=1), tz) if until else None,
        late=params.get("late") in ("1", "on", "true"))
