"""Serving the console with uvicorn: `serve_console(settings, stop, store=None, host, port)`.

`dozor web` calls it with its own store; `dozor run` with DOZOR_WEB set runs it as a
background task beside the watcher, sharing the run's store (one event loop, one
connection). Either way the saved rules' previews are warmed in the background as it
starts (build_app(warm=True)), so the first preview is fast. It returns when `stop` is set.
"""
from __future__ import annotations

import asyncio
import logging

import uvicorn

from bot.errors import ConfigError
from bot.settings import Settings
from bot.storage.db import Store
from bot.web.app import build_app

log = logging.getLogger(__name__)


def parse_address(text: str) -> tuple[str, int]:
    """'host:port' -> (host, port); ConfigError naming DOZOR_WEB otherwise."""
    host, _, port = (text or "").strip().rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"DOZOR_WEB must be host:port, e.g. 127.0.0.1:8080 (got {text!r})")
    return host.strip("[]"), int(port)


async def serve_console(settings: Settings, stop: asyncio.Event, store: Store | None = None,
                        host: str | None = None, port: int | None = None) -> None:
    """Serve until `stop` is set."""
    if host is None or port is None:
        host, port = parse_address(settings.web)
    app = build_app(settings, store, warm=True)  # the saved rules' previews worked out in the background
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                            timeout_graceful_shutdown=2, lifespan="on")
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # the caller owns SIGINT/SIGTERM
    task = asyncio.create_task(server.serve())
    log.info("web console on http://%s:%d", host, port)
    try:
        await asyncio.wait([task, asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED)
    finally:
        server.should_exit = True
        await task
