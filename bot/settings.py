"""Every setting Dozor reads, in one list, with its default, type and help.

Sources, strongest first: the process environment, `.env` (python-dotenv, not
exported into os.environ), then `config/dozor.toml` (keys are the names in
lower case without the `DOZOR_` prefix, e.g. `data_dir = "./data"`).
A missing or malformed value raises ConfigError naming the setting.
Tests check that `.env.example` and README.md mention every name here.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

from bot.errors import ConfigError
from bot.stories import DEFAULT_THRESHOLD


def _int(raw: str) -> int:
    return int(str(raw).strip())


def _float(raw: str) -> float:
    return float(str(raw).strip())


def _bool(raw: str) -> bool:
    value = str(raw).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("expected true or false")


def _str(raw: str) -> str:
    return str(raw).strip()


def _path(raw: str) -> Path:
    return Path(str(raw).strip()).expanduser()


def _db(raw: str) -> Path | str:
    """A SQLite file path, or a PostgreSQL URL (postgresql://user:pass@host:5432/dozor) kept as text."""
    text = str(raw).strip()
    return text if text.startswith(("postgresql://", "postgres://")) else _path(text)


def _int_list(raw: str) -> tuple[int, ...]:
    if isinstance(raw, (list, tuple)):
        return tuple(int(x) for x in raw)
    return tuple(int(part) for part in str(raw).replace(";", ",").split(",") if part.strip())


def _str_list(raw: str) -> tuple[str, ...]:
    if isinstance(raw, (list, tuple)):
        return tuple(str(x).strip() for x in raw if str(x).strip())
    return tuple(part.strip() for part in str(raw).split(",") if part.strip())


def _days(raw: str) -> int:
    days = _int(raw)
    if not 1 <= days <= 365:
        raise ValueError("expected a whole number of days from 1 to 365")
    return days


def _tz(raw: str) -> str:
    name = str(raw).strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r} (write e.g. Europe/Moscow)") from exc
    return name


def _hhmm(raw: str) -> str:
    text = str(raw).strip()
    hours, _, minutes = text.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60):
        raise ValueError("expected a time as HH:MM, e.g. 09:00")
    return f"{int(hours):02d}:{int(minutes):02d}"


@dataclass(frozen=True)
class ProxyConfig:
    """TG_PROXY parsed: how every Telethon client reaches Telegram. `repr` never shows the password
    or the MTProxy secret."""

    scheme: str  # socks5 | socks4 | http | mtproxy
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    secret: str | None = None  # MTProxy only: hex (optionally dd/ee-prefixed) or base64

    def __repr__(self) -> str:
        return f"ProxyConfig({self.redacted()})"

    def redacted(self) -> str:
        """The proxy as a URL with the password and secret hidden (for logs)."""
        who = ""
        if self.scheme == "mtproxy":
            who = "***@"
        elif self.username:
            who = f"{self.username}:***@" if self.password else f"{self.username}@"
        return f"{self.scheme}://{who}{self.host}:{self.port}"


PROXY_SCHEMES = ("socks5", "socks4", "http", "mtproxy")


def _proxy(raw: str) -> ProxyConfig:
    """socks5://user:pass@host:port, socks4://host:port, http://user:pass@host:port or
    mtproxy://SECRET@host:port. Errors never repeat the value (it may hold a password)."""
    text = str(raw).strip()
    scheme, sep, _ = text.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in PROXY_SCHEMES:
        raise ValueError("expected socks5://[user:pass@]host:port, http://[user:pass@]host:port "
                         "or mtproxy://SECRET@host:port")
    parts = urlsplit(text)
    try:
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname or port is None or port == 0 or parts.path not in ("", "/"):
        raise ValueError(f"a {scheme} proxy needs a host and a port (1-65535), e.g. {scheme}://127.0.0.1:1080")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if scheme != "mtproxy":
        return ProxyConfig(scheme, parts.hostname, port, username, password)
    if not username or password is not None or not _mtproxy_secret_ok(username):
        raise ValueError("an MTProxy needs its secret before the host: mtproxy://SECRET@host:port "
                         "(32 hex digits, optionally starting with dd or ee)")
    return ProxyConfig(scheme, parts.hostname, port, secret=username)


def _mtproxy_secret_ok(secret: str) -> bool:
    body = secret[2:] if secret[:2].lower() in ("dd", "ee") and len(secret) > 32 else secret
    try:
        return len(bytes.fromhex(body[:32])) == 16
    except ValueError:
        return False


_TYPE_NAMES: dict[Callable, str] = {
    _int: "integer", _days: "days (1–365)", _float: "number", _bool: "true/false", _str: "text", _path: "path",
    _int_list: "comma-separated integers", _str_list: "comma-separated list",
    _tz: "time zone", _hhmm: "HH:MM", _proxy: "proxy URL",
}


@dataclass(frozen=True)
class Setting:
    name: str  # environment name, e.g. DOZOR_DATA_DIR
    default: Any  # None = not set (optional); REQUIRED = must be given
    parse: Callable[[str], Any]
    help: str
    secret: bool = False
    low: float | None = None  # smallest value accepted (numbers)
    high: float | None = None  # largest value accepted (numbers)
    choices: tuple[str, ...] = ()  # the only values accepted (text; compared in capitals)
    above_low: bool = False  # True: the value must be greater than `low`, not equal

    @property
    def key(self) -> str:
        """The attribute on Settings and the key in config/dozor.toml."""
        name = self.name.lower()
        return name[len("dozor_"):] if name.startswith("dozor_") else name


SETTINGS: tuple[Setting, ...] = (
    # Where things live
    Setting("DOZOR_DATA_DIR", Path("./data"), _path, "Folder for the database, Telegram sessions and charts."),
    Setting("DOZOR_DB", None, _db, "Database file (default <DOZOR_DATA_DIR>/dozor.db; the built-in sample: demo.db), or postgresql://user:pass@host:5432/dozor for a shared PostgreSQL store."),
    Setting("DOZOR_RULES", Path("config/rules.toml"), _path, "Rule file that seeds a new database; if missing, the default rules packaged with Dozor."),
    Setting("DOZOR_LOG_LEVEL", "INFO", _str, "Logging level: DEBUG, INFO, WARNING or ERROR.",
            choices=("DEBUG", "INFO", "WARNING", "ERROR")),
    # Telegram credentials (secrets: keep them in .env)
    Setting("TG_API_ID", None, _int, "api_id from my.telegram.org (live mode).",
            low=1),
    Setting("TG_API_HASH", None, _str, "api_hash from my.telegram.org (live mode).", secret=True),
    Setting("TG_BOT_TOKEN", None, _str, "Bot token from @BotFather; without it the user account sends alerts.", secret=True),
    Setting("TG_SESSION", "dozor", _str, "Name of the user-account session file in the data folder."),
    Setting("DOZOR_ACCOUNTS", (), _str_list, "Extra user-account session names to spread channels across."),
    Setting("DOZOR_ADMINS", (), _int_list, "Telegram user ids of the admins, comma-separated."),
    Setting("TG_PROXY", None, _proxy, "Proxy for every Telegram connection: socks5://user:pass@host:port, "
            "http://host:port or mtproxy://SECRET@host:port.", secret=True),
    Setting("DOZOR_INVITE_DAYS", 7, _days, "Days an invite code stays valid (1–365); /invite shows when it expires.",
            low=1, high=365),
    # Watching channels
    Setting("DOZOR_JOIN_CHANNELS", True, _bool, "Join watched channels (pushed updates); false polls their history instead."),
    Setting("DOZOR_SWEEP_INTERVAL", 300, _int, "Seconds between history sweeps that close gaps; the longest poll interval.",
            low=5, high=86_400),
    Setting("DOZOR_POLL_FLOOR", 30.0, _float, "Shortest poll interval (seconds) of a busy channel that is not joined.",
            low=1, high=3600),
    Setting("DOZOR_LATE_AFTER", 120, _int, "A post found this many seconds after it was posted is alerted as late.",
            low=0, high=86_400),
    Setting("DOZOR_RECHECK_HOURS", 24, _int, "Sweeps re-read posts of the last N hours for edits and deletions.",
            low=0, high=720),
    Setting("DOZOR_OFFLINE_NOTICE_AFTER", 300, _int, "Tell admins when an account has been offline this many seconds.",
            low=0, high=86_400),
    Setting("DOZOR_BACKFILL_LIMIT", 50, _int, "Posts read from a newly added channel to seed the database.",
            low=0, high=10_000),
    Setting("DOZOR_SILENCE_FACTOR", 8.0, _float, "Warn when a channel is silent this many times its usual gap between posts.",
            low=1, high=1000),
    # Matching and search
    Setting("DOZOR_REGEX_BUDGET", 0.1, _float, "Seconds all /regex/ terms of all rules may take on one post; past it they count as false (logged).",
            low=0, high=10, above_low=True),
    Setting("DOZOR_SEARCH_BUDGET", 3.0, _float, "Seconds one /search may spend checking posts; it then answers with what it found.",
            low=0, high=600, above_low=True),
    # Web console
    Setting("DOZOR_WEB", None, _str, "host:port where `dozor run` also serves the web console (unset: it does not; `dozor web` serves it on its own)."),
    Setting("DOZOR_WEB_URL", None, _str, "Address people open the console at, for login links (default http://<host>:<port>)."),
    # Alerts
    Setting("DOZOR_ALERT_CHAT", "me", _str, "Chat the user account sends alerts to when there is no bot token."),
    Setting("DOZOR_RATE_PER_CHAT", 1.0, _float, "Messages per second to one chat.",
            low=0, high=1000, above_low=True),
    Setting("DOZOR_RATE_PER_GROUP", 20, _int, "Messages per minute to one group.",
            low=1, high=1000),
    Setting("DOZOR_RATE_GLOBAL", 30, _int, "Messages per second in all.",
            low=1, high=1000),
    Setting("DOZOR_MAX_ATTEMPTS", 8, _int, "Failed sends before an alert is parked for operators.",
            low=1, high=1000),
    Setting("DOZOR_WEBHOOK_RATE", 100.0, _float, "Requests per second to one webhook subscriber.",
            low=0, high=10_000, above_low=True),
    Setting("DOZOR_APPRISE_RATE", 1.0, _float, "Notifications per second to one Apprise subscriber (e-mail, Slack, …).",
            low=0, high=1000, above_low=True),
    Setting("DOZOR_TARGET_TIMEOUT", 10.0, _float, "Seconds a webhook or Apprise delivery may take before it counts as failed.",
            low=0, high=600, above_low=True),
    Setting("DOZOR_DEDUP_THRESHOLD", DEFAULT_THRESHOLD, _float, "Similarity (0..1) above which two posts are one story.",
            low=0, high=1),
    Setting("DOZOR_DEDUP_WINDOW_HOURS", 24, _int, "How far back a repost is grouped with its first alert.",
            low=0, high=720),
    # Digest
    Setting("DOZOR_TZ", "Europe/Moscow", _tz, "Default time zone of new subscribers."),
    Setting("DOZOR_DIGEST_TIME", "09:00", _hhmm, "Default local time of the daily digest."),
    Setting("DOZOR_DIGEST_GRACE_HOURS", 6, _int, "A digest missed while down is sent on start if this recent.",
            low=0, high=168),
)

REQUIRED = object()
_BY_NAME = {s.name: s for s in SETTINGS}


class Settings:
    """Parsed settings; attributes are Setting.key (e.g. settings.data_dir)."""

    def __init__(self, values: dict[str, Any]):
        self._values = values
        for setting in SETTINGS:
            setattr(self, setting.key, values[setting.name])

    @property
    def db_path(self) -> Path | str:
        """The SQLite file, or the PostgreSQL URL (it may hold a password: print `db_label`)."""
        return self.db if self.db is not None else self.data_dir / "dozor.db"

    @property
    def db_label(self) -> str:
        """Where the database is, fit to print (a PostgreSQL URL without its password)."""
        from bot.storage.pg_url import masked
        return masked(str(self.db_path))

    @property
    def has_telegram(self) -> bool:
        return bool(self.tg_api_id and self.tg_api_hash)

    def replace(self, **changes: Any) -> "Settings":
        values = dict(self._values)
        for key, value in changes.items():
            values[_setting_for_key(key).name] = value
        return Settings(values)

    def __repr__(self) -> str:  # never print secrets
        shown = {s.key: ("***" if s.secret and self._values[s.name] else self._values[s.name]) for s in SETTINGS}
        if isinstance(shown.get("db"), str):
            shown["db"] = self.db_label
        return f"Settings({shown})"


def _setting_for_key(key: str) -> Setting:
    for setting in SETTINGS:
        if setting.key == key:
            return setting
    raise KeyError(key)


def load_settings(
    env: dict[str, str] | None = None,
    env_file: Path | str | None = ".env",
    config_file: Path | str | None = "config/dozor.toml",
) -> Settings:
    """Read settings from the environment, .env and config/dozor.toml."""
    env = dict(os.environ) if env is None else env
    dotenv = {k: v for k, v in dotenv_values(env_file).items() if v is not None} if env_file and Path(env_file).is_file() else {}
    toml = _read_toml(Path(config_file)) if config_file and Path(config_file).is_file() else {}
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw, where = _find_raw(setting, env, dotenv, toml)
        if raw is None or (isinstance(raw, str) and raw.strip() == ""):
            if setting.default is REQUIRED:
                raise ConfigError(f"{setting.name} is not set: {setting.help}")
            values[setting.name] = setting.default
            continue
        try:
            values[setting.name] = check_range(setting, setting.parse(
                raw if not isinstance(raw, (int, float, bool)) else str(raw)))
        except (ValueError, TypeError) as exc:
            kind = _TYPE_NAMES.get(setting.parse, "value")
            shown = "***" if setting.secret else repr(raw)
            raise ConfigError(f"{setting.name} (from {where}) is not a valid {kind}: {shown}: {exc}") from None
    return Settings(values)


def check_range(setting: Setting, value: Any) -> Any:
    """The value if it lies in the setting's range or choices (choices come back in capitals); else ValueError."""
    if setting.choices:
        value = str(value).upper()
        if value not in setting.choices:
            raise ValueError(f"expected one of {', '.join(setting.choices)}")
        return value
    low, high = setting.low, setting.high
    too_low = low is not None and (value <= low if setting.above_low else value < low)
    if too_low or (high is not None and value > high):
        raise ValueError(f"expected {describe_range(setting)}")
    return value


def describe_range(setting: Setting) -> str:
    """The accepted values in words, e.g. "from 0 to 1" or "more than 0, at most 1000"."""
    if setting.choices:
        return "one of " + ", ".join(setting.choices)
    low, high = (f"{v:g}" if v is not None else None for v in (setting.low, setting.high))
    first = (f"more than {low}" if setting.above_low else f"at least {low}") if low is not None else ""
    if low is not None and high is not None and not setting.above_low:
        return f"from {low} to {high}"
    return ", ".join(part for part in (first, f"at most {high}" if high is not None else "") if part)


def _find_raw(setting: Setting, env: dict, dotenv: dict, toml: dict) -> tuple[Any, str]:
    if setting.name in env:
        return env[setting.name], "environment"
    if setting.name in dotenv:
        return dotenv[setting.name], ".env"
    if setting.key in toml:
        return toml[setting.key], "config/dozor.toml"
    return None, "default"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    unknown = [k for k in data if k not in {s.key for s in SETTINGS}]
    if unknown:
        raise ConfigError(f"{path}: unknown setting {unknown[0]!r}")
    secrets = [s.name for s in SETTINGS if s.secret and s.key in data]
    if secrets:  # the file is tracked by git: a secret there ends up in every clone
        raise ConfigError(f"{path}: {', '.join(secrets)} is a secret and must not be in this file "
                          f"(it is tracked by git); remove it and put it in .env instead")
    return data
