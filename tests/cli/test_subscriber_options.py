"""`dozor subscribers add … --topic ID` and `dozor subscribers set CHAT --style … --topic …` against a real database."""
import asyncio

from bot.__main__ import main
from bot.models import AlertStyle
from bot.storage import open_store
from bot.storage.audit import audit_entries
from bot.storage.subscribers import subscriber_by_chat

GROUP = "-1001234"


def stored_subscriber(chat_id: int):
    async def go():
        async with open_store("dozor.db") as store:
            return await subscriber_by_chat(store, chat_id, active_only=True)

    return asyncio.run(go())


def test_add_with_a_topic_binds_the_forum_topic(cli_env, capsys):
    assert main(["subscribers", "add", GROUP, "--topic", "42"]) == 0
    assert "subscribed (forum topic 42)" in capsys.readouterr().out
    assert stored_subscriber(int(GROUP)).topic_id == 42


def test_set_style_compact_then_full(cli_env, capsys):
    assert main(["subscribers", "add", "42"]) == 0
    assert main(["subscribers", "set", "42", "--style", "compact"]) == 0
    assert "42: style compact, the chat itself" in capsys.readouterr().out
    assert stored_subscriber(42).style == AlertStyle.COMPACT
    assert main(["subscribers", "list"]) == 0
    assert "\tcompact\t" in capsys.readouterr().out
    assert main(["subscribers", "set", "42", "--style", "full"]) == 0
    assert stored_subscriber(42).style == AlertStyle.FULL


def test_set_moves_a_group_into_a_topic_and_back(cli_env, capsys):
    assert main(["subscribers", "add", GROUP]) == 0
    assert main(["subscribers", "set", GROUP, "--topic", "7"]) == 0
    assert stored_subscriber(int(GROUP)).topic_id == 7
    assert main(["subscribers", "set", GROUP, "--no-topic"]) == 0
    assert stored_subscriber(int(GROUP)).topic_id is None
    assert "the chat itself" in capsys.readouterr().out


def test_add_with_a_style(cli_env):
    assert main(["subscribers", "add", "43", "--style", "compact"]) == 0
    assert stored_subscriber(43).style == AlertStyle.COMPACT


def test_changes_are_audited(cli_env):
    assert main(["subscribers", "add", "42"]) == 0
    assert main(["subscribers", "set", "42", "--style", "compact"]) == 0

    async def audit():
        async with open_store("dozor.db") as store:
            return await audit_entries(store, action="subscriber.options")

    [row] = asyncio.run(audit())
    assert row["actor"] == "cli" and "compact" in row["after"]


def test_bad_options_are_refused_and_change_nothing(cli_env, capsys):
    assert main(["subscribers", "add", "42"]) == 0
    assert main(["subscribers", "set", "42"]) == 2
    assert main(["subscribers", "set", "42", "--topic", "5"]) == 2  # a person has no topics
    assert main(["subscribers", "set", GROUP, "--style", "compact"]) == 2  # not a subscriber
    assert main(["subscribers", "add", GROUP, "--topic", "0"]) == 2
    err = capsys.readouterr().err
    assert "needs --style" in err and "only a forum group" in err and "not an active subscriber" in err
    assert stored_subscriber(42).topic_id is None and stored_subscriber(int(GROUP)) is None
