"""`dozor match`, `dozor rules check|test|explain|import|export`: handlers called directly, and through main."""
import argparse
import json
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.cli.rules import carry_comments, check_rules, explain_text, match_posts, register, try_text
from bot.errors import SourceError
from bot.rules import RuleSyntaxError
from tests.cli.cli_helpers import RULES

DEFAULT_RULES = Path(__file__).resolve().parents[2] / "config" / "rules.toml"


class FakeSettings:
    def __init__(self, rules):
        self.rules = Path(rules)


def write_rules(tmp_path, query="повестка", rule_id="mob"):
    path = tmp_path / "rules.toml"
    path.write_text(f'[[rule]]\nid = "{rule_id}"\nquery = \'{query}\'\ntags = ["mobilization"]\n',
                    encoding="utf-8")
    return path


def test_register_adds_match_and_rules_and_returns_rules_subparsers():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    rules_sub = register(sub)
    rules_sub.add_parser("suggest")  # another module can add more
    args = parser.parse_args(["rules", "explain", "mob", "текст", "--rules", "x.toml"])
    assert args.handler is explain_text and args.rule == "mob" and args.rules == "x.toml"
    assert parser.parse_args(["match", "-"]).handler is match_posts
    assert parser.parse_args(["rules"]).handler is None  # bot/__main__.py prints the group's help, exit 2


def test_match_writes_one_line_per_post_in_input_order(tmp_path, capsys):
    settings = FakeSettings(write_rules(tmp_path))
    posts = tmp_path / "posts.jsonl"
    posts.write_text('{"id": 7, "channel": "pskov", "text": "Пришла повестка"}\n{"text": "погода"}\n',
                     encoding="utf-8")
    assert match_posts(argparse.Namespace(file=str(posts), rules=str(settings.rules)), settings) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert lines == [{"id": 7, "channel": "pskov",
                      "matches": [{"rule": "mob", "tags": ["mobilization"], "spans": [[7, 15]]}]},
                     {"id": 2, "channel": None, "matches": []}]


def test_rules_option_overrides_the_settings_file(tmp_path, capsys):
    other = write_rules(tmp_path, rule_id="other")
    settings = FakeSettings(tmp_path / "missing.toml")
    assert try_text(argparse.Namespace(text="повестка", rules=str(other)), settings) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"testing the rule file {other}, not the live rules") and out[1].startswith("other\t")


def test_check_prints_ids_and_summary(tmp_path, capsys):
    path = write_rules(tmp_path)
    assert check_rules(argparse.Namespace(file=str(path), rules=None), FakeSettings("x")) == 0
    out = capsys.readouterr().out
    assert out.startswith("mob\t") and "ok: 1 rule (1 enabled)" in out


def test_bad_rule_file_is_one_message_and_exit_2(tmp_path, capsys, monkeypatch):
    path = write_rules(tmp_path, query="(повестка")
    with pytest.raises(RuleSyntaxError, match="^rule 'mob'"):
        check_rules(argparse.Namespace(file=str(path), rules=None), FakeSettings("x"))
    monkeypatch.chdir(tmp_path)
    assert main(["rules", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dozor: rule 'mob'") and "Traceback" not in err


def test_match_bad_input_line_is_an_input_error_not_a_rule_error(tmp_path, capsys, monkeypatch):
    posts = tmp_path / "posts.jsonl"
    posts.write_text("not json\n", encoding="utf-8")
    settings = FakeSettings(write_rules(tmp_path))
    with pytest.raises(SourceError, match="line 1: not JSON") as caught:
        match_posts(argparse.Namespace(file=str(posts), rules=str(settings.rules)), settings)
    assert not isinstance(caught.value, RuleSyntaxError)
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(["match", str(posts), "--rules", str(settings.rules)]) == 2
    assert capsys.readouterr().err.strip().endswith(
        "dozor: posts.jsonl: 1 of 1 line skipped (first: line 1: not JSON); the other posts were matched")


def test_explain_prints_the_verdict(tmp_path, capsys):
    settings = FakeSettings(write_rules(tmp_path))
    assert explain_text(argparse.Namespace(rule="mob", text="повестка", rules=str(settings.rules)), settings) == 0
    assert "MATCH" in capsys.readouterr().out


def test_query_error_points_at_the_line_and_column_in_the_file(tmp_path, capsys):
    path = tmp_path / "rules.toml"
    path.write_text("[[rule]]\nid = \"a\"\nquery = '''\n  повестка\n  OR (военкомат AND\n'''\n",
                    encoding="utf-8")
    with pytest.raises(RuleSyntaxError) as caught:
        check_rules(argparse.Namespace(file=str(path), rules=None), FakeSettings("x"))
    err = str(caught.value).splitlines()
    assert "line 5, column 20" in err[0] and err[2].index("^") == err[1].index("AND") + 3


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


def test_carry_comments_leaves_new_rules_bare():
    new = '[[rule]]\nid = "fresh"\nquery = "x"\n'
    assert carry_comments(RULES, new) == "# Dozor rules: header comment\n\n" + new


def test_check_of_a_rule_that_is_not_a_table_is_one_message_and_exit_2(tmp_path, capsys):
    path = tmp_path / "rules.toml"
    path.write_text('rule = ["x"]\n', encoding="utf-8")
    assert main(["rules", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dozor: ") and "not a table" in err and "Traceback" not in err


NEW_RULE = '[[rule]]\nid = "region_moscow"\nquery = "Москва"\n'


def test_after_rules_import_test_explain_and_match_use_the_live_rules(cli_env, capsys):
    (cli_env / "moscow.toml").write_text(NEW_RULE, encoding="utf-8")
    assert main(["rules", "import", "moscow.toml"]) == 0  # seeds nothing: the table had no rules yet
    capsys.readouterr()
    assert main(["rules", "explain", "region_moscow", "Повестки в Москве"]) == 0
    assert "MATCH" in capsys.readouterr().out
    assert main(["rules", "test", "Повестки в Москве"]) == 0
    assert capsys.readouterr().out.startswith("region_moscow\t")
    (cli_env / "posts.jsonl").write_text('{"id": 1, "text": "Повестки в Москве"}\n', encoding="utf-8")
    assert main(["match", "posts.jsonl"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["matches"][0]["rule"] == "region_moscow" and captured.err == ""


def test_rules_file_option_tests_that_file_and_says_so(cli_env, capsys):
    (cli_env / "moscow.toml").write_text(NEW_RULE, encoding="utf-8")
    assert main(["rules", "import", "moscow.toml"]) == 0
    (cli_env / "posts.jsonl").write_text('{"id": 1, "text": "Объявлена мобилизация"}\n', encoding="utf-8")
    capsys.readouterr()
    assert main(["match", "posts.jsonl", "--rules", "rules.toml"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["matches"][0]["rule"] == "mobilization"
    assert "testing the rule file rules.toml, not the live rules" in captured.err
    assert main(["rules", "explain", "region_moscow", "Москва", "--rules", "rules.toml"]) == 2
    assert "region_moscow" in capsys.readouterr().err
def test_check_refuses_a_rule_true_through_not_alone(tmp_path):
    path = write_rules(tmp_path, query="NOT повестка")
    with pytest.raises(RuleSyntaxError, match="none of its words"):
        check_rules(argparse.Namespace(file=str(path), rules=None), FakeSettings("x"))


def test_check_warns_about_a_misspelt_operator_on_stderr_and_still_passes(tmp_path, capsys):
    path = write_rules(tmp_path, query="повестка ANDD военкомат")
    assert check_rules(argparse.Namespace(file=str(path), rules=None), FakeSettings("x")) == 0
    err = capsys.readouterr().err
    assert "warning: rule 'mob'" in err and "line 3" in err and "did you mean the operator AND?" in err


def test_export_writes_multi_line_queries_as_blocks_and_keeps_every_rules_comment(cli_env, capsys):
    (cli_env / "rules.toml").write_text(
        "# header\n\n[[rule]]\nid = \"mob\"\n# call-ups, with\n#  an indented line\n"
        "query = '''\n  повестка\n  OR военкомат\n'''\n", encoding="utf-8")
    assert main(["rules", "import", "rules.toml"]) == 0
    assert main(["rules", "export"]) == 0
    out = capsys.readouterr().out
    assert "# call-ups, with\n#  an indented line\n[[rule]]\nid = 'mob'" in out
    assert "query = '''\n  повестка\n  OR военкомат\n'''" in out and "\\n" not in out


def test_import_export_import_of_the_default_rules_changes_nothing(cli_env, capsys):
    from bot.storage.audit import audit_entries
    import asyncio
    from bot.storage import open_store
    from bot.storage.rules import load_rule_defs
    (cli_env / "rules.toml").write_text(DEFAULT_RULES.read_text(encoding="utf-8"), encoding="utf-8")
    assert main(["rules", "import", "rules.toml"]) == 0
    assert main(["rules", "export", "exported.toml"]) == 0
    capsys.readouterr()
    assert main(["rules", "import", "exported.toml"]) == 0
    assert "0 added or changed" in capsys.readouterr().out

    async def state():
        async with open_store("dozor.db") as store:
            return await load_rule_defs(store), len(await audit_entries(store, action="rule.edit"))

    defs, edits = asyncio.run(state())
    assert edits == 0 and len(defs) == DEFAULT_RULES.read_text(encoding="utf-8").count("[[rule]]")
    assert all(d.comment for d in defs)
    assert main(["rules", "export", "again.toml"]) == 0
    assert (cli_env / "again.toml").read_text(encoding="utf-8") == (cli_env / "exported.toml").read_text(encoding="utf-8")


def test_import_refuses_a_rule_true_through_not_alone_and_writes_nothing(cli_env, capsys):
    (cli_env / "wide.toml").write_text('[[rule]]\nid = "wide"\nquery = "повестка OR NOT военкомат"\n', encoding="utf-8")
    assert main(["rules", "import", "wide.toml"]) == 2
    assert "none of its words" in capsys.readouterr().err
    assert main(["rules", "export"]) == 0
    assert "wide" not in capsys.readouterr().out
