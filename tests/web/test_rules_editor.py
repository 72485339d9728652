"""The rules list and editor: sparklines and precision, syntax errors at their place, explain,
preview against the saved version, save with its diff, audit and rules version (issue 15, page 3)."""
from __future__ import annotations

import threading
import time

from bot.history import preview as preview_module
from bot.history.preview import posts_read
from bot.storage.audit import audit_entries
from bot.storage.rules import get_rule, rules_version
from tests.web.console_helpers import OPERATOR, SUBSCRIBER, console_client, csrf_of, on_store

DRAFT = {"id": "mob", "title": "Mobilization", "query": "мобилизация", "tags": "mobilization", "severity": "high",
         "enabled": "1"}


def post(client, path, **fields):
    return client.post(path, data={**DRAFT, **fields}, headers={"X-CSRF-Token": csrf_of(client)})


def test_the_list_shows_hits_precision_and_last_change(console_db):
    tmp, _ = console_db
    with console_client(tmp, OPERATOR) as client:
        page = client.get("/rules").text
    assert page.count('class="spark"') == 2
    assert '<span class="num">2</span>' in page  # 'mob' matched two posts in the last 14 days
    assert "test" in page  # who changed it last


def test_a_syntax_error_is_shown_at_its_line_and_column(console_db):
    tmp, _ = console_db
    with console_client(tmp, OPERATOR) as client:
        page = post(client, "/rules/check", query="мобилизация AND\n(повестка OR").text
        assert 'id="syntax-error"' in page and 'data-line="2"' in page
        assert post(client, "/rules/check").text.count("syntax-ok") == 1
        assert "id:" in post(client, "/rules/check", id="bad id").text


def test_test_on_a_text_shows_the_explain_tree(console_db):
    tmp, _ = console_db
    with console_client(tmp, OPERATOR) as client:
        page = post(client, "/rules/test", sample="Объявлена мобилизация").text
    assert 'id="explain-tree"' in page and "MATCH" in page


def test_preview_lists_new_and_lost_hits_against_the_saved_version(console_db):
    tmp, seeded = console_db
    day_from = seeded["posts"][0].date.date().isoformat()
    day_to = seeded["posts"][-1].date.date().isoformat()
    with console_client(tmp, OPERATOR) as client:
        page = post(client, "/rules/preview", query="отказ* OR студент*", **{"from": day_from, "to": day_to}).text
    new, lost = page.split("Lost hits")
    assert "New hits (1)" in new and "отказ воевать" in new and "студентов" not in new  # студентов: in both
    assert "Lost hits (1)" in page and "Мобилизация в Пскове" in lost
    assert "<svg" in page


def test_save_shows_the_diff_audits_and_bumps_the_rules_version(console_db):
    tmp, _ = console_db
    version = on_store(tmp / "dozor.db", rules_version)
    with console_client(tmp, OPERATOR) as client:
        page = post(client, "/rules/save", query="мобилизация OR повестка").text
        assert 'id="saved"' in page and "+query = " in page and "-query = " in page
        assert "Nothing changed" in post(client, "/rules/save", query="мобилизация OR повестка").text
        bad = post(client, "/rules/save", query="мобилизация AND (").text
        assert "line 1" in bad
    assert on_store(tmp / "dozor.db", lambda s: get_rule(s, "mob")).query == "мобилизация OR повестка"
    assert on_store(tmp / "dozor.db", rules_version) == version + 1
    edits = on_store(tmp / "dozor.db", lambda s: audit_entries(s, action="rule.edit", object_id="mob"))
    assert [e["actor"] for e in edits] == [f"web:{OPERATOR}"]


def test_a_new_rule_is_added(console_db):
    tmp, _ = console_db
    with console_client(tmp, OPERATOR) as client:
        assert client.get("/rules/new").status_code == 200
        post(client, "/rules/save", id="fresh", query="дезертир*", enabled="")
        assert client.get("/rules/edit/nope").status_code == 404
    rule = on_store(tmp / "dozor.db", lambda s: get_rule(s, "fresh"))
    assert rule.query == "дезертир*" and not rule.enabled


def test_a_subscriber_cannot_open_the_editor_or_save(console_db):
    tmp, _ = console_db
    with console_client(tmp, SUBSCRIBER) as client:
        assert client.get("/rules/edit/mob").status_code == 403
        assert post(client, "/rules/save", query="всё").status_code == 403
        assert post(client, "/rules/preview").status_code == 403
    assert on_store(tmp / "dozor.db", lambda s: get_rule(s, "mob")).query == "мобилизация"


def wait_for(task, rounds: int = 3000) -> None:
    """Until the app's background task is done (the bound only keeps a broken build from hanging)."""
    for _ in range(rounds):
        if task.done():
            return
        time.sleep(0.01)
    raise AssertionError("the preview warm-up never finished")


def test_the_console_answers_while_previews_warm_up_and_then_a_preview_reads_no_post(console_db, monkeypatch):
    tmp, seeded = console_db
    saved = on_store(tmp / "dozor.db", lambda store: get_rule(store, "mob"))
    reading, release = threading.Event(), threading.Event()
    real = preview_module.analyze

    def held(text):  # the warm-up's reads wait until the test has been answered meanwhile
        reading.set()
        release.wait(timeout=30)
        return real(text)

    monkeypatch.setattr(preview_module, "analyze", held)
    with console_client(tmp, OPERATOR, warm=True) as client:
        assert reading.wait(timeout=30)
        assert client.get("/rules").status_code == 200 and not client.console.warm_up.done()
        release.set()
        wait_for(client.console.warm_up)
        store = client.console.store
        warmed = posts_read(store)
        page = post(client, "/rules/preview", query=saved.query, **{"from": seeded["posts"][0].date.date().isoformat(),
                                                                   "to": seeded["posts"][-1].date.date().isoformat()})
        assert "New hits (0)" in page.text and "Lost hits (0)" in page.text
        assert warmed > 0 and posts_read(store) == warmed
