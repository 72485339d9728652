"""TG_PROXY as Telethon wants it: the `proxy` (and for MTProxy the `connection`) arguments of a client.

Every client Dozor creates goes through bot/telegram/client.py's `make_client`,
which adds these, so the watcher accounts, the bot and `dozor login` all use
the proxy. SOCKS5, SOCKS4 and HTTP proxies go through python-socks (Telethon
imports it when a proxy is given); an MTProxy uses Telethon's own obfuscated
connection with the secret. The arguments hold the password: never log them,
log `ProxyConfig.redacted()` instead.
"""
from __future__ import annotations

from typing import Any

from telethon import connection

from bot.settings import ProxyConfig


def proxy_arguments(proxy: ProxyConfig | None) -> dict[str, Any]:
    """Keyword arguments for TelegramClient(...) that route it through `proxy` ({} without one)."""
    if proxy is None:
        return {}
    if proxy.scheme == "mtproxy":
        return {"connection": connection.ConnectionTcpMTProxyRandomizedIntermediate,
                "proxy": (proxy.host, proxy.port, proxy.secret)}
    return {"proxy": {"proxy_type": proxy.scheme, "addr": proxy.host, "port": proxy.port, "rdns": True,
                      "username": proxy.username, "password": proxy.password}}
