"""The README's "Dates, search and export without a bot" commands work as written, on the built-in sample."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

from bot.__main__ import main
from tests.factories import SAMPLE

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "### Dates, search and export without a bot"


def readme_commands() -> list[list[str]]:
    """The argument lists of the section's `.venv/bin/dozor …` lines."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index(SECTION):]
    block = re.search(r"```sh\n(.*?)```", section, re.S)[1]
    return [shlex.split(line)[1:] for line in block.splitlines() if line.startswith(".venv/bin/dozor ")]


def test_the_readme_date_search_and_export_examples_run_on_the_sample(workdir, capsys, monkeypatch):
    monkeypatch.setenv("DOZOR_TZ", "Europe/Moscow")
    commands = readme_commands()
    assert commands[0] == ["run", "--replay", "bot/sample/posts.jsonl"]
    assert main(["run", "--replay", str(SAMPLE)]) == 0  # the same file, from this test's folder
    capsys.readouterr()
    outputs = {}
    for argv in commands[1:]:
        assert main(argv) == 0, argv
        outputs[" ".join(argv[:2])] = capsys.readouterr()
    assert "MSK  @example_" in outputs["search повестка"].out
    assert "posts from 13.05.2024 to 16.05.2024 (MSK)" in outputs["backtest mobilization"].out
    assert re.search(r"Backtest of refuse: [1-9]\d* posts", outputs["backtest --query"].out)
    assert (workdir / "matches.csv").read_bytes().startswith(b"\xef\xbb\xbfdate,channel,")
    assert "No stored posts" not in "".join(o.out + o.err for o in outputs.values())
