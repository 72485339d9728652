from datetime import datetime, timedelta, timezone

from bot.models import Deletion
from bot.pipeline import Pipeline

from bot.storage import access
from bot.storage.channels import list_channels
from bot.storage.outbox import outbox_rows
from bot.storage.posts import earlier_texts, matches_of, post_row, stored_counts
from bot.storage.subscribers import deactivate_subscriber
from tests import factories
from tests.factories import WordRules, default_rules, make_post

NOW = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)


async def add_subscriber(store, chat_id, *subscriptions, muted_until=None, kind="user"):
    sub = await factories.add_subscriber(store, chat_id, kind=kind, created=NOW, subscriptions=subscriptions,
                                         muted_until=muted_until)
    return sub.id


def pipeline_for(store, rules=None):
    return Pipeline(store, rules or default_rules(), clock=lambda: NOW)


async def outbox(store):
    return sorted(await outbox_rows(store), key=lambda r: (r["subscriber_id"], r["post_id"]))


async def test_new_post_is_stored_and_reported_new(store):
    assert await pipeline_for(store).on_post(make_post()) is True
    assert (await stored_counts(store))["posts"] == 1


async def test_second_delivery_of_a_post_stores_and_enqueues_nothing(store):
    await add_subscriber(store, 1, ("all", ""))
    pipeline = pipeline_for(store)
    post = make_post(text="Началась мобилизация")
    assert await pipeline.on_post(post) is True
    assert await pipeline.on_post(post) is False
    assert (await stored_counts(store))["posts"] == 1
    assert len(await outbox(store)) == 1


async def test_matching_post_stores_matches_with_spans(store):
    post = make_post(text="Новая мобилизация")
    await pipeline_for(store).on_post(post)
    [match] = await matches_of(store, (await post_row(store, post.channel_id, post.message_id))["id"])
    assert match.rule_id == "mobilization" and match.spans == ((6, 13),)


async def test_alert_false_stores_and_matches_but_enqueues_nothing(store):
    await add_subscriber(store, 1, ("all", ""))
    await pipeline_for(store).on_post(make_post(text="мобилизация"), alert=False)
    assert (await stored_counts(store))["matches"] == 1
    assert await outbox(store) == []


async def test_subscriptions_by_tag_and_rule_pick_their_matches(store):
    by_tag = await add_subscriber(store, 1, ("tag", "refusals"))
    by_rule = await add_subscriber(store, 2, ("rule", "mobilization"))
    await add_subscriber(store, 3, ("tag", "weather"))
    pipeline = pipeline_for(store)
    await pipeline.on_post(make_post(text="отказники"))
    await pipeline.on_post(make_post(text="мобилизация"))
    rows = await outbox(store)
    assert [(r["subscriber_id"], r["rules"]) for r in rows] == [(by_tag, '["refusals"]'), (by_rule, '["mobilization"]')]


async def test_muted_subscriber_gets_no_row(store):
    await add_subscriber(store, 1, ("all", ""), muted_until=NOW + timedelta(hours=1))
    await pipeline_for(store).on_post(make_post(text="мобилизация"))
    assert await outbox(store) == []


async def test_expired_mute_no_longer_silences(store):
    await add_subscriber(store, 1, ("all", ""), muted_until=NOW - timedelta(hours=1))
    await pipeline_for(store).on_post(make_post(text="мобилизация"))
    assert len(await outbox(store)) == 1


async def test_muted_rule_is_left_out_for_that_subscriber(store):
    sid = await add_subscriber(store, 1, ("all", ""))

    await store.write(lambda conn: access.mute_rule(conn, sid, "mobilization", NOW + timedelta(days=1), "test", NOW))
    pipeline = pipeline_for(store)
    await pipeline.on_post(make_post(text="мобилизация"))
    await pipeline.on_post(make_post(text="мобилизация и отказ"))
    assert [r["rules"] for r in await outbox(store)] == ['["refusals"]']


async def test_inactive_subscriber_gets_no_row(store):
    sid = await add_subscriber(store, 1, ("all", ""))
    await store.write(lambda conn: deactivate_subscriber(conn, sid))
    await pipeline_for(store).on_post(make_post(text="мобилизация"))
    assert await outbox(store) == []


async def test_only_low_severity_matches_make_a_silent_row(store):
    await add_subscriber(store, 1, ("all", ""))
    pipeline = pipeline_for(store)
    await pipeline.on_post(make_post(text="повестка"))
    await pipeline.on_post(make_post(text="повестка и мобилизация"))
    assert [r["silent"] for r in await outbox(store)] == [1, 0]


async def test_edit_keeps_earlier_text_and_updates_the_post(store):
    pipeline = pipeline_for(store)
    post = make_post(text="первый текст")
    await pipeline.on_post(post)
    edited = make_post(channel_id=post.channel_id, message_id=post.message_id, text="второй текст",
                       edit_date=NOW)
    await pipeline.on_edit(edited)
    row = await post_row(store, post.channel_id, post.message_id)
    assert row["text"] == "второй текст"
    assert await earlier_texts(store, row["id"]) == ["первый текст"]
    assert row["edit_date"] == NOW.isoformat()


async def test_edit_that_now_matches_enqueues_an_edited_row(store):
    await add_subscriber(store, 1, ("all", ""))
    pipeline = pipeline_for(store)
    post = make_post(text="тихая новость")
    await pipeline.on_post(post)
    await pipeline.on_edit(make_post(channel_id=post.channel_id, message_id=post.message_id, text="мобилизация"))
    rows = await outbox(store)
    assert len(rows) == 1 and rows[0]["edited"] == 1


async def test_edit_of_an_alerted_post_adds_no_second_row(store):
    await add_subscriber(store, 1, ("all", ""))
    pipeline = pipeline_for(store)
    post = make_post(text="мобилизация")
    await pipeline.on_post(post)
    await pipeline.on_edit(make_post(channel_id=post.channel_id, message_id=post.message_id, text="мобилизация!"))
    rows = await outbox(store)
    assert len(rows) == 1 and rows[0]["edited"] == 0


async def test_edit_that_removes_the_words_removes_the_matches(store):
    pipeline = pipeline_for(store)
    post = make_post(text="мобилизация")
    await pipeline.on_post(post)
    await pipeline.on_edit(make_post(channel_id=post.channel_id, message_id=post.message_id, text="погода"))
    assert (await stored_counts(store))["matches"] == 0


async def test_edit_of_an_unknown_post_stores_it(store):
    await pipeline_for(store).on_edit(make_post(text="мобилизация"))
    assert (await stored_counts(store))["posts"] == 1
    assert (await stored_counts(store))["post_edits"] == 0


async def test_deletion_marks_the_post_and_keeps_its_text(store):
    pipeline = pipeline_for(store)
    post = make_post(text="улика")
    await pipeline.on_post(post)
    await pipeline.on_delete(Deletion(post.channel_id, (post.message_id, 999999), NOW))
    row = await post_row(store, post.channel_id, post.message_id)
    assert row["text"] == "улика" and row["deleted_at"] == NOW.isoformat()


async def test_set_rules_applies_to_posts_handled_afterwards(store):
    pipeline = pipeline_for(store, WordRules())
    await pipeline.on_post(make_post(text="мобилизация"))
    pipeline.set_rules(default_rules())
    await pipeline.on_post(make_post(text="мобилизация"))
    assert (await stored_counts(store))["matches"] == 1


async def test_a_failing_rule_set_stores_the_post_without_matches(store):
    class Broken:
        def match(self, post):
            raise RuntimeError("bad rule")

    assert await pipeline_for(store, Broken()).on_post(make_post(text="мобилизация")) is True
    assert (await stored_counts(store))["matches"] == 0


async def test_notify_is_called_when_rows_are_enqueued(store):
    await add_subscriber(store, 1, ("all", ""))
    calls = []
    pipeline = Pipeline(store, default_rules(), clock=lambda: NOW, notify=lambda: calls.append(1))
    await pipeline.on_post(make_post(text="погода"))
    await pipeline.on_post(make_post(text="мобилизация"))
    assert calls == [1]


async def test_batch_stores_each_post_once_and_counts_new_ones(store):
    pipeline = pipeline_for(store)
    posts = [make_post(), make_post()]
    assert await pipeline.on_posts(posts + posts[:1]) == 2
    assert await pipeline.on_posts(posts) == 0


async def test_post_creates_its_channel_row_once(store):
    pipeline = Pipeline(store, WordRules(), clock=lambda: NOW, new_channel_status="replay")
    await pipeline.on_post(make_post())
    await pipeline.on_post(make_post())
    [row] = await list_channels(store, ("replay",))
    assert (row.username, row.title, row.status) == ("pskovgubernia", "Псковская губерния", "replay")


async def test_recipient_kinds_limit_who_gets_rows(store):
    await add_subscriber(store, 1, ("all", ""))

    local_id = await add_subscriber(store, 0, ("all", ""), kind="local")
    pipeline = Pipeline(store, default_rules(), clock=lambda: NOW, recipient_kinds=("local",))
    await pipeline.on_post(make_post(text="мобилизация"))
    assert [r["subscriber_id"] for r in await outbox(store)] == [local_id]


class SentAlerts:
    """A sink recording the rules each delivered alert shows."""

    def __init__(self):
        self.rules = []

    async def deliver(self, alert):
        self.rules.append([m.rule_id for m in alert.matches])
        return len(self.rules)


async def test_a_queued_alert_whose_post_is_edited_to_not_match_is_cancelled_not_sent(store):
    from bot.delivery.worker import OutboxWorker

    await add_subscriber(store, 1, ("all", ""))
    pipeline = pipeline_for(store)
    post = make_post(text="Началась мобилизация")
    await pipeline.on_post(post)
    await pipeline.on_edit(make_post(message_id=post.message_id, text="Погода хорошая", edit_date=NOW))
    sink = SentAlerts()
    assert await OutboxWorker(store, lambda s: sink, lambda: NOW).run_until_idle() == 0
    assert sink.rules == []
    [row] = await outbox(store)
    assert row["status"] == "cancelled" and "no longer matches" in row["reason"]


async def test_a_queued_alert_follows_the_rules_its_edited_post_matches_now(store):
    from bot.delivery.worker import OutboxWorker

    await add_subscriber(store, 1, ("all", ""))
    await add_subscriber(store, 2, ("rule", "mobilization"))
    pipeline = pipeline_for(store)
    post = make_post(text="Мобилизация и отказ")
    await pipeline.on_post(post)
    await pipeline.on_edit(make_post(message_id=post.message_id, text="Только отказ", edit_date=NOW))
    sink = SentAlerts()
    assert await OutboxWorker(store, lambda s: sink, lambda: NOW).run_until_idle() == 1
    assert sink.rules == [["refusals"]]
    rows = await outbox(store)
    assert [(r["status"], r["rules"]) for r in rows] == [("sent", '["refusals"]'), ("cancelled", '["mobilization"]')]
