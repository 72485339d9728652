"""CSV export: cells a spreadsheet would run as formulas are neutralised; stored matches as CSV and JSONL."""
import csv
import io
import json
from datetime import datetime, timezone

import pytest

from bot.history.export import csv_bytes, matches_csv, matches_jsonl, spreadsheet_safe
from bot.storage.history import stored_matches


@pytest.mark.parametrize("cell", ['=HYPERLINK("http://evil","x")', "+1+2", "-2+3", "@SUM(A1)",
                                  "\t=1", "\r=1", "-cmd|' /C calc'!A0"])
def test_a_cell_that_starts_like_a_formula_gets_a_leading_quote(cell):
    assert spreadsheet_safe(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["мобилизация", "-1001234567890", "-3.5", "+7", "a=b", "", None, 42])
def test_plain_text_and_numbers_stay_as_they_are(cell):
    assert spreadsheet_safe(cell) == ("" if cell is None else str(cell))


def test_every_cell_of_a_csv_file_is_neutralised_header_included():
    data = csv_bytes(["=h"], [["=1+1", "ok", "@x"]])
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [["'=h"], ["'=1+1", "ok", "'@x"]]


async def test_stored_matches_export_as_one_row_a_post_with_rules_and_spans(rows):
    first = await rows.matched_post(datetime(2024, 5, 13, 8, 50, tzinfo=timezone.utc), text="=1+1 мобилизация")
    await rows.match(first, "refusals")
    await rows.matched_post(datetime(2024, 5, 20, tzinfo=timezone.utc), text="later")
    since, until = datetime(2024, 5, 13, tzinfo=timezone.utc), datetime(2024, 5, 14, tzinfo=timezone.utc)
    posts = await stored_matches(rows.store, since, until)
    assert [(p["id"], [rule for rule, _ in p["matches"]]) for p in posts] == [(first, ["mob", "refusals"])]
    only = await stored_matches(rows.store, None, None, ["refusals"])
    assert [[rule for rule, _ in p["matches"]] for p in only] == [["refusals"]]
    [row] = list(csv.DictReader(io.StringIO(matches_csv(posts, "Europe/Moscow").decode("utf-8-sig"))))
    assert (row["date"], row["rules"], row["text"]) == ("2024-05-13T11:50:00+03:00", "mob refusals", "'=1+1 мобилизация")
    record = json.loads(matches_jsonl(posts, "UTC"))
    assert record["date"] == "2024-05-13T08:50:00+00:00" and record["spans"] == {"mob": [], "refusals": []}
