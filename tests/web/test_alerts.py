"""The alerts page: scope per role, filters, highlights and escaping, edits and deletions,
feedback, paging and the live feed (issue 15, page 1)."""
from __future__ import annotations

import re

from bot.storage.access import rule_precision
from bot.storage.web_alerts import AlertFilter, delivered_alerts
from tests.web.console_helpers import (HOSTILE, NOW, OPERATOR, OTHER, SUBSCRIBER, console_client, csrf_of,
                                       on_store)
from tests.factories import add_outbox_row


def cards(html: str) -> list[str]:
    return re.findall(r'<article class="alert card[^"]*" id="alert-(\d+)"', html)


def test_a_subscriber_sees_only_their_own_alerts(console_db):
    tmp, _ = console_db
    with console_client(tmp, SUBSCRIBER) as client:
        page = client.get("/").text
    assert len(cards(page)) == 2  # OTHER's 'ref' alert is not theirs
    assert "отказ" not in page


def test_operators_see_every_delivered_post_once(console_db):
    tmp, _ = console_db
    with console_client(tmp, OPERATOR) as client:
        page = client.get("/").text
    assert len(cards(page)) == 3  # two posts delivered twice, one once


def test_matched_words_are_highlighted_and_post_text_escaped(console_db):
    tmp, _ = console_db
    with console_client(tmp, SUBSCRIBER) as client:
        page = client.get("/").text
    assert "<mark>Мобилизация</mark>" in page
    assert HOSTILE not in page and "&lt;script&gt;" in page
    assert 'href="https://t.me/pskovgubernia/' in page


def test_edits_and_deletions_are_shown(console_db):
    tmp, _ = console_db
    with console_client(tmp, SUBSCRIBER, settings=None) as client:
        client.get("/lang/en")
        page = client.get("/").text
    assert "deleted by the channel" in page and "is-deleted" in page
    assert "(обновлено)" in page and "earlier text" in page


def test_filters_narrow_the_list(console_db):
    tmp, seeded = console_db
    with console_client(tmp, OPERATOR) as client:
        assert len(cards(client.get("/alerts/list?rule=ref").text)) == 1
        assert len(cards(client.get("/alerts/list?tag=mobilization").text)) == 2
        assert len(cards(client.get("/alerts/list?channel=-1001000000002").text)) == 2
        assert len(cards(client.get("/alerts/list?late=1").text)) == 1
        day = seeded["posts"][0].date.date().isoformat()
        assert len(cards(client.get(f"/alerts/list?from={day}&to={day}").text)) == 1
        assert "No alerts yet" in client.get("/alerts/list?rule=nothing").text


def test_paging_walks_every_alert_once(console_db):
    tmp, seeded = console_db
    subs = seeded["subs"]

    async def page_through(store):
        seen, before = [], None
        while True:
            rows = await delivered_alerts(store, AlertFilter(subscriber_id=subs[OTHER]), 1, before)
            if not rows:
                return seen
            seen.append(rows[0]["post_id"])
            before = (rows[0]["sent_at"], rows[0]["alert_id"])

    assert sorted(on_store(tmp / "dozor.db", page_through)) == sorted(seeded["ids"][:3])


def test_feedback_is_recorded_as_the_bots_buttons_record_it(console_db):
    tmp, seeded = console_db
    with console_client(tmp, SUBSCRIBER) as client:
        token = csrf_of(client)
        response = client.post("/alerts/feedback", data={"post_id": seeded["ids"][1], "rule_id": "mob",
                                                          "relevant": "0"}, headers={"X-CSRF-Token": token})
        assert response.status_code == 200 and "chosen" in response.text
        assert client.post("/alerts/feedback", data={"post_id": "x", "rule_id": "mob", "relevant": "1"},
                           headers={"X-CSRF-Token": token}).status_code == 400
    assert on_store(tmp / "dozor.db", rule_precision)["mob"] == (0, 1)


def test_feedback_from_an_admin_without_a_subscription_starts_no_alerts(console_db):
    tmp, seeded = console_db
    from tests.web.console_helpers import ADMIN
    from bot.storage.subscribers import subscriber_by_chat
    with console_client(tmp, ADMIN) as client:
        client.post("/alerts/feedback", data={"post_id": seeded["ids"][0], "rule_id": "mob", "relevant": "1"},
                    headers={"X-CSRF-Token": csrf_of(client)})
    row = on_store(tmp / "dozor.db", lambda s: subscriber_by_chat(s, ADMIN, active_only=False))
    assert row is not None and not row.active
    assert on_store(tmp / "dozor.db", rule_precision)["mob"] == (1, 1)


def test_the_live_feed_sends_alerts_delivered_after_the_page(console_db):
    tmp, seeded = console_db
    since = NOW.isoformat(timespec="seconds")
    on_store(tmp / "dozor.db", lambda s: add_outbox_row(s, seeded["subs"][SUBSCRIBER], seeded["ids"][3], NOW,
                                                         ("mob",), sent=True))
    with console_client(tmp, SUBSCRIBER) as client:
        body = client.get(f"/alerts/stream?since={since}").text
    events = body.split("\n\n")
    alerts = [e for e in events if e.startswith("event: alert")]
    assert len(alerts) == 1  # sent once, though the stream looked three times
    assert "Погода в Пскове" in alerts[0] and all(line.startswith(("event:", "data:")) for line in alerts[0].splitlines())


def test_the_live_feed_keeps_to_the_viewers_alerts(console_db):
    tmp, seeded = console_db
    on_store(tmp / "dozor.db", lambda s: add_outbox_row(s, seeded["subs"][OTHER], seeded["ids"][3], NOW,
                                                         ("mob",), sent=True))
    with console_client(tmp, SUBSCRIBER) as client:
        body = client.get(f"/alerts/stream?since={NOW.isoformat(timespec='seconds')}").text
    assert "event: alert" not in body
