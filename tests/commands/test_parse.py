"""The parser turns message text into typed arguments, or says what is wrong and how to write it."""
from datetime import date

import pytest

from bot.commands import parse as p


def error_of(text: str) -> str:
    with pytest.raises(p.UsageError) as caught:
        p.parse_command(text)
    return str(caught.value)


def test_command_with_bot_name_is_parsed():
    assert p.parse_command("/Mute@DozorBot 2h") == p.Mute(120)


def test_unknown_command_says_so_and_points_to_help():
    message = error_of("/frobnicate now")
    assert "Unknown command /frobnicate" in message and "/help" in message


def test_text_without_slash_is_not_a_command():
    assert "/help" in error_of("hello")


@pytest.mark.parametrize("text,minutes", [("/mute 30m", 30), ("/mute 2h", 120), ("/mute 1d", 1440),
                                          ("/mute off", None)])
def test_mute_durations(text, minutes):
    assert p.parse_command(text) == p.Mute(minutes)


@pytest.mark.parametrize("text", ["/mute", "/mute soon", "/mute 2 weeks", "/mute 90d", "/mute 0m"])
def test_mute_with_a_bad_duration_shows_how_to_write_it(text):
    assert "/mute 30m | 2h | 1d | off" in error_of(text)


def test_tz_accepts_a_real_zone():
    assert p.parse_command("/tz Europe/Moscow") == p.Tz("Europe/Moscow")


def test_tz_that_does_not_exist_is_named():
    message = error_of("/tz Mars/Olympus")
    assert "There is no time zone 'Mars/Olympus'" in message and "Europe/Moscow" in message


def test_tz_missing_argument():
    assert "missing" in error_of("/tz")


def test_query_of_4000_characters_is_refused_with_its_length():
    message = error_of("/search " + "а" * 4000)
    assert "too long (4000 characters; at most 1000)" in message


def test_search_without_query_is_refused():
    assert "query is missing" in error_of("/search")


def test_rule_add_takes_an_id_and_the_rest_as_query():
    assert p.parse_command("/rule add vdv отказ* AND вдв") == p.RuleAdd("vdv", "отказ* AND вдв")


@pytest.mark.parametrize("text", ['/rule add "my rule" отказ', "/rule del my rule", "/rule show a b"])
def test_rule_id_with_spaces_is_refused(text):
    assert "one word" in error_of(text)


def test_rule_id_with_odd_characters_is_refused():
    assert "latin letters" in error_of("/rule show правило!")


def test_rule_add_without_query_is_refused():
    assert "query is missing" in error_of("/rule add vdv")


def test_rule_without_action_is_refused():
    assert "/rule show|add" in error_of("/rule")


def test_rule_on_and_off():
    assert p.parse_command("/rule off vdv") == p.RuleToggle("vdv", False)
    assert p.parse_command("/rule on vdv") == p.RuleToggle("vdv", True)


def test_rule_test_with_id_and_text():
    assert p.parse_command("/rule test vdv Солдат отказался") == p.RuleTest("vdv", "Солдат отказался")


def test_rule_test_with_query_on_the_first_line():
    assert p.parse_command("/rule test отказ AND вдв\nСолдат ВДВ") == p.RuleTest("отказ AND вдв", "Солдат ВДВ")


def test_rule_test_without_text_is_refused():
    assert "TEXT" in error_of("/rule test vdv")


def test_backtest_takes_trailing_days():
    assert p.parse_command("/backtest мобилизация повестка 7") == p.Backtest("мобилизация повестка", 7)
    assert p.parse_command("/backtest refusals") == p.Backtest("refusals", 30)


def test_backtest_with_too_many_days_is_refused():
    assert "DAYS must be a whole number from 1 to 3650" in error_of("/backtest refusals 99999")


def test_digest_dates():
    assert p.parse_command("/digest 2024-05-01") == p.Digest(day=date(2024, 5, 1))
    assert p.parse_command("/digest yesterday") == p.Digest(days_back=1)
    assert "not a date" in error_of("/digest 2024-13-45")


def test_export_days_bounds():
    assert p.parse_command("/export") == p.Export(7)
    assert "from 1 to 365" in error_of("/export 1000")


def test_channel_accepts_links_and_names():
    assert p.parse_command("/channel add https://t.me/pskovgubernia") == p.ChannelAction("add", "pskovgubernia")
    assert p.parse_command("/channel pause @pskov_news") == p.ChannelAction("pause", "pskov_news")
    assert "add, del, pause or resume" in error_of("/channel eat @x")


def test_role_needs_a_numeric_chat_and_a_known_role():
    assert p.parse_command("/role 42 operator") == p.SetRole(42, "operator")
    assert "subscriber or operator" in error_of("/role 42 king")
    assert "CHAT_ID is a number" in error_of("/approve bob")


def test_commands_without_arguments_refuse_extra_words():
    assert "takes no arguments" in error_of("/rules please")


def test_digest_takes_a_day_as_a_person_types_it():
    assert p.parse_command("/digest 01.05.2024") == p.Digest(day=date(2024, 5, 1))
    assert p.parse_command("/digest today") == p.Digest()
    assert "DD.MM.YYYY" in error_of("/digest 1 May")
