"""Rule files: TOML in (validated, with positions in errors) and TOML out.

    [[rule]]
    id = "mobilization"
    title = "Call-ups"
    query = 'повестк* OR военкомат'
    exclude = '"повестка дня"'
    tags = ["mobilization"]
    channels = ["pskovgubernia", "-pskov_news"]   # "-" excludes
    langs = ["ru", "uk"]
    severity = "high"                              # or "low"
    enabled = true

A rule's comment is the full-line `#` comments right above its [[rule]] (no
blank line between) and those inside its table before its last key; comments
after a table's last key belong to what follows. It is kept in RuleDef.comment,
stored with the rule, and written back above [[rule]] by `rules_to_toml`, with
multi-line queries as '''...''' blocks, so an export imports back unchanged.
"""
from __future__ import annotations

import dataclasses
import json
import re
import tomllib
from pathlib import Path

from bot.models import RuleDef
from bot.rules.errors import RuleSyntaxError

KEYS = {"id", "title", "query", "exclude", "tags", "channels", "langs", "severity", "enabled"}
SEVERITIES = ("high", "low")
LANGS = ("ru", "uk", "en")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
RULE_ID = _ID  # what a rule id looks like (also bot/history/backtest.py: "is this argument an id?")


def _rule_line(text: str, index: int) -> int:
    """1-based line of the index-th [[rule]] header (for errors), or 1."""
    found = [m.start() for m in re.finditer(r"^[ \t]*\[\[\s*rule\s*\]\]", text, re.M)]
    if index < len(found):
        return text[:found[index]].count("\n") + 1
    return 1


def _fail(reason: str, text: str, index: int, rule_id=None, source="rules.toml"):
    return RuleSyntaxError(reason, rule_id=rule_id, line=_rule_line(text, index),
                           column=1, text=text, where=source)


def _str_list(value, name: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
        raise ValueError(f"{name} must be a list of strings")
    return tuple(str(v).strip() for v in value if str(v).strip())


def _rule(raw: dict) -> RuleDef:
    unknown = set(raw) - KEYS
    if unknown:
        raise ValueError(f"unknown key(s) {sorted(unknown)}; allowed: {sorted(KEYS)}")
    for name in ("id", "query"):
        if not isinstance(raw.get(name), str) or not raw[name].strip():
            raise ValueError(f"{name} is required and must be a non-empty string")
    if not _ID.match(raw["id"]):
        raise ValueError("id may hold letters, digits, _ . - only")
    for name in ("title", "exclude", "severity"):
        if name in raw and not isinstance(raw[name], str):
            raise ValueError(f"{name} must be a string")
    if "enabled" in raw and not isinstance(raw["enabled"], bool):
        raise ValueError("enabled must be true or false")
    severity = raw.get("severity", "high")
    if severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {list(SEVERITIES)}, not {severity!r}")
    langs = _str_list(raw.get("langs", []), "langs")
    bad = [x for x in langs if x not in LANGS]
    if bad:
        raise ValueError(f"langs may hold {list(LANGS)}, not {bad}")
    channels = [c.lower().lstrip("@") for c in _str_list(raw.get("channels", []), "channels")]
    return RuleDef(
        id=raw["id"], query=raw["query"], title=raw.get("title", ""),
        exclude=raw.get("exclude") or None, tags=_str_list(raw.get("tags", []), "tags"),
        channels_include=tuple(c for c in channels if not c.startswith("-")),
        channels_exclude=tuple(c[1:].lstrip("@") for c in channels if c.startswith("-")),
        langs=langs, severity=severity, enabled=raw.get("enabled", True))


def parse_rules_toml(text: str, source: str = "rules.toml") -> list[RuleDef]:
    """Rules from TOML text; any problem raises RuleSyntaxError with its place."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line, column = (int(m.group(1)), int(m.group(2))) if m else (1, 1)
        reason = re.sub(r"\s*\(at line.*\)$", "", str(exc))
        raise RuleSyntaxError(f"TOML syntax: {reason}", line=line, column=column,
                              text=text, where=source) from None
    extra = set(data) - {"rule"}
    if extra:
        raise RuleSyntaxError(f"unknown top-level key(s) {sorted(extra)}; write [[rule]] tables",
                              text=text, where=source)
    raws = data.get("rule", [])
    if not isinstance(raws, list):
        raise RuleSyntaxError("rules must be [[rule]] tables", text=text, where=source)
    rules, seen = [], set()
    comments = rule_comments(text)
    if len(comments) != len(raws):  # tables written some other way (inline, nested): no comments
        comments = [""] * len(raws)
    for index, raw in enumerate(raws):
        if not isinstance(raw, dict):
            raise _fail(f"rule number {index + 1} is {_toml_kind(raw)}, not a table: write each rule "
                        "as a [[rule]] table with id = … and query = …", text, index, None, source)
        rule_id = raw.get("id") if isinstance(raw.get("id"), str) else None
        try:
            rule = _rule(raw)
        except ValueError as exc:
            raise _fail(str(exc), text, index, rule_id, source) from None
        if rule.id in seen:
            raise _fail("duplicate id: another rule already uses it", text, index, rule.id, source)
        seen.add(rule.id)
        rules.append(dataclasses.replace(rule, comment=comments[index]) if comments[index] else rule)
    return rules


_HEADER = re.compile(r"^\[\[\s*rule\s*\]\]\s*(#.*)?$")
_MULTILINE_QUOTES = ("'''", '"""')


def _line_kinds(text: str) -> list[tuple[str, str]]:
    """(kind, line) per line: "header", "comment", "blank" or "key" (a key line or inside a string)."""
    kinds, open_quote = [], None
    for line in text.splitlines():
        stripped = line.strip()
        if open_quote:
            if line.count(open_quote) % 2:
                open_quote = None
            kinds.append(("key", line))
        elif not stripped:
            kinds.append(("blank", line))
        elif stripped.startswith("#"):
            kinds.append(("comment", line))
        elif _HEADER.match(stripped):
            kinds.append(("header", line))
        else:
            for quote in _MULTILINE_QUOTES:
                if quote in line:
                    open_quote = quote if line.count(quote) % 2 else None
                    break
            kinds.append(("key", line))
    return kinds


def _uncomment(line: str) -> str:
    body = line.strip()[1:]
    return body[1:] if body.startswith(" ") else body


def rule_comments(text: str) -> list[str]:
    """Each [[rule]] table's comment (see the module docstring), in file order."""
    kinds = _line_kinds(text)
    headers = [i for i, (kind, _) in enumerate(kinds) if kind == "header"]
    out = []
    for n, start in enumerate(headers):
        above = []
        j = start - 1
        while j >= 0 and kinds[j][0] == "comment":
            above.insert(0, kinds[j][1])
            j -= 1
        end = headers[n + 1] if n + 1 < len(headers) else len(kinds)
        keys = [i for i in range(start + 1, end) if kinds[i][0] == "key"]
        inside = [line for kind, line in kinds[start + 1:keys[-1]] if kind == "comment"] if keys else []
        out.append("\n".join(_uncomment(line) for line in above + inside))
    return out


def _toml_kind(value) -> str:
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    if isinstance(value, list):
        return "a list"
    return f"the value {str(value)[:40]!r}"


def read_rule_file(path) -> tuple[str, list[RuleDef]]:
    """The file's text and its rules (each checked alone; bot/rules/validate.py checks the set)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleSyntaxError(f"cannot read {path}: {exc.strerror or exc}", where=str(path)) from None
    return text, parse_rules_toml(text, source=str(path))


def load_rule_file(path) -> list[RuleDef]:
    return read_rule_file(path)[1]


def _toml_str(value: str) -> str:
    if "'" not in value and all(ch >= " " and ch != "\x7f" for ch in value):
        return "'" + value + "'"
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_list(values) -> str:
    return "[" + ", ".join(_toml_str(v) for v in values) + "]"


def _toml_query(value: str) -> str:
    """A query as TOML: a '''...''' block when it spans lines (read back exactly), else one string."""
    literal_ok = "'''" not in value and not value.endswith("'") and all(
        ch in "\n\t" or (ch >= " " and ch != "\x7f") for ch in value)
    if "\n" in value and literal_ok:
        return "'''\n" + value + "'''"  # TOML drops the newline right after the opening quotes
    return _toml_str(value)


def rules_to_toml(defs) -> str:
    """TOML that parse_rules_toml reads back to the same RuleDefs, comments included."""
    blocks = []
    for d in defs:
        lines = [("# " + line).rstrip() for line in d.comment.split("\n")] if d.comment else []
        lines += ["[[rule]]", f"id = {_toml_str(d.id)}"]
        if d.title:
            lines.append(f"title = {_toml_str(d.title)}")
        lines.append(f"query = {_toml_query(d.query)}")
        if d.exclude:
            lines.append(f"exclude = {_toml_query(d.exclude)}")
        if d.tags:
            lines.append(f"tags = {_toml_list(d.tags)}")
        channels = list(d.channels_include) + ["-" + c for c in d.channels_exclude]
        if channels:
            lines.append(f"channels = {_toml_list(channels)}")
        if d.langs:
            lines.append(f"langs = {_toml_list(d.langs)}")
        lines.append(f"severity = {_toml_str(d.severity)}")
        lines.append(f"enabled = {'true' if d.enabled else 'false'}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


_OPENERS = ("'''", '"""', "'", '"')


def locate_in_file(text: str, source: str, exc: RuleSyntaxError) -> RuleSyntaxError:
    """A query error of a rule read from `text`, re-pointed at the file's line and column."""
    if not exc.rule_id or exc.where not in ("query", "exclude"):
        return exc
    head = re.search(r"^[ \t]*id\s*=\s*[\"']" + re.escape(exc.rule_id) + r"[\"']", text, re.M)
    if not head:
        return exc
    block = max(text.rfind("[[", 0, head.start()), 0)
    quotes = "|".join(re.escape(q) for q in _OPENERS)
    found = re.compile(r"^[ \t]*" + exc.where + r"\s*=\s*(" + quotes + ")", re.M).search(text, block)
    if not found:
        return exc
    start = found.end()
    if len(found.group(1)) == 3 and text[start:start + 1] == "\n":
        start += 1  # TOML drops a newline right after the opening quotes
    line = text[:start].count("\n") + exc.line
    column = exc.column + (start - (text.rfind("\n", 0, start) + 1) if exc.line == 1 else 0)
    return RuleSyntaxError(f"{exc.where}: {exc.reason}", rule_id=exc.rule_id, line=line,
                           column=column, text=text, where=source)
