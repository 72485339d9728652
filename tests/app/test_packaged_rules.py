"""Rules from any folder: the packaged defaults seed an empty table when DOZOR_RULES is missing;
a replay or a live run with no enabled rule stops with one line (exit 2) before reading a post."""
from __future__ import annotations

from pathlib import Path

from bot.__main__ import main
from bot.app.rules import packaged_rules_path

REPO = Path(__file__).resolve().parents[2]
DISABLED = '[[rule]]\nid = "off"\nquery = "военкомат"\nenabled = false\n'


def test_the_packaged_default_rules_are_the_config_rules():
    assert packaged_rules_path().read_bytes() == (REPO / "config" / "rules.toml").read_bytes()


def test_run_without_a_rule_file_seeds_the_packaged_rules_says_so_and_alerts(workdir, capsys, caplog, monkeypatch):
    monkeypatch.setenv("DOZOR_RULES", str(workdir / "config" / "rules.toml"))  # not there
    assert main(["run"]) == 0
    assert "● " in capsys.readouterr().out
    assert "rules.toml not found" in caplog.text and str(packaged_rules_path()) in caplog.text


def test_replay_with_no_enabled_rule_exits_2_with_one_line_and_stores_nothing(workdir, capsys, monkeypatch):
    rules = workdir / "off.toml"
    rules.write_text(DISABLED, encoding="utf-8")
    monkeypatch.setenv("DOZOR_RULES", str(rules))
    assert main(["run"]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert err.count("\n") == 0 and "all 1 rules are disabled" in err and "dozor rules import" in err
    assert "posts read" not in captured.out


def test_live_mode_with_no_enabled_rule_exits_2_before_connecting(workdir, capsys, monkeypatch):
    rules = workdir / "off.toml"
    rules.write_text(DISABLED, encoding="utf-8")
    monkeypatch.setenv("DOZOR_RULES", str(rules))
    monkeypatch.setenv("TG_API_ID", "1")
    monkeypatch.setenv("TG_API_HASH", "0" * 32)
    assert main(["run"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "not starting live mode" in err and "dozor rules import" in err
