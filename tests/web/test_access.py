"""Who may enter the console and what each role may open or change (issue 15: Who may enter)."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from bot.storage import access
from bot.storage.audit import audit_entries
from bot.storage.rules import get_rule, rules_version
from tests.web.console_helpers import (ADMIN, NOW, OPERATOR, STRANGER, SUBSCRIBER, _path, console_client, csrf_of,
                                       new_link, on_store)

PAGES = ["/", "/search", "/digest", "/rules", "/rules/new", "/rules/edit/mob", "/channels", "/people"]
ALLOWED = {
    SUBSCRIBER: {"/", "/search", "/digest"},
    OPERATOR: {"/", "/search", "/digest", "/rules", "/rules/new", "/rules/edit/mob", "/channels"},
    ADMIN: set(PAGES),
}


@pytest.mark.parametrize("user", [SUBSCRIBER, OPERATOR, ADMIN])
def test_each_role_opens_its_pages_and_is_refused_the_others(console_db, user):
    tmp, _ = console_db
    with console_client(tmp, user) as client:
        for page in PAGES:
            response = client.get(page)
            expected = 200 if page in ALLOWED[user] else 403
            assert response.status_code == expected, (user, page)


def test_without_a_session_every_page_sends_to_login(console_db):
    tmp, _ = console_db
    with console_client(tmp, None) as client:
        for page in PAGES:
            response = client.get(page, follow_redirects=False)
            assert response.status_code == 303 and response.headers["location"] == "/login"
        assert client.post("/rules/save", data={"id": "x", "query": "y"}).status_code == 401


def test_a_login_link_works_once(console_db):
    tmp, _ = console_db
    link = new_link(tmp, OPERATOR, NOW)
    with console_client(tmp, None) as client:
        assert "login-button" in client.get(_path(link)).text  # opening the link (a preview) uses nothing up
        assert client.post(_path(link), follow_redirects=False).status_code == 303
        assert client.get("/rules").status_code == 200
    with console_client(tmp, None) as again:
        response = again.post(_path(link), follow_redirects=False)
        assert response.status_code == 403 and "expired or was already used" in response.text
        assert again.get("/", follow_redirects=False).status_code == 303


def test_an_expired_link_fails(console_db):
    tmp, _ = console_db
    link = new_link(tmp, OPERATOR, NOW)
    with console_client(tmp, None, clock=lambda: NOW + timedelta(minutes=10, seconds=1)) as client:
        assert client.post(_path(link), follow_redirects=False).status_code == 403
        assert client.get("/", follow_redirects=False).status_code == 303


def test_a_link_stores_only_its_hash(console_db):
    tmp, _ = console_db
    link = new_link(tmp, OPERATOR, NOW)
    token = link.rsplit("/", 1)[1]
    raw = (tmp / "dozor.db").read_bytes()
    assert token.encode() not in raw


def test_a_stranger_with_a_link_gets_no_session(console_db):
    tmp, _ = console_db
    link = new_link(tmp, STRANGER, NOW)
    with console_client(tmp, None) as client:
        assert client.post(_path(link), follow_redirects=False).status_code == 403
        assert client.get("/", follow_redirects=False).status_code == 303


def test_removing_the_role_ends_the_session(console_db):
    tmp, _ = console_db
    with console_client(tmp, OPERATOR) as client:
        assert client.get("/rules").status_code == 200
        on_store(tmp / "dozor.db", lambda s: s.write(lambda c: access.set_role(c, OPERATOR, "subscriber", "t", NOW)))
        assert client.get("/rules", follow_redirects=False).status_code == 303  # a changed role logs out
        on_store(tmp / "dozor.db", lambda s: s.write(lambda c: access.remove_subscriber(c, OPERATOR, "t", NOW)))
        assert client.get("/", follow_redirects=False).status_code == 303


def test_a_forged_cookie_is_no_session(console_db):
    tmp, _ = console_db
    with console_client(tmp, None) as client:
        client.cookies.set("dozor_session", "eyJ1aWQiOjEsInJvbGUiOjMsImNzcmYiOiJ4In0.forged.sig")
        assert client.get("/people", follow_redirects=False).status_code == 303


def test_a_forged_csrf_token_changes_nothing(console_db):
    tmp, _ = console_db
    with console_client(tmp, ADMIN) as client:
        before = on_store(tmp / "dozor.db", lambda s: audit_entries(s))
        version = on_store(tmp / "dozor.db", rules_version)
        form = {"id": "mob", "query": "новое", "csrf": "forged"}
        assert client.post("/rules/save", data=form).status_code == 403
        assert client.post("/rules/save", data={"id": "mob", "query": "новое"}).status_code == 403
        assert client.post("/channels/pause", data={"channel": "-1001000000001", "csrf": "x"}).status_code == 403
        assert client.post("/people/role", data={"chat_id": str(SUBSCRIBER), "role": "operator"},
                           headers={"X-CSRF-Token": "nope"}).status_code == 403
        assert on_store(tmp / "dozor.db", lambda s: get_rule(s, "mob")).query == "мобилизация"
        assert on_store(tmp / "dozor.db", lambda s: audit_entries(s)) == before
        assert on_store(tmp / "dozor.db", rules_version) == version


def test_login_attempts_are_throttled(console_db):
    tmp, _ = console_db
    with console_client(tmp, None) as client:
        codes = [client.post("/login/not-a-token").status_code for _ in range(11)]
        assert codes[:10] == [403] * 10 and codes[10] == 429
        good = new_link(tmp, OPERATOR, NOW)
        assert client.post(_path(good), follow_redirects=False).status_code == 429  # even a good link waits


def test_pages_carry_a_csp_without_inline_scripts_or_styles(console_db):
    tmp, _ = console_db
    with console_client(tmp, ADMIN) as client:
        for page in PAGES + ["/login"]:
            response = client.get(page)
            csp = response.headers["content-security-policy"]
            assert "script-src 'self'" in csp and "unsafe-inline" not in csp
            html = response.text
            assert not re.search(r"<script(?![^>]*\bsrc=)", html), page  # every script is a file
            assert not re.search(r"<[^>]*\son[a-z]+\s*=", html), page  # no inline event handlers
            assert not re.search(r"<style|<[^>]*\sstyle=", html), page


def test_the_language_follows_the_browser_and_the_switch(console_db):
    tmp, _ = console_db
    with console_client(tmp, SUBSCRIBER) as client:
        assert "Оповещения" in client.get("/", headers={"accept-language": "ru-RU,ru;q=0.9"}).text
        assert "Alerts" in client.get("/", headers={"accept-language": "en-US"}).text
        client.get("/lang/ru", follow_redirects=False)
        assert "Оповещения" in client.get("/", headers={"accept-language": "en-US"}).text


def test_times_are_in_the_viewers_zone_and_labelled(console_db):
    tmp, _ = console_db
    with console_client(tmp, SUBSCRIBER) as client:
        assert "MSK" in client.get("/").text and "Europe/Moscow" in client.get("/").text
        client.cookies.set("tz", "Asia/Tokyo")
        page = client.get("/").text
        assert "JST" in page and "Asia/Tokyo" in page
        client.cookies.set("tz", "Not/AZone")
        assert "Europe/Moscow" in client.get("/").text


def test_logout_needs_the_csrf_token(console_db):
    tmp, _ = console_db
    with console_client(tmp, SUBSCRIBER) as client:
        assert client.post("/logout").status_code == 403
        assert client.post("/logout", data={"csrf": csrf_of(client)}, follow_redirects=False).status_code == 303
