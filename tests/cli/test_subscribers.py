"""`dozor subscribers …` and `dozor status` against a real database."""
from bot.__main__ import main
from tests.cli.cli_helpers import stored_match


def test_subscribers_add_role_list_remove(cli_env, capsys):
    assert main(["subscribers", "add", "42", "--title", "Anna"]) == 0
    assert main(["subscribers", "role", "42", "--role", "operator"]) == 0
    capsys.readouterr()
    assert main(["subscribers", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split("\t") == ["CHAT_ID", "KIND", "ROLE", "TIME ZONE", "STYLE", "TOPIC", "HEALTH",
                                    "TITLE"]
    assert out[1].split("\t")[:3] == ["42", "user", "operator"]
    assert main(["subscribers", "remove", "42"]) == 0
    assert main(["subscribers", "remove", "42"]) == 2


def test_a_subscriber_added_later_gets_the_stored_matches_it_asks_for_with_since(cli_env, capsys):
    stored_match("2024-05-01T10:00:00", 1)
    stored_match("2024-05-03T10:00:00", 2)
    assert main(["subscribers", "add", "42", "--since", "2024-05-02"]) == 0
    out = capsys.readouterr().out
    assert "1 alert for stored matches since 2024-05-02 queued" in out
    assert main(["status"]) == 0
    assert "outbox: 1 pending" in capsys.readouterr().out


def test_subscribers_add_never_says_nothing_about_stored_matches(cli_env, capsys):
    assert main(["subscribers", "add", "42", "--since", "2024-05-02"]) == 0
    assert "no stored matches since 2024-05-02" in capsys.readouterr().out
    assert main(["subscribers", "add", "43"]) == 0
    assert "--since" in capsys.readouterr().out


def test_status_summarises_the_database_and_warns_without_subscribers(cli_env, capsys, monkeypatch):
    monkeypatch.setenv("DOZOR_TZ", "Europe/Moscow")
    stored_match("2024-05-01T10:00:00", 1)
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "subscribers active: 0" in out and "WARNING: no active subscribers" in out
    assert "last post: 01.05.2024 13:00 MSK (stored " in out and "outbox: 0 pending, 0 parked" in out


def test_a_group_can_never_be_made_an_operator_from_the_cli(cli_env, capsys):
    assert main(["subscribers", "add", "-1001234", "--title", "Newsroom"]) == 0
    assert main(["subscribers", "role", "-1001234", "--role", "operator"]) == 2
    assert main(["subscribers", "add", "-1005678", "--role", "operator"]) == 2
    assert "only a person can be an operator" in capsys.readouterr().err
    assert main(["subscribers", "list"]) == 0
    assert "operator" not in capsys.readouterr().out


def test_subscribers_list_without_subscribers_says_how_to_add_one(cli_env, capsys):
    assert main(["subscribers", "list"]) == 0
    assert "no subscribers yet" in capsys.readouterr().out
