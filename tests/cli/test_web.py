"""`dozor web-login` and the console's server (`dozor web`, DOZOR_WEB)."""
from __future__ import annotations

import asyncio

import pytest

from bot.__main__ import main
from bot.errors import ConfigError
from bot.settings import load_settings
from bot.web.serve import parse_address, serve_console
from tests.servers import free_port, wait_until_serving


def test_web_login_prints_a_one_time_link_for_a_person_with_a_role(cli_env, capsys, monkeypatch):
    monkeypatch.setenv("DOZOR_ADMINS", "42")
    assert main(["web-login", "42"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("http://127.0.0.1:8080/login/") and "valid once" in out
    assert main(["web-login", "42", "--host", "10.0.0.5", "--port", "9000"]) == 0
    assert capsys.readouterr().out.startswith("http://10.0.0.5:9000/login/")


def test_web_login_refuses_someone_without_a_role(cli_env, capsys):
    assert main(["web-login", "777"]) == 2
    assert "has no role" in capsys.readouterr().err


def test_a_bad_dozor_web_address_names_the_setting():
    with pytest.raises(ConfigError, match="DOZOR_WEB"):
        parse_address("localhost")
    assert parse_address("0.0.0.0:8081") == ("0.0.0.0", 8081)


async def test_the_console_serves_until_stopped(tmp_path):
    settings = load_settings(env={"DOZOR_DATA_DIR": str(tmp_path)}, env_file=None, config_file=None)
    port, stop = free_port(), asyncio.Event()
    task = asyncio.create_task(serve_console(settings, stop, host="127.0.0.1", port=port))
    response = await wait_until_serving(f"http://127.0.0.1:{port}/login", tries=200, pause=0.02)
    stop.set()
    await task
    assert response.status_code == 200 and "Content-Security-Policy" in response.headers
    assert (tmp_path / "web-secret").stat().st_mode & 0o077 == 0  # the signing key is private
