"""CSV export: cells a spreadsheet would run as formulas are neutralised."""
import csv
import io

import pytest

from bot.history.export import csv_bytes, spreadsheet_safe


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
