"""One subscriber lookup by chat, one by id, one meaning of a subscription."""
from datetime import datetime, timezone

from bot.models import Match
from bot.storage import access
from bot.storage.subscribers import (
    RuleFilter, active_subscribers, recipients, rule_filter_of, subscriber_by_chat, subscriber_by_id,
)

NOW = datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc)


async def _subscriber(store, chat_id: int) -> int:
    return await store.write(lambda c: access.add_subscriber(c, chat_id, "test", NOW))


async def test_lookups_by_chat_and_by_id_find_the_same_row(store):
    sid = await _subscriber(store, 42)
    by_chat = await subscriber_by_chat(store, 42, active_only=True)
    assert by_chat == await subscriber_by_id(store, sid)
    assert by_chat.chat_id == 42 and by_chat.id == sid


async def test_an_inactive_subscriber_is_found_only_when_asked(store):
    sid = await _subscriber(store, 42)
    await store.write(lambda c: access.remove_subscriber(c, 42, "test", NOW))
    assert await subscriber_by_chat(store, 42, active_only=True) is None
    assert (await subscriber_by_chat(store, 42, active_only=False)).active is False
    assert (await subscriber_by_id(store, sid)).active is False
    assert await active_subscribers(store) == []


def test_rule_filter_means_all_tag_or_rule_and_nothing_without_rows():
    assert RuleFilter.from_subscriptions([("all", "")]).wants("any", ())
    assert RuleFilter.from_subscriptions([("tag", "mobilization")]).wants("mob", ("mobilization",))
    assert not RuleFilter.from_subscriptions([("tag", "mobilization")]).wants("ref", ("refusals",))
    assert RuleFilter.from_subscriptions([("rule", "ref")]).wants("ref", ())
    assert not RuleFilter.from_subscriptions([]).wants("mob", ("mobilization",))


async def test_alerts_and_digests_read_subscriptions_the_same_way(store):
    sid = await _subscriber(store, 42)
    await store.write(lambda c: access.change_subscriptions(c, sid, [("tag", "refusals")], None, "test", NOW))
    matches = [Match("mob", ("mobilization",)), Match("ref", ("refusals",))]
    found = await store.write(lambda c: recipients(c, matches, NOW))
    rule_filter = await rule_filter_of(store, sid)
    assert [r.rule_ids for r in found] == [tuple(m.rule_id for m in matches if rule_filter.wants(m.rule_id, m.tags))]
    assert found[0].rule_ids == ("ref",)
