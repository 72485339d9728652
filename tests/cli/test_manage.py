"""`dozor rules import|export`, `dozor backtest`, `dozor subscribers …` against a real database."""
import pytest

from bot.__main__ import main
from bot.cli.manage import carry_comments

RULES = """# Dozor rules: header comment

# Mobilization: calls and summons
[[rule]]
id = "mobilization"
query = "мобилизация OR повестка"
tags = ["army"]

[[rule]]
id = "refusals"
query = "отказ*"
"""


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DOZOR_DB", str(tmp_path / "dozor.db"))
    (tmp_path / "rules.toml").write_text(RULES, encoding="utf-8")
    return tmp_path


def test_rules_import_then_export_round_trips_with_comments(cli_env, capsys):
    assert main(["rules", "import", "rules.toml"]) == 0
    assert "2 rules read" in capsys.readouterr().out
    assert main(["rules", "export", "rules.toml"]) == 0
    text = (cli_env / "rules.toml").read_text(encoding="utf-8")
    assert text.startswith("# Dozor rules: header comment")
    assert "# Mobilization: calls and summons\n[[rule]]\nid = 'mobilization'" in text
    assert "id = 'refusals'" in text


def test_rules_import_with_a_syntax_error_writes_nothing(cli_env, capsys):
    (cli_env / "bad.toml").write_text('[[rule]]\nid = "x"\nquery = "(мобилизация"\n', encoding="utf-8")
    assert main(["rules", "import", "bad.toml"]) == 2
    assert "column" in capsys.readouterr().err
    assert main(["rules", "export"]) == 0
    assert "[[rule]]" not in capsys.readouterr().out


def test_rules_import_of_a_missing_file_is_one_line(cli_env, capsys):
    assert main(["rules", "import", "nope.toml"]) == 2
    assert capsys.readouterr().err.strip() == "dozor: no such file: nope.toml"


def test_subscribers_add_role_list_remove(cli_env, capsys):
    assert main(["subscribers", "add", "42", "--title", "Anna"]) == 0
    assert main(["subscribers", "role", "42", "--role", "operator"]) == 0
    capsys.readouterr()
    assert main(["subscribers", "list"]) == 0
    assert capsys.readouterr().out.split("\t")[:3] == ["42", "user", "operator"]
    assert main(["subscribers", "remove", "42"]) == 0
    assert main(["subscribers", "remove", "42"]) == 2


def test_backtest_cli_prints_the_figures(cli_env, capsys):
    assert main(["rules", "import", "rules.toml"]) == 0
    assert main(["backtest", "mobilization", "--days", "7"]) == 0
    assert "Backtest of rule mobilization: 0 posts in the last 7 days" in capsys.readouterr().out


def test_carry_comments_leaves_new_rules_bare():
    new = '[[rule]]\nid = "fresh"\nquery = "x"\n'
    assert carry_comments(RULES, new) == "# Dozor rules: header comment\n\n" + new


def stored_match(day: str, message_id: int):
    """A matched post stored through the real pipeline (no subscriber yet: nothing queued)."""
    import asyncio

    from bot.pipeline import Pipeline
    from bot.rules import compile_rules
    from bot.rules.rulefile import parse_rules_toml
    from bot.storage import open_store
    from tests.factories import make_post
    from datetime import datetime, timezone

    async def go():
        async with open_store("dozor.db") as store:
            rules = compile_rules(parse_rules_toml(RULES, "rules.toml"))
            post = make_post(message_id=message_id, text="Объявлена мобилизация",
                             date=datetime.fromisoformat(day).replace(tzinfo=timezone.utc))
            await Pipeline(store, rules).on_post(post)

    asyncio.run(go())


def test_a_subscriber_added_later_gets_the_stored_matches_it_asks_for_with_since(cli_env, capsys):
    stored_match("2024-05-01T10:00:00", 1)
    stored_match("2024-05-03T10:00:00", 2)
    assert main(["subscribers", "add", "42", "--since", "2024-05-02"]) == 0
    out = capsys.readouterr().out
    assert "1 alerts for stored matches since 2024-05-02 queued" in out
    assert main(["status"]) == 0
    assert "outbox: 1 pending" in capsys.readouterr().out


def test_subscribers_add_never_says_nothing_about_stored_matches(cli_env, capsys):
    assert main(["subscribers", "add", "42", "--since", "2024-05-02"]) == 0
    assert "no stored matches since 2024-05-02" in capsys.readouterr().out
    assert main(["subscribers", "add", "43"]) == 0
    assert "--since" in capsys.readouterr().out


def test_status_summarises_the_database_and_warns_without_subscribers(cli_env, capsys):
    stored_match("2024-05-01T10:00:00", 1)
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "subscribers active: 0" in out and "WARNING: no active subscribers" in out
    assert "last post: 2024-05-01T10:00:00+00:00" in out and "outbox: 0 pending, 0 parked" in out
