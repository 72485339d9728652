"""The built-in sample (invented posts) lives in data/demo.db; real replays use data/dozor.db."""
from __future__ import annotations

import json

from bot.__main__ import main

REAL = {"channel": "pskovgub", "id": 7, "date": "2024-05-14T09:00:00+00:00",
        "text": "В Пскове военкомат раздаёт повестки у проходной завода"}


def test_the_sample_goes_to_demo_db_and_a_later_real_replay_digest_does_not_show_it(workdir, capsys):
    assert main(["run"]) == 0
    out = capsys.readouterr().out
    assert "built-in sample" in out and str(workdir / "data" / "demo.db") in out
    assert not (workdir / "data" / "dozor.db").exists()
    real = workdir / "real.jsonl"
    real.write_text(json.dumps(REAL, ensure_ascii=False) + "\n", encoding="utf-8")
    assert main(["run", "--replay", str(real)]) == 0
    out = capsys.readouterr().out
    assert "pskovgub" in out and "example_" not in out  # neither an alert nor a digest line of the sample
    assert "1 new" in out and str(workdir / "data" / "dozor.db") in out


def test_an_explicit_dozor_db_holds_the_sample(workdir, capsys, monkeypatch):
    monkeypatch.setenv("DOZOR_DB", str(workdir / "mine.db"))
    assert main(["run"]) == 0
    assert str(workdir / "mine.db") in capsys.readouterr().out
    assert not (workdir / "data" / "demo.db").exists()
