"""The console in a real browser: Playwright driving Debian's chromium against uvicorn on 127.0.0.1.

The database is the built-in sample replayed by `dozor run` (a subprocess); the server
runs in a thread with its own event loop. Every test fails on a JavaScript console
error or an uncaught exception. Screenshots of each page at laptop and phone widths
go to test-artifacts/web/ (git-ignored). The browser is DOZOR_CHROMIUM or
/usr/bin/chromium (.ci/setup-browser.sh installs it); without one these tests skip,
except where DOZOR_BROWSER_REQUIRED is set (CI), where they fail.
"""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest

from bot.settings import load_settings
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "web"
ADMIN = 42
CHROMIUM = os.environ.get("DOZOR_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SIZES = {"laptop": (1366, 768), "phone": (390, 844)}
LIVE_TEXT = "Срочно: в Пскове объявлена мобилизация, повестки раздают у проходной завода №{n}"


def _browser_or_skip():
    try:
        from playwright.sync_api import sync_playwright  # noqa: F401
    except ImportError:
        reason = "playwright is not installed (pip install -e '.[dev]')"
    else:
        if Path(CHROMIUM).is_file():
            return
        reason = f"no chromium at {CHROMIUM} (run .ci/setup-browser.sh as root, or set DOZOR_CHROMIUM)"
    if os.environ.get("DOZOR_BROWSER_REQUIRED"):
        pytest.fail(f"browser tests must run here: {reason}")
    pytest.skip(reason)


def _env(tmp: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOZOR_", "TG_"))}
    env.update(DOZOR_DATA_DIR=str(tmp / "data"), DOZOR_DB=str(tmp / "dozor.db"), DOZOR_ADMINS=str(ADMIN),
               DOZOR_RULES=str(ROOT / "config" / "rules.toml"), DOZOR_TZ="Europe/Moscow")
    return env


def _replay(tmp: Path, path: Path | None = None) -> subprocess.Popen:
    """`dozor run --replay` (the built-in sample when no path) on the console's database, in another process."""
    command = [sys.executable, "-m", "bot", "run"] + (["--replay", str(path)] if path else [])
    return subprocess.Popen(command, cwd=tmp, env=_env(tmp), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


class Server:
    """The console under uvicorn on a free port, in a thread with its own event loop."""

    def __init__(self, tmp: Path):
        self.settings = load_settings(env=_env(tmp), env_file=None, config_file=None)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from bot.web.serve import serve_console
        self.loop = asyncio.new_event_loop()
        self.stop = asyncio.Event()
        self.ready.set()
        self.loop.run_until_complete(serve_console(self.settings, self.stop, host="127.0.0.1", port=self.port))

    def __enter__(self) -> "Server":
        self.thread.start()
        self.ready.wait(10)
        _wait_for_port(self.port)
        return self

    def __exit__(self, *exc) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(10)


def _wait_for_port(port: int) -> None:
    for _ in range(500):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.1):
                return
        except OSError:
            threading.Event().wait(0.02)
    raise RuntimeError(f"the console did not start on port {port}")


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    _browser_or_skip()
    tmp = tmp_path_factory.mktemp("console")
    seeded = _replay(tmp)
    assert seeded.wait(120) == 0, seeded.stderr.read().decode()
    with Server(tmp) as server:
        server.tmp = tmp
        yield server


@pytest.fixture(scope="module")
def browser():
    _browser_or_skip()
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def session(browser, console):
    """One logged-in browser context (accepts downloads, Russian-free: English interface)."""
    context = browser.new_context(viewport={"width": 1366, "height": 768}, accept_downloads=True,
                                  locale="en-US", timezone_id="Europe/Moscow")
    context.set_default_timeout(15_000)
    yield context
    context.close()


@pytest.fixture
def page(session):
    """A page whose console errors and uncaught exceptions fail the test."""
    page = session.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    page.close()
    assert errors == [], f"JavaScript errors: {errors}"


def _login_link(console) -> str:
    """What an admin does: `dozor web-login 42` (a subprocess: Playwright owns this thread's event loop)."""
    done = subprocess.run([sys.executable, "-m", "bot", "web-login", str(ADMIN), "--port", str(console.port)],
                          cwd=console.tmp, env=_env(console.tmp), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()[0]


def test_01_log_in_with_a_one_time_link(page, console):
    page.goto(_login_link(console))
    page.click("#login-button")
    page.wait_for_url(console.url + "/")
    assert page.locator("h1").first.inner_text().startswith("Alerts")
    assert page.locator("article.alert").count() > 0
    assert page.locator("article.alert mark").count() > 0  # matched words highlighted


def test_02_write_a_rule_with_an_error_fix_preview_save_and_find_it_in_the_audit_log(page, console):
    page.goto(console.url + "/rules/new")
    page.fill("#rule-id", "web_check")
    page.fill("#rule-query", "мобилизация AND\n(повестка OR")
    error = page.locator("#syntax-error")
    error.wait_for()
    assert error.get_attribute("data-line") == "2"
    assert "line 2, column" in error.inner_text()
    assert "has-error" in page.locator("#rule-query").get_attribute("class")
    page.fill("#rule-query", "мобилизация AND (повестка OR военкомат)")
    page.locator("#syntax-ok").wait_for()
    assert "has-error" not in (page.locator("#rule-query").get_attribute("class") or "")
    page.fill("#sample", "В военкомате объявили: мобилизация, повестки разносят по домам")
    page.click("#test-rule")
    assert "MATCH" in page.locator("#explain-tree").inner_text()
    page.fill("input[name=from]", "2024-05-01")
    page.fill("input[name=to]", "2024-05-31")
    page.click("#preview-rule")
    page.locator("#preview-result svg").wait_for()
    assert "New hits" in page.locator("#preview-result").inner_text()
    _shoot(page, "rule-editor", "laptop")
    page.click("#save-rule")
    page.locator("#saved").wait_for()
    assert "+query" in page.locator("#saved").inner_text()
    page.goto(console.url + "/people")
    audit = page.locator("#audit-table").inner_text()
    assert "rule.add web_check" in audit and f"web:{ADMIN}" in audit


def test_03_a_post_replayed_in_another_process_appears_in_the_live_feed(page, console):
    page.goto(console.url + "/")
    page.locator("#live-state.on").wait_for()  # the event stream is open
    text = LIVE_TEXT.format(n=os.getpid())
    post = {"channel": "example_live", "channel_id": -1009000000199, "id": 9001,
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "text": text}
    replay = console.tmp / "live.jsonl"
    replay.write_text(json.dumps(post, ensure_ascii=False) + "\n", encoding="utf-8")
    process = _replay(console.tmp, replay)
    try:
        card = page.locator("article.alert.fresh", has_text="проходной завода")
        card.wait_for(timeout=30_000)
    finally:
        assert process.wait(60) == 0, process.stderr.read().decode()
    assert card.locator("mark").count() >= 1
    assert page.locator("article.alert").first.get_attribute("id") == card.get_attribute("id")


def test_04_search_and_download_the_csv(page, console):
    page.goto(console.url + "/search")
    page.fill("#q", "мобилизация")
    page.press("#q", "Enter")
    page.locator("article.result").first.wait_for()
    assert page.locator("article.result mark").count() > 0
    page.locator("#search-chart svg").wait_for()
    with page.expect_download() as download_info:
        page.click("#export-csv")
    download = download_info.value
    body = Path(download.path()).read_bytes().decode("utf-8-sig")
    assert body.splitlines()[0] == "id,date,channel,link,excerpt" and len(body.splitlines()) > 1


PAGES = {"alerts": "/", "search": "/search?q=мобилизация", "rules": "/rules", "rule-edit": "/rules/edit/mobilization",
         "channels": "/channels", "digest": "/digest?day=2024-05-16", "people": "/people"}


@pytest.mark.parametrize("size", SIZES)
def test_05_every_page_renders_at_laptop_and_phone_width(page, console, size):
    width, height = SIZES[size]
    page.set_viewport_size({"width": width, "height": height})
    for name, path in PAGES.items():
        page.goto(console.url + path)
        page.wait_for_load_state("networkidle") if name != "alerts" else page.locator("#live-state.on").wait_for()
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 1, f"{name} scrolls sideways by {overflow}px at {width}px"
        _shoot(page, name, size)


def test_06_the_interface_switches_to_russian(page, console):
    page.goto(console.url + "/")
    page.click("a.lang")
    assert page.locator("h1").first.inner_text().startswith("Оповещения")
    _shoot(page, "alerts-ru", "laptop")
    page.click("a.lang")
    assert page.locator("h1").first.inner_text().startswith("Alerts")


def _shoot(page, name: str, size: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}-{size}.png"), full_page=False)
