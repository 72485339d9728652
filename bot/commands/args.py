"""The typed arguments of each command, as bot/commands/parse.py produces them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

@dataclass(frozen=True)
class Start:
    code: str | None = None


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class Subscribe:
    items: tuple[str, ...] = ()


@dataclass(frozen=True)
class Unsubscribe:
    items: tuple[str, ...] = ()


@dataclass(frozen=True)
class Mute:
    minutes: int | None  # None = unmute


@dataclass(frozen=True)
class Tz:
    zone: str


@dataclass(frozen=True)
class Style:
    style: str | None  # full | compact; None = say which one is in use


@dataclass(frozen=True)
class Digest:
    day: date | None = None
    days_back: int = 0


@dataclass(frozen=True)
class Search:
    query: str


@dataclass(frozen=True)
class Export:
    days: int = 7


@dataclass(frozen=True)
class Rules:
    pass


@dataclass(frozen=True)
class RuleShow:
    rule_id: str


@dataclass(frozen=True)
class RuleAdd:
    rule_id: str
    query: str


@dataclass(frozen=True)
class RuleEdit:
    rule_id: str
    query: str


@dataclass(frozen=True)
class RuleDel:
    rule_id: str


@dataclass(frozen=True)
class RuleToggle:
    rule_id: str
    enabled: bool


@dataclass(frozen=True)
class RuleTest:
    target: str
    text: str


@dataclass(frozen=True)
class Backtest:
    target: str
    days: int = 30


@dataclass(frozen=True)
class Channels:
    pass


@dataclass(frozen=True)
class ChannelAction:
    action: str
    ref: str  # add | del | pause | resume


@dataclass(frozen=True)
class ChannelConfirm:
    ref: str  # a private group or channel an admin agrees to watch


@dataclass(frozen=True)
class Stats:
    pass


@dataclass(frozen=True)
class Console:
    pass


@dataclass(frozen=True)
class Invite:
    role: str = "subscriber"


@dataclass(frozen=True)
class SetRole:
    chat_id: int
    role: str


@dataclass(frozen=True)
class Decide:
    chat_id: int
    approve: bool


@dataclass(frozen=True)
class Requests:
    pass


@dataclass(frozen=True)
class Audit:
    limit: int = 10
