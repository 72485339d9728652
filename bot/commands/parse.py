"""Message text -> typed command arguments, or a UsageError that says how to write it.

Pure code: no storage, no clock. `parse_command("/mute 2h")` returns `Mute(minutes=120)`.
Every command has one usage line in USAGE; errors quote it.
"""
from __future__ import annotations

import re
from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.commands.args import (  # noqa: F401  (re-exported: handlers write p.Start, …)
    Start,
    Help,
    Subscribe,
    Unsubscribe,
    Mute,
    Tz,
    Style,
    Digest,
    Search,
    Export,
    Rules,
    RuleShow,
    RuleAdd,
    RuleEdit,
    RuleDel,
    RuleToggle,
    RuleTest,
    Backtest,
    Channels,
    ChannelAction,
    ChannelConfirm,
    Stats,
    Console,
    Invite,
    SetRole,
    Decide,
    Requests,
    Audit,
)
from bot.errors import UsageError
from bot.formatting import parse_day

MAX_QUERY = 1000
MAX_TEXT = 3500
MAX_MUTE_MINUTES = 30 * 24 * 60
ROLES = ("subscriber", "operator")
_RULE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,47}$")
_DURATION = re.compile(r"^(\d{1,4})\s*(m|min|h|d)$", re.IGNORECASE)
_COMMAND = re.compile(r"^/(\w{1,32})(?:@(\w+))?(?:\s+(.*))?$", re.DOTALL)
_CODE = re.compile(r"^[A-Za-z0-9_-]{4,64}$")
MAX_ID = 2**63 - 1  # SQLite integers (and Telegram ids) are signed 64-bit
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(9998, 12, 31)  # dates a digest can be built for


USAGE: dict[str, str] = {
    "start": "/start [INVITE_CODE]",
    "help": "/help",
    "subscribe": "/subscribe [TAG|RULE_ID …]  (nothing = every rule)",
    "unsubscribe": "/unsubscribe [TAG|RULE_ID …]  (nothing = stop all alerts)",
    "mute": "/mute 30m | 2h | 1d | off",
    "tz": "/tz Europe/Moscow",
    "style": "/style full | compact",
    "digest": "/digest [today | yesterday | DD.MM.YYYY | YYYY-MM-DD]",
    "search": "/search QUERY  (e.g. /search мобилизация AND повестка)",
    "export": "/export [DAYS]  (1–365, default 7)",
    "rules": "/rules",
    "rule": "/rule show|add|edit|del|on|off|test ID …  (e.g. /rule add vdv_refusals отказ* AND вдв)",
    "backtest": "/backtest ID|QUERY [DAYS]",
    "channels": "/channels",
    "channel": "/channel add|del|pause|resume|confirm @username",
    "stats": "/stats",
    "console": "/console",
    "invite": "/invite [subscriber|operator]",
    "role": "/role CHAT_ID subscriber|operator",
    "approve": "/approve CHAT_ID",
    "deny": "/deny CHAT_ID",
    "requests": "/requests",
    "audit": "/audit [N]",
}


def usage_error(command: str, problem: str) -> UsageError:
    return UsageError(f"{problem}. Write: {USAGE[command]}")


def split_command(text: str) -> tuple[str, str]:
    """'/Rule@DozorBot add x y' -> ('rule', 'add x y'). Raises UsageError if not a command."""
    text = (text or "").strip()
    if not text.startswith("/") or len(text) == 1:
        raise UsageError("Commands start with /. Send /help for the list")
    found = _COMMAND.match(text)
    if not found:
        raise UsageError("Commands look like /name. Send /help for the list")
    return found[1].lower(), (found[3] or "").strip()


def addressee(text: str) -> str | None:
    """The bot a command names ("/rule@DozorBot …" -> "dozorbot"), None when it names none."""
    found = _COMMAND.match((text or "").strip())
    return found[2].lower() if found and found[2] else None


def in_id_range(value: int) -> bool:
    """Whether `value` fits a signed 64-bit id (the database refuses anything bigger)."""
    return -MAX_ID <= value <= MAX_ID


def parse_command(text: str):
    """Parse one message into its typed arguments; UsageError on bad input."""
    name, rest = split_command(text)
    parser = _PARSERS.get(name)
    if parser is None:
        raise UsageError(f"Unknown command /{shorten(name, 32)}. Send /help for the list")
    return parser(rest)


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _no_args(command: str, cls):
    def parse(rest: str):
        if rest:
            raise usage_error(command, f"/{command} takes no arguments")
        return cls()
    return parse


def check_rule_id(command: str, rule_id: str) -> str:
    if not rule_id:
        raise usage_error(command, "The rule id is missing")
    if rule_id[0] in "\"'«“":
        raise usage_error(command, "A rule id is one word without spaces or quotes (e.g. vdv_refusals)")
    if not _RULE_ID.match(rule_id):
        raise usage_error(command, "A rule id is one word of latin letters, digits, _ . - (at most 48)")
    return rule_id


def check_query(command: str, query: str) -> str:
    query = query.strip()
    if not query:
        raise usage_error(command, "The query is missing")
    if len(query) > MAX_QUERY:
        raise usage_error(command, f"The query is too long ({len(query)} characters; at most {MAX_QUERY})")
    return query


def _parse_start(rest: str) -> Start:
    if not rest:
        return Start()
    if not _CODE.match(rest):
        raise usage_error("start", "An invite code is one word of letters and digits")
    return Start(rest)


def _parse_items(command: str, cls):
    def parse(rest: str):
        items = tuple(dict.fromkeys(rest.replace(",", " ").split()))
        for item in items:
            if len(item) > 64:
                raise usage_error(command, f"{shorten(item, 20)!r} is too long for a tag or rule id")
        return cls(items)
    return parse


def _parse_mute(rest: str) -> Mute:
    if not rest:
        raise usage_error("mute", "Say for how long")
    if rest.lower() in ("off", "0", "stop"):
        return Mute(None)
    found = _DURATION.match(rest.strip())
    if not found:
        raise usage_error("mute", f"{shorten(rest, 30)!r} is not a duration")
    amount, unit = int(found[1]), found[2].lower()
    minutes = amount * {"m": 1, "min": 1, "h": 60, "d": 1440}[unit]
    if not 1 <= minutes <= MAX_MUTE_MINUTES:
        raise usage_error("mute", "A mute lasts from 1 minute to 30 days")
    return Mute(minutes)


def _parse_tz(rest: str) -> Tz:
    if not rest:
        raise usage_error("tz", "The time zone is missing")
    if " " in rest or len(rest) > 64:
        raise usage_error("tz", f"{shorten(rest, 40)!r} is not a time zone name")
    try:
        ZoneInfo(rest)
    except (ZoneInfoNotFoundError, ValueError):
        raise usage_error("tz", f"There is no time zone {shorten(rest, 40)!r}") from None
    return Tz(rest)


DIGEST_DAYS = "today, yesterday, DD.MM.YYYY or YYYY-MM-DD"


def _parse_digest(rest: str) -> Digest:
    word = rest.lower()
    if not rest or word == "today":
        return Digest()
    if word == "yesterday":
        return Digest(days_back=1)
    try:
        day = parse_day(rest)
    except ValueError:
        raise usage_error("digest", f"{shorten(rest, 30)!r} is not a date: write {DIGEST_DAYS}") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise usage_error("digest", f"{rest} is out of range ({FIRST_DAY} to {LAST_DAY})")
    return Digest(day=day)


def _parse_search(rest: str) -> Search:
    return Search(check_query("search", rest))


def _int_arg(command: str, raw: str, low: int, high: int, what: str) -> int:
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise usage_error(command, f"{what} must be a whole number from {low} to {high}")
    return int(raw)


def _parse_export(rest: str) -> Export:
    return Export(_int_arg("export", rest, 1, 365, "DAYS") if rest else 7)


def _parse_rule(rest: str):
    verb, _, tail = rest.partition(" ")
    verb, tail = verb.lower().strip(), tail.strip()
    if not verb:
        raise usage_error("rule", "Say what to do with the rule")
    if verb == "test":
        return _parse_rule_test(tail)
    rule_id, _, query = tail.partition(" ")
    if verb in ("add", "edit"):
        check_rule_id("rule", rule_id)
        query = check_query("rule", query)
        return RuleAdd(rule_id, query) if verb == "add" else RuleEdit(rule_id, query)
    if verb in ("show", "del", "delete", "on", "off"):
        check_rule_id("rule", rule_id)
        if query:
            raise usage_error("rule", "A rule id is one word without spaces")
        if verb == "show":
            return RuleShow(rule_id)
        return RuleDel(rule_id) if verb.startswith("del") else RuleToggle(rule_id, verb == "on")
    raise usage_error("rule", f"Unknown action {shorten(verb, 20)!r}")


def _parse_rule_test(tail: str) -> RuleTest:
    if "\n" in tail:
        target, _, text = tail.partition("\n")
    else:
        target, _, text = tail.partition(" ")
    target, text = target.strip(), text.strip()
    if not target or not text:
        raise usage_error("rule", "Give a rule id (or a query on the first line) and a text: /rule test ID TEXT")
    check_query("rule", target)
    if len(text) > MAX_TEXT:
        raise usage_error("rule", f"The text is too long (at most {MAX_TEXT} characters)")
    return RuleTest(target, text)


def _parse_backtest(rest: str) -> Backtest:
    words = rest.split()
    days = 30
    if len(words) > 1 and words[-1].isdigit():
        days = _int_arg("backtest", words[-1], 1, 3650, "DAYS")
        rest = rest[: rest.rstrip().rfind(words[-1])]
    return Backtest(check_query("backtest", rest), days)


def _parse_channel(rest: str) -> ChannelAction | ChannelConfirm:
    verb, _, ref = rest.partition(" ")
    verb, ref = verb.lower(), ref.strip()
    if verb == "delete":
        verb = "del"
    if verb not in ("add", "del", "pause", "resume", "confirm"):
        raise usage_error("channel", "Say add, del, pause or resume (admins: confirm)")
    ref = ref.removeprefix("https://t.me/").removeprefix("t.me/").lstrip("@")
    if not ref or " " in ref or not re.match(r"^(-?\d{1,20}|[A-Za-z][A-Za-z0-9_]{3,31})$", ref):
        raise usage_error("channel", "Give one channel: @username, a t.me link or a numeric id")
    if ref.lstrip("-").isdigit() and not in_id_range(int(ref)):
        raise usage_error("channel", "A numeric channel id fits in 64 bits")
    return ChannelConfirm(ref) if verb == "confirm" else ChannelAction(verb, ref)


def _parse_invite(rest: str) -> Invite:
    role = rest.lower() or "subscriber"
    if role not in ROLES:
        raise usage_error("invite", f"The role is subscriber or operator, not {shorten(rest, 20)!r}")
    return Invite(role)


def _chat_id(command: str, raw: str) -> int:
    if not re.match(r"^-?\d{1,20}$", raw or "") or not in_id_range(int(raw)):
        raise usage_error(command, "CHAT_ID is a number (see /requests)")
    return int(raw)


def _parse_role(rest: str) -> SetRole:
    words = rest.split()
    if len(words) != 2:
        raise usage_error("role", "Give a chat id and a role")
    role = words[1].lower()
    if role not in ROLES:
        raise usage_error("role", f"The role is subscriber or operator, not {shorten(words[1], 20)!r}")
    return SetRole(_chat_id("role", words[0]), role)


def _parse_style(rest: str) -> Style:
    choice = rest.strip().lower()
    if choice and choice not in ("full", "compact"):
        raise usage_error("style", f"There is no style {shorten(rest.strip(), 40)!r}")
    return Style(choice or None)


def _parse_decide(command: str, approve: bool):
    return lambda rest: Decide(_chat_id(command, rest.strip()), approve)


def _parse_audit(rest: str) -> Audit:
    return Audit(_int_arg("audit", rest, 1, 50, "N") if rest else 10)


_PARSERS = {
    "start": _parse_start,
    "help": _no_args("help", Help),
    "subscribe": _parse_items("subscribe", Subscribe),
    "unsubscribe": _parse_items("unsubscribe", Unsubscribe),
    "mute": _parse_mute,
    "tz": _parse_tz,
    "style": _parse_style,
    "digest": _parse_digest,
    "search": _parse_search,
    "export": _parse_export,
    "rules": _no_args("rules", Rules),
    "rule": _parse_rule,
    "backtest": _parse_backtest,
    "channels": _no_args("channels", Channels),
    "channel": _parse_channel,
    "stats": _no_args("stats", Stats),
    "console": _no_args("console", Console),
    "invite": _parse_invite,
    "role": _parse_role,
    "approve": _parse_decide("approve", True),
    "deny": _parse_decide("deny", False),
    "requests": _no_args("requests", Requests),
    "audit": _parse_audit,
}
