"""Inline-button data (Telegram allows 64 bytes): built here, parsed here.

The alert formatter calls `alert_buttons(post_id, rule_ids)` so the data it
puts under an alert is the data `parse_callback` understands.
"""
from __future__ import annotations

from dataclasses import dataclass

from bot.commands.parse import UsageError
from bot.models import Button

MAX_DATA = 64


@dataclass(frozen=True)
class Feedback:
    post_id: int
    rule_id: str
    relevant: bool


@dataclass(frozen=True)
class MuteRule:
    rule_id: str


@dataclass(frozen=True)
class DecideCallback:
    chat_id: int
    approve: bool


@dataclass(frozen=True)
class SearchPage:
    page: int


def _data(*parts: object) -> str:
    data = ":".join(str(p) for p in parts)
    return data if len(data.encode()) <= MAX_DATA else data.encode()[:MAX_DATA].decode(errors="ignore")


def alert_buttons(post_id: int, rule_ids: tuple[str, ...] | list[str]) -> tuple[tuple[Button, ...], ...]:
    """Rows under an alert: relevant / not relevant / mute for a day, for its first rule."""
    if not rule_ids:
        return ()
    rule = rule_ids[0]
    return ((
        Button("👍 relevant", _data("fb", post_id, 1, rule)),
        Button("👎 not relevant", _data("fb", post_id, 0, rule)),
        Button("🔕 mute rule 1 day", _data("mr", rule)),
    ),)


def decision_buttons(chat_id: int) -> tuple[tuple[Button, ...], ...]:
    return ((Button("✅ approve", _data("ap", chat_id)), Button("❌ deny", _data("dn", chat_id))),)


def page_buttons(page: int, has_more: bool) -> tuple[tuple[Button, ...], ...]:
    row = []
    if page > 1:
        row.append(Button("◀ newer", _data("sp", page - 1)))
    if has_more:
        row.append(Button("older ▶", _data("sp", page + 1)))
    return (tuple(row),) if row else ()


def parse_callback(data: str):
    """Button data -> Feedback | MuteRule | DecideCallback | SearchPage; UsageError if unknown."""
    kind, _, rest = (data or "").partition(":")
    try:
        if kind == "fb":
            post_id, relevant, rule = rest.split(":", 2)
            return Feedback(int(post_id), rule, relevant == "1")
        if kind == "mr" and rest:
            return MuteRule(rest)
        if kind in ("ap", "dn"):
            return DecideCallback(int(rest), kind == "ap")
        if kind == "sp":
            return SearchPage(max(1, int(rest)))
    except ValueError:
        pass
    raise UsageError("This button is no longer valid")
