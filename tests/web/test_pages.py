"""Search, channels, digest and people pages and their actions (issue 15, pages 2, 4, 5, 6)."""
from __future__ import annotations

import csv
import io
import json

from bot.storage.audit import audit_entries
from bot.storage.channels import get_channel, list_channels, list_requests
from bot.storage.db import sha256_hex
from bot.storage.subscribers import subscriber_by_chat
from tests.web.console_helpers import ADMIN, HOSTILE, OPERATOR, SUBSCRIBER, console_client, csrf_of, on_store


def test_search_highlights_and_pages(console_db):
    tmp, _ = console_db
    with console_client(tmp, SUBSCRIBER) as client:
        page = client.get("/search/results?q=мобилизация").text
        assert page.count('class="card result"') == 2 and "<mark>" in page
        assert "&lt;script&gt;" in page and HOSTILE not in page
        assert 'id="next-page"' not in page
        chart = client.get("/search/chart?q=мобилизация").text
        assert "<svg" in chart and "<rect" in chart


def test_search_shows_a_syntax_error_at_its_place(console_db):
    tmp, _ = console_db
    with console_client(tmp, SUBSCRIBER) as client:
        page = client.get("/search/results?q=мобилизация AND (").text
    assert 'id="syntax-error"' in page and 'data-line="1"' in page


def test_search_exports_csv_and_jsonl(console_db):
    tmp, _ = console_db
    with console_client(tmp, SUBSCRIBER) as client:
        response = client.get("/search/export.csv?q=мобилизация")
        assert response.headers["content-disposition"].startswith("attachment")
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert rows[0] == ["id", "date", "channel", "link", "excerpt"] and len(rows) == 3
        lines = client.get("/search/export.jsonl?q=мобилизация").text.splitlines()
        assert len(lines) == 2 and "мобилизация" in json.loads(lines[0])["excerpt"].lower()
        assert client.get("/search/export.xml?q=x").status_code == 404


def test_channels_list_and_operator_actions_are_audited(console_db):
    tmp, _ = console_db
    with console_client(tmp, OPERATOR) as client:
        page = client.get("/channels").text
        assert "@pskovgubernia" in page and "@example_gorod" in page
        token = csrf_of(client)
        assert client.post("/channels/add", data={"username": "@new_channel", "csrf": token}).status_code == 200
        assert client.post("/channels/add", data={"username": "no spaces", "csrf": token}).status_code == 400
        client.post("/channels/pause", data={"channel": "-1001000000001", "csrf": token})
        client.post("/channels/remove", data={"channel": "-1001000000002", "csrf": token})
    assert on_store(tmp / "dozor.db", lambda s: get_channel(s, -1001000000001)).status == "paused"
    assert on_store(tmp / "dozor.db", lambda s: get_channel(s, -1001000000002)).status == "removed"
    assert "new_channel" in on_store(tmp / "dozor.db", list_requests)
    actors = {e["actor"] for e in on_store(tmp / "dozor.db", lambda s: audit_entries(s, object_kind="channel"))}
    assert actors == {f"web:{OPERATOR}"}


def test_a_subscriber_cannot_change_channels(console_db):
    tmp, _ = console_db
    with console_client(tmp, SUBSCRIBER) as client:
        token = csrf_of(client)
        assert client.post("/channels/pause", data={"channel": "-1001000000001", "csrf": token}).status_code == 403
    assert {c.status for c in on_store(tmp / "dozor.db", list_channels)} != {"paused"}


def test_the_digest_of_any_day_with_its_chart(console_db):
    tmp, seeded = console_db
    day = seeded["posts"][1].date.date().isoformat()
    with console_client(tmp, SUBSCRIBER) as client:
        page = client.get(f"/digest?day={day}").text
        assert 'id="digest-text"' in page and "/digest/chart.png" in page
        png = client.get(f"/digest/chart.png?day={day}")
        assert png.headers["content-type"] == "image/png" and png.content[:4] == b"\x89PNG"


def test_admins_manage_people_and_see_the_audit_log(console_db):
    tmp, _ = console_db
    with console_client(tmp, ADMIN) as client:
        token = csrf_of(client)
        page = client.post("/people/role", data={"chat_id": SUBSCRIBER, "role": "operator", "csrf": token}).text
        assert "role.set" in page
        invite = client.post("/people/invite", data={"role": "subscriber", "csrf": token}).text
        code = invite.split('id="new-invite"')[1].split("<code>")[1].split("</code>")[0]
        assert code not in client.get("/people").text  # shown once
        assert client.post("/people/role", data={"chat_id": SUBSCRIBER, "role": "admin", "csrf": token}).status_code == 400
    assert on_store(tmp / "dozor.db", lambda s: subscriber_by_chat(s, SUBSCRIBER, active_only=True)).role == "operator"
    labels = [e["object_id"] for e in on_store(tmp / "dozor.db", lambda s: audit_entries(s, object_kind="invite"))]
    assert labels == [sha256_hex(code)[:12]]


def test_an_operator_cannot_manage_people(console_db):
    tmp, _ = console_db
    with console_client(tmp, OPERATOR) as client:
        token = csrf_of(client)
        assert client.post("/people/role", data={"chat_id": SUBSCRIBER, "role": "operator",
                                                 "csrf": token}).status_code == 403
        assert client.post("/people/invite", data={"role": "operator", "csrf": token}).status_code == 403
    assert on_store(tmp / "dozor.db", lambda s: subscriber_by_chat(s, SUBSCRIBER, active_only=True)).role == "subscriber"


def test_channels_seen_only_in_a_replay_are_listed_without_pause_or_resume(console_db):
    tmp, _ = console_db
    from bot.models import ChannelStatus
    from bot.storage.channels import set_status
    on_store(tmp / "dozor.db", lambda s: set_status(s, -1001000000002, ChannelStatus.REPLAY, "test"))
    with console_client(tmp, OPERATOR) as client:
        page = client.get("/channels").text
    row = page.split("@example_gorod")[1].split("</tr>")[0]
    assert "replay" in row and "/channels/pause" not in row and "/channels/remove" in row


def test_the_search_chart_ends_at_the_newest_hit(console_db):
    tmp, _ = console_db
    with console_client(tmp, SUBSCRIBER) as client:
        page = client.get("/search/results?q=мобилизация").text
        assert "end=2024-05-18" in page  # the newest hit's day
        chart = client.get("/search/chart?q=мобилизация&end=2024-05-18").text
        assert "→ 2024-05-18" in chart and chart.count("<rect") == 2
        assert "→ 2024-05-20" in client.get("/search/chart?q=мобилизация&end=2030-01-01").text  # never past today
