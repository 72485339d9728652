"""CLI: `dozor web [--host --port]` serves the console; `dozor web-login USER_ID` prints a one-time link.

The console reads and writes the configured database; it runs beside `dozor run`
(another process) or on a replayed database. A link works once, for 10 minutes,
for a person who has a role (an admin in DOZOR_ADMINS, or an active subscriber).
"""
from __future__ import annotations

import argparse
import asyncio
import signal

from bot.clock import utc_now
from bot.errors import DozorError
from bot.settings import Settings
from bot.storage.db import Store

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8080


def register(subparsers) -> None:
    web = subparsers.add_parser("web", help="serve the web console",
                                description="Serve the web console for the configured database (log in with a "
                                            "link from `dozor web-login USER_ID` or the bot's /console).")
    web.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
    web.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    web.set_defaults(handler=handle_web)
    login = subparsers.add_parser("web-login", help="print a one-time login link to the web console",
                                  description="Print a link that logs USER_ID (a Telegram user id with a role) "
                                              "into the web console once, within 10 minutes.")
    login.add_argument("user_id", type=int, help="Telegram user id of an admin, operator or subscriber")
    login.add_argument("--host", default=None, help="host in the link (default: DOZOR_WEB_URL, DOZOR_WEB or 127.0.0.1)")
    login.add_argument("--port", type=int, default=None, help="port in the link (default 8080)")
    login.set_defaults(handler=handle_web_login)


def handle_web(args: argparse.Namespace, settings: Settings) -> int:
    from bot.web.serve import serve_console  # the web framework only for this command

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        print(f"Dozor web console on http://{args.host}:{args.port} (Ctrl-C stops it); "
              "log in with a link from `dozor web-login USER_ID`")
        await serve_console(settings, stop, host=args.host, port=args.port)

    asyncio.run(serve())
    return 0


def handle_web_login(args: argparse.Namespace, settings: Settings) -> int:
    from bot.web.auth import console_url, current_role, issue_login_link

    async def issue() -> str:
        store = await Store.open(settings.db_path)
        try:
            if not await current_role(store, settings, args.user_id):
                raise DozorError(f"user {args.user_id} has no role: add them to DOZOR_ADMINS or as a subscriber "
                                 "(`dozor subscribers add`) first")
            base = (console_url(settings, args.host or DEFAULT_HOST, args.port or DEFAULT_PORT)
                    if args.host or args.port else console_url(settings))
            link, expires = await issue_login_link(store, base, args.user_id, "cli", utc_now())
        finally:
            await store.close()
        return f"{link}\n(valid once, until {expires:%Y-%m-%d %H:%M} UTC)"

    print(asyncio.run(issue()))
    return 0
