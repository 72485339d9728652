"""TG_PROXY: parsed with errors that name the setting and never show the password; every Telethon client
Dozor creates goes through it. The SOCKS5 server here is ours, on 127.0.0.1, relaying to a local listener:
a connection made by Telethon's own connection class from our client's arguments reaches the listener
only through it."""
from __future__ import annotations

import asyncio
import inspect
import logging
import struct

import pytest
from telethon import connection, types

from bot.errors import ConfigError
from bot.settings import load_settings
from bot.telegram import bot_client, live, login
from bot.telegram.client import make_client
from bot.telegram.proxy import proxy_arguments

PASSWORD = "s3cret-Pa55"


def settings_with(tmp_path, proxy: str):
    return load_settings(env={"TG_API_ID": "1", "TG_API_HASH": "0" * 32, "TG_PROXY": proxy,
                              "DOZOR_DATA_DIR": str(tmp_path / "data")}, env_file=None, config_file=None)


class Socks5Server:
    """RFC 1928 CONNECT with RFC 1929 username/password: records who asked for what, then relays."""

    def __init__(self):
        self.requests: list[tuple[str, str, str, int]] = []  # (user, password, host, port)
        self.relayed = 0
        self.server = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        self.server.close()
        await self.server.wait_closed()

    async def _client(self, reader, writer) -> None:
        try:
            version, count = await reader.readexactly(2)
            methods = await reader.readexactly(count)
            assert version == 5 and 2 in methods, "the client must offer username/password"
            writer.write(b"\x05\x02")
            _, ulen = await reader.readexactly(2)
            user = (await reader.readexactly(ulen)).decode()
            plen = (await reader.readexactly(1))[0]
            password = (await reader.readexactly(plen)).decode()
            writer.write(b"\x01\x00")
            _, command, _, atyp = await reader.readexactly(4)
            if atyp == 1:
                host = ".".join(str(b) for b in await reader.readexactly(4))
            elif atyp == 3:
                host = (await reader.readexactly((await reader.readexactly(1))[0])).decode()
            else:
                raise AssertionError("IPv6 not expected in this test")
            port = struct.unpack(">H", await reader.readexactly(2))[0]
            self.requests.append((user, password, host, port))
            upstream_reader, upstream_writer = await asyncio.open_connection(host, port)
            writer.write(b"\x05\x00\x00\x01" + bytes(4) + b"\x00\x00")
            await writer.drain()
            await asyncio.gather(self._pipe(reader, upstream_writer, count=True),
                                 self._pipe(upstream_reader, writer))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _pipe(self, reader, writer, count: bool = False) -> None:
        try:
            while data := await reader.read(4096):
                if count:
                    self.relayed += len(data)
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()


class Listener:
    """Stands in for a Telegram data centre: keeps every byte it receives."""

    def __init__(self):
        self.received = bytearray()
        self.got_data = asyncio.Event()

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def _client(self, reader, writer) -> None:
        while data := await reader.read(4096):
            self.received += data
            self.got_data.set()
        writer.close()

    async def close(self) -> None:
        self.server.close()
        await self.server.wait_closed()


async def test_a_telethon_connection_from_our_client_goes_through_the_socks5_proxy(tmp_path, caplog):
    socks, listener = Socks5Server(), Listener()
    proxy_port, dc_port = await socks.start(), await listener.start()
    caplog.set_level(logging.DEBUG)
    client = make_client(settings_with(tmp_path, f"socks5://dozor:{PASSWORD}@127.0.0.1:{proxy_port}"))
    conn = client._connection("127.0.0.1", dc_port, 2, loggers=client._log, proxy=client._proxy)
    try:
        await conn.connect(timeout=5)
        await conn.send(b"\x00" * 16)  # one MTProto-sized packet through Telethon's own codec
        await asyncio.wait_for(listener.got_data.wait(), 5)
    finally:
        await conn.disconnect()
        await socks.close()
        await listener.close()
    assert socks.requests == [("dozor", PASSWORD, "127.0.0.1", dc_port)]
    assert socks.relayed > 0 and len(listener.received) >= 16  # the listener's bytes came through the proxy
    assert PASSWORD not in caplog.text and "socks5://dozor:***@127.0.0.1" in caplog.text


def test_an_mtproxy_uses_telethons_mtproxy_connection_with_its_secret(tmp_path):
    secret = "dd" + "0123456789abcdef" * 2
    client = make_client(settings_with(tmp_path, f"mtproxy://{secret}@10.0.0.5:443"))
    assert issubclass(client._connection, connection.tcpmtproxy.TcpMTProxy)
    assert client._proxy == ("10.0.0.5", 443, secret)
    assert client._init_request.proxy == types.InputClientProxy("10.0.0.5", 443)


def test_an_http_proxy_is_passed_to_telethon_as_python_socks_arguments(tmp_path):
    settings = settings_with(tmp_path, "http://proxy.example:3128")
    assert proxy_arguments(settings.tg_proxy) == {"proxy": {
        "proxy_type": "http", "addr": "proxy.example", "port": 3128, "rdns": True, "username": None,
        "password": None}}
    assert make_client(settings)._proxy["addr"] == "proxy.example"


def test_without_tg_proxy_clients_connect_directly(tmp_path):
    settings = load_settings(env={"TG_API_ID": "1", "TG_API_HASH": "0" * 32, "DOZOR_DATA_DIR": str(tmp_path)},
                             env_file=None, config_file=None)
    assert settings.tg_proxy is None and proxy_arguments(None) == {} and not make_client(settings)._proxy


def test_every_client_dozor_creates_comes_from_make_client():
    """Watcher accounts (run_live), the bot (start_bot) and `dozor login` build clients only this way."""
    for fn in (live.run_live, bot_client.start_bot, login.login):
        assert inspect.signature(fn).parameters["client_factory"].default is make_client


@pytest.mark.parametrize("value", [
    f"socks5://user:{PASSWORD}@host",  # no port
    f"socks5://user:{PASSWORD}@host:99999",
    f"ftp://user:{PASSWORD}@host:21",
    f"user:{PASSWORD}@host:1080",  # no scheme
    "mtproxy://host:443",  # no secret
    "mtproxy://nothex@host:443",
    f"socks5://user:{PASSWORD}@host:1080/path",
])
def test_a_bad_proxy_names_the_setting_and_never_shows_the_password(value):
    with pytest.raises(ConfigError) as info:
        load_settings(env={"TG_PROXY": value}, env_file=None, config_file=None)
    assert "TG_PROXY" in str(info.value) and PASSWORD not in str(info.value) and "nothex" not in str(info.value)


def test_the_parsed_proxy_never_shows_its_password():
    settings = load_settings(env={"TG_PROXY": f"socks5://anna:{PASSWORD}@127.0.0.1:1080"}, env_file=None,
                             config_file=None)
    proxy = settings.tg_proxy
    assert (proxy.scheme, proxy.host, proxy.port, proxy.username, proxy.password) == \
        ("socks5", "127.0.0.1", 1080, "anna", PASSWORD)
    assert PASSWORD not in repr(proxy) and PASSWORD not in repr(settings)
