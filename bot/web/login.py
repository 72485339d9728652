"""Logging in and out, and the viewer's language and time zone.

GET /login/{token} shows a button (a link preview fetching the page uses nothing up);
POST /login/{token} redeems the link once and sets the session cookie. Attempts are
throttled per client address. /lang/{code} and /tz set their cookies.
"""
from __future__ import annotations

import logging
from urllib.parse import urlparse

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.commands.roles import Role
from bot.storage.web_sessions import redeem_login_link
from bot.web.auth import SESSION_COOKIE, current_role
from bot.web.i18n import LANGUAGES

log = logging.getLogger(__name__)


def routes(console) -> list[Route]:
    async def login_page(request: Request) -> Response:
        return console.render(request, None, "login.html", token=None)

    async def link_page(request: Request) -> Response:
        return console.render(request, None, "login.html", token=request.path_params["token"])

    async def redeem(request: Request) -> Response:
        client = request.client.host if request.client else "?"
        if not console.throttle.allow(client, console.monotonic()):
            log.warning("web: login attempts from %s throttled", client)
            return console.render(request, None, "login.html", 429, token=None, message_key="too_many")
        token = request.path_params["token"]
        now = console.clock()
        user_id = await console.store.write(lambda conn: redeem_login_link(conn, token, now))
        role = None if user_id is None else await current_role(console.store, console.settings, user_id)
        if user_id is None or not role:
            return console.render(request, None, "login.html", 403, token=None, message_key="login_failed")
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(SESSION_COOKIE, console.sessions.dump(user_id, role), max_age=console.sessions.max_age,
                            httponly=True, samesite="lax", secure=request.url.scheme == "https")
        log.info("web: user %s logged in", user_id)
        return response

    async def logout(request: Request, viewer) -> Response:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    async def set_lang(request: Request) -> Response:
        code = request.path_params["code"]
        response = RedirectResponse(_back(request), status_code=303)
        if code in LANGUAGES:
            response.set_cookie("lang", code, max_age=365 * 86400, samesite="lax")
        return response

    return [
        Route("/login", login_page),
        Route("/login/{token}", link_page),
        Route("/login/{token}", redeem, methods=["POST"]),
        Route("/logout", console.guard(Role.SUBSCRIBER)(logout), methods=["POST"]),
        Route("/lang/{code}", set_lang),
    ]


def _back(request: Request) -> str:
    """Where the language switch returns to: the referring page of this site, else home."""
    referer = urlparse(request.headers.get("referer", ""))
    if referer.netloc and referer.netloc != request.url.netloc:
        return "/"
    return (referer.path or "/") + (f"?{referer.query}" if referer.query else "")
