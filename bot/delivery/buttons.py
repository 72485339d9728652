"""Inline-button callback data: each kind is one class that packs and unpacks itself.

Telegram returns a button's data (at most 64 bytes) when it is pressed. Every
kind has a prefix: `fb:+:<post_id>:<rule>` / `fb:-:…` (feedback on an alert;
rule "*" = every rule of that alert), `mute:<rule>` (mute a rule for a day),
`ap:<chat_id>` / `dn:<chat_id>` (an admin's access decision) and `sp:<page>`
(a search page). `unpack(data)` gives the object back or raises ValueError.
Pure: no Telegram here (bot/telegram/convert.py turns Button rows into
Telethon's).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Sequence

from bot.formatting import shorten
from bot.models import Button

MAX_DATA = 64  # bytes, Telegram's limit for callback data
Rows = tuple[tuple[Button, ...], ...]


class CallbackData:
    """Base of every kind: `prefixes` name it; `pack()` gives the text, `unpack()` reads it."""

    prefixes: ClassVar[tuple[str, ...]] = ()

    def pack(self) -> str:
        """The button's data; ValueError when over Telegram's 64 bytes (check `fits()` first)."""
        data = ":".join(self._parts())
        if len(data.encode()) > MAX_DATA:
            raise ValueError(f"callback data over {MAX_DATA} bytes: {data[:20]}…")
        return data

    def fits(self) -> bool:
        return len(":".join(self._parts()).encode()) <= MAX_DATA

    def _parts(self) -> tuple[str, ...]:
        raise NotImplementedError

    @classmethod
    def _parse(cls, prefix: str, rest: str) -> "CallbackData":
        raise NotImplementedError

    @classmethod
    def unpack(cls, data: str) -> "CallbackData":
        """This kind from `data`; ValueError when `data` is another kind or malformed."""
        prefix, _, rest = (data or "").partition(":")
        if prefix not in cls.prefixes:
            raise ValueError(f"not {cls.__name__} data: {data!r}")
        return cls._parse(prefix, rest)


@dataclass(frozen=True)
class Feedback(CallbackData):
    post_id: int
    rule_id: str  # "*" = every rule of the alert
    relevant: bool
    prefixes: ClassVar[tuple[str, ...]] = ("fb",)

    def _parts(self) -> tuple[str, ...]:
        return ("fb", "+" if self.relevant else "-", str(self.post_id), self.rule_id)

    @classmethod
    def _parse(cls, prefix: str, rest: str) -> "Feedback":
        sign, post_id, rule = rest.split(":", 2)
        if sign not in ("+", "-") or not rule:
            raise ValueError(f"bad feedback data: {rest!r}")
        return cls(int(post_id), rule, sign == "+")


@dataclass(frozen=True)
class MuteRule(CallbackData):
    rule_id: str
    prefixes: ClassVar[tuple[str, ...]] = ("mute",)

    def _parts(self) -> tuple[str, ...]:
        return ("mute", self.rule_id)

    @classmethod
    def _parse(cls, prefix: str, rest: str) -> "MuteRule":
        if not rest:
            raise ValueError("mute data without a rule")
        return cls(rest)


@dataclass(frozen=True)
class DecideCallback(CallbackData):
    chat_id: int
    approve: bool
    prefixes: ClassVar[tuple[str, ...]] = ("ap", "dn")

    def _parts(self) -> tuple[str, ...]:
        return ("ap" if self.approve else "dn", str(self.chat_id))

    @classmethod
    def _parse(cls, prefix: str, rest: str) -> "DecideCallback":
        return cls(int(rest), prefix == "ap")


@dataclass(frozen=True)
class SearchPage(CallbackData):
    page: int
    prefixes: ClassVar[tuple[str, ...]] = ("sp",)

    def _parts(self) -> tuple[str, ...]:
        return ("sp", str(self.page))

    @classmethod
    def _parse(cls, prefix: str, rest: str) -> "SearchPage":
        return cls(max(1, int(rest)))


KINDS: tuple[type[CallbackData], ...] = (Feedback, MuteRule, DecideCallback, SearchPage)


def unpack(data: str) -> Feedback | MuteRule | DecideCallback | SearchPage:
    """Whichever kind `data` is; ValueError when none."""
    prefix = (data or "").partition(":")[0]
    for kind in KINDS:
        if prefix in kind.prefixes:
            return kind.unpack(data)  # type: ignore[return-value]
    raise ValueError(f"unknown button data: {data!r}")


def alert_buttons(post_id: int, rule_ids: Sequence[str]) -> Rows:
    """Feedback buttons (one rule, or "*" for several or a too long id) and up to 3 mute buttons."""
    rule = rule_ids[0] if len(rule_ids) == 1 else "*"
    if not Feedback(post_id, rule, True).fits():
        rule = "*"
    rows = [(Button("👍 relevant", Feedback(post_id, rule, True).pack()),
             Button("👎 not relevant", Feedback(post_id, rule, False).pack()))]
    mutes = tuple(
        Button(f"🔕 mute {shorten(r, 20)} 1 day" if len(rule_ids) > 1 else "🔕 mute rule 1 day", MuteRule(r).pack())
        for r in rule_ids[:3]
        if MuteRule(r).fits()
    )
    if mutes:
        rows.append(mutes)
    return tuple(rows)


def decision_buttons(chat_id: int) -> Rows:
    return ((Button("✅ approve", DecideCallback(chat_id, True).pack()),
             Button("❌ deny", DecideCallback(chat_id, False).pack())),)


def page_buttons(page: int, has_more: bool) -> Rows:
    row = []
    if page > 1:
        row.append(Button("◀ newer", SearchPage(page - 1).pack()))
    if has_more:
        row.append(Button("older ▶", SearchPage(page + 1).pack()))
    return (tuple(row),) if row else ()
