"""Inline-button data (Telegram allows 64 bytes).

Alert buttons are built by bot/delivery/alert_html.py:alert_buttons — `fb:+:<post_id>:<rule>`,
`fb:-:<post_id>:<rule>` (rule "*" = every rule of that alert) and `mute:<rule>`;
the rest (access decisions, search pages) are built here. All are parsed here.
"""
from __future__ import annotations

from dataclasses import dataclass

from bot.commands.parse import UsageError
from bot.models import Button

MAX_DATA = 64


@dataclass(frozen=True)
class Feedback:
    post_id: int
    rule_id: str  # "*" = every rule of the alert
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
            sign, post_id, rule = rest.split(":", 2)
            if sign in ("+", "-") and rule:
                return Feedback(int(post_id), rule, sign == "+")
        if kind == "mute" and rest:
            return MuteRule(rest)
        if kind in ("ap", "dn"):
            return DecideCallback(int(rest), kind == "ap")
        if kind == "sp":
            return SearchPage(max(1, int(rest)))
    except ValueError:
        pass
    raise UsageError("This button is no longer valid")
