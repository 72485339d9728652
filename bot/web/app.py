"""The console's ASGI app: `build_app(settings, store=None)` returns a Starlette app.

Pages live in one module each (alerts, search, rules, channels, digest, people);
each exposes `routes(console)`. `Console` holds what handlers share (store,
settings, sessions, templates, clock) and the `guard` that resolves the viewer,
checks their role and, for every POST, the CSRF token. Every response carries a
Content-Security-Policy without inline scripts or styles. Without a store given,
the app opens the configured database on start and closes it on shutdown.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import datetime
from functools import wraps
from pathlib import Path
from typing import Awaitable, Callable
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from bot.clock import utc_now
from bot.commands.roles import Role
from bot.formatting import format_time, zone
from bot.settings import Settings
from bot.storage.db import Store
from bot.web.auth import SESSION_COOKIE, LoginThrottle, Sessions, Viewer, csrf_ok, load_secret, viewer_of
from bot.web.i18n import LANGUAGES, pick_language, translator

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self';"
       " object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
NAV = (("alerts", "/", Role.SUBSCRIBER), ("search", "/search", Role.SUBSCRIBER), ("rules", "/rules", Role.OPERATOR),
       ("channels", "/channels", Role.OPERATOR), ("digest", "/digest", Role.SUBSCRIBER),
       ("people", "/people", Role.ADMIN))
Handler = Callable[[Request, Viewer], Awaitable[Response]]


class SecurityHeaders(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next):
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        return response


class Console:
    """What every handler shares."""

    def __init__(self, settings: Settings, store: Store | None, secret: str,
                 clock: Callable[[], datetime] = utc_now, monotonic: Callable[[], float] = time.monotonic):
        self.settings = settings
        self.store = store
        self.sessions = Sessions(secret)
        self.throttle = LoginThrottle()
        self.clock = clock
        self.warm_up: asyncio.Task | None = None  # the preview warm-up, when build_app(warm=True)
        self.monotonic = monotonic
        self.sse_every = 1.0  # seconds between the live feed's looks at the outbox
        self.sse_rounds: int | None = None  # looks before a stream ends (None: until the browser leaves)
        self.env = Environment(loader=FileSystemLoader(HERE / "templates"),
                               autoescape=select_autoescape(default=True, default_for_string=True))

    # --- rendering -------------------------------------------------------------------------
    def lang(self, request: Request) -> str:
        return pick_language(request.cookies.get("lang"), request.headers.get("accept-language"))

    def tz(self, request: Request) -> str:
        wanted = request.cookies.get("tz") or ""
        return wanted if wanted and isinstance(zone(wanted), ZoneInfo) else self.settings.tz

    def render(self, request: Request, viewer: Viewer | None, template: str, status: int = 200,
               **context) -> HTMLResponse:
        lang, tz = self.lang(request), self.tz(request)

        def when(value) -> str:
            if not value:
                return ""
            moment = datetime.fromisoformat(value) if isinstance(value, str) else value
            return format_time(moment, tz)

        page = self.env.get_template(template).render(
            request=request, viewer=viewer, t=translator(lang), lang=lang, other_lang=_other(lang), tz=tz,
            when=when, nav=[(k, href) for k, href, role in NAV if viewer and viewer.role >= role],
            path=request.url.path, qs=query_string, **context)
        return HTMLResponse(page, status_code=status)

    # --- access ----------------------------------------------------------------------------
    def guard(self, role: Role) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
        """Wrap a handler: a viewer of at least `role`, and a valid CSRF token on every POST."""

        def wrap(handler: Handler):
            @wraps(handler)
            async def endpoint(request: Request) -> Response:
                viewer = await viewer_of(self.sessions, self.store, self.settings,
                                         request.cookies.get(SESSION_COOKIE))
                if viewer is None:
                    return self.logged_out(request)
                if viewer.role < role:
                    return self.render(request, viewer, "error.html", 403, message_key="forbidden")
                if request.method == "POST":
                    sent = request.headers.get("x-csrf-token")
                    if sent is None:
                        sent = (await request.form()).get("csrf")
                    if not csrf_ok(viewer, sent):
                        log.warning("web: refused a POST to %s by %s without a valid CSRF token",
                                    request.url.path, viewer.user_id)
                        return Response("CSRF token missing or wrong", status_code=403)
                return await handler(request, viewer)

            return endpoint

        return wrap

    def logged_out(self, request: Request) -> Response:
        if request.headers.get("hx-request") or request.method != "GET":
            return Response("session ended", status_code=401, headers={"HX-Redirect": "/login"})
        response = RedirectResponse("/login", status_code=303)
        if request.cookies.get(SESSION_COOKIE):
            response.delete_cookie(SESSION_COOKIE)
        return response


def query_string(params, **changes) -> str:
    """`params` (a mapping) with `changes` applied (None drops a key), url-encoded."""
    merged = {k: v for k, v in dict(params).items() if v not in ("", None)}
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return urlencode(merged)


def _other(lang: str) -> str:
    return LANGUAGES[(LANGUAGES.index(lang) + 1) % len(LANGUAGES)]


def build_app(settings: Settings, store: Store | None = None, secret: str | None = None,
              clock: Callable[[], datetime] = utc_now, warm: bool = False) -> Starlette:
    """The console for `settings`' database (or `store`, already open, shared with `dozor run`).
    With `warm`, startup begins working out the saved rules' preview hits in the background
    (`console.warm_up`, bot/web/rules.py's warm_previews); serving does not wait for it."""
    from bot.web import alerts, channels, digest, login, people, rules, search  # one module per page

    console = Console(settings, store, secret or load_secret(settings.data_dir), clock)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        opened = None
        if console.store is None:
            opened = console.store = await Store.open(settings.db_path)
        if warm:
            console.warm_up = asyncio.create_task(rules.warm_previews(console.store, console.clock()))
        try:
            yield
        finally:
            if console.warm_up is not None:
                console.warm_up.cancel()
                await asyncio.gather(console.warm_up, return_exceptions=True)
            if opened is not None:
                await opened.close()
                console.store = None

    routes = [*login.routes(console), *alerts.routes(console), *search.routes(console), *rules.routes(console),
              *channels.routes(console), *digest.routes(console), *people.routes(console),
              Mount("/static", StaticFiles(directory=HERE / "static"), name="static")]
    app = Starlette(routes=routes, middleware=[Middleware(SecurityHeaders)], lifespan=lifespan)
    app.state.console = console
    return app


def page_route(path: str, endpoint, methods=("GET",)) -> Route:
    return Route(path, endpoint, methods=list(methods))
