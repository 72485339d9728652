"""CSV files people open in spreadsheets: a subscriber's alerts (/export).

Every CSV Dozor writes goes through `csv_bytes`, which neutralises cells a
spreadsheet would run as a formula: a cell that starts with `=`, `+`, `-`,
`@`, a tab or a carriage return gets a leading `'` (OWASP's advice), so
`=HYPERLINK(…)` in a post or a channel title is shown, not run. Plain numbers
(`-1001234567890`, `-3.5`) are no formula and stay as they are.
Pure: rows in, bytes out (UTF-8 with a BOM, which Excel needs for Cyrillic).
"""
from __future__ import annotations

import csv
import io
import json
import re
from typing import Iterable, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?\d+(?:\.\d+)?$")
ALERT_COLUMNS = ("alert_created_at", "sent_at", "status", "post_date", "channel", "rules", "link", "text", "views",
                 "forwards")  # views and forwards as last refreshed (posts younger than 3 days are refreshed); empty = unknown


def spreadsheet_safe(value: object) -> str:
    """The cell's text, with a leading ' when a spreadsheet would take it for a formula."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS) and not _NUMBER.match(text):
        return "'" + text
    return text


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """A CSV file with every cell neutralised, as UTF-8 with a BOM."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([spreadsheet_safe(cell) for cell in header])
    for row in rows:
        writer.writerow([spreadsheet_safe(cell) for cell in row])
    return buffer.getvalue().encode("utf-8-sig")


def alert_rows(rows: Iterable[dict]) -> list[list[object]]:
    """Rows of `bot.storage.access.alerts_for_export` as the cells of ALERT_COLUMNS."""
    out = []
    for row in rows:
        channel = "@" + row["username"] if row["username"] else (row["channel_title"] or row["channel_id"])
        out.append([row["created_at"], row["sent_at"] or "", row["status"], row["date"], channel,
                    " ".join(json.loads(row["rules"])), row["link"] or "", row["text"],
                    _count(row.get("views")), _count(row.get("forwards"))])
    return out


def _count(value) -> str:
    return "" if value is None else str(value)


def alerts_csv(rows: Iterable[dict]) -> bytes:
    """The /export file: one line per alert, oldest first."""
    return csv_bytes(ALERT_COLUMNS, alert_rows(rows))
