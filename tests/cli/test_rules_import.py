"""`dozor rules import --replace`: shows the diff, asks (or needs --yes), never empties the rules
unless --allow-empty; an emptied rule set is not seeded again behind the operator's back."""
from __future__ import annotations

import io

import pytest

from bot.__main__ import main

OTHER = '[[rule]]\nid = "mobilization"\nquery = "мобилизация"\n[[rule]]\nid = "deserters"\nquery = "дезертир"\n'


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Pipe(io.StringIO):
    def isatty(self) -> bool:
        return False


@pytest.fixture
def imported(cli_env, capsys, monkeypatch):
    """The live set: mobilization and refusals (tests/cli/cli_helpers.RULES); files to replace it with."""
    assert main(["rules", "import", "rules.toml"]) == 0
    (cli_env / "empty.toml").write_text("# no rules\n", encoding="utf-8")
    (cli_env / "other.toml").write_text(OTHER, encoding="utf-8")
    monkeypatch.setattr("sys.stdin", Pipe())
    capsys.readouterr()
    return cli_env


def live_ids(capsys) -> list[str]:
    capsys.readouterr()
    assert main(["rules", "export"]) == 0
    return sorted(line.split("'")[1] for line in capsys.readouterr().out.splitlines() if line.startswith("id = "))


def test_replace_with_an_empty_file_is_refused_and_deletes_nothing(imported, capsys):
    assert main(["rules", "import", "--replace", "--yes", "empty.toml"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "delete all 2 live rules" in err and "--allow-empty" in err
    assert live_ids(capsys) == ["mobilization", "refusals"]


def test_allow_empty_empties_the_rules_and_the_next_run_stops_instead_of_seeding_again(imported, capsys):
    assert main(["rules", "import", "--replace", "--allow-empty", "--yes", "empty.toml"]) == 0
    assert "removed (2): mobilization, refusals" in capsys.readouterr().out
    assert live_ids(capsys) == []
    assert main(["run"]) == 2
    assert "there are no rules" in capsys.readouterr().err


def test_replace_without_a_terminal_shows_the_diff_and_needs_yes(imported, capsys):
    assert main(["rules", "import", "--replace", "other.toml"]) == 2
    captured = capsys.readouterr()
    assert "added (1): deserters" in captured.out and "changed (1): mobilization" in captured.out
    assert "removed (1): refusals" in captured.out and "add --yes" in captured.err
    assert live_ids(capsys) == ["mobilization", "refusals"]
    assert main(["rules", "import", "--replace", "--yes", "other.toml"]) == 0
    assert "1 removed" in capsys.readouterr().out
    assert live_ids(capsys) == ["deserters", "mobilization"]


@pytest.mark.parametrize("answer, code, expected", [
    ("n\n", 2, ["mobilization", "refusals"]),
    ("\n", 2, ["mobilization", "refusals"]),
    ("y\n", 0, ["deserters", "mobilization"]),
])
def test_replace_on_a_terminal_asks_yes_or_no(imported, capsys, monkeypatch, answer, code, expected):
    monkeypatch.setattr("sys.stdin", Terminal(answer))
    assert main(["rules", "import", "--replace", "other.toml"]) == code
    assert "replace the live rules? [y/N]" in capsys.readouterr().out
    assert live_ids(capsys) == expected


def test_import_without_replace_adds_and_changes_without_asking(imported, capsys):
    assert main(["rules", "import", "other.toml"]) == 0
    assert "2 added or changed" in capsys.readouterr().out
    assert live_ids(capsys) == ["deserters", "mobilization", "refusals"]
