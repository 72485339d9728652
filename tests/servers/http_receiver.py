"""A real HTTP/1.1 server on 127.0.0.1 that receives webhooks: records each request, answers as scripted.

    async with HttpReceiver() as hooks:          # listens on 127.0.0.1:<free port>
        hooks.script("/a", Reply(500), Reply(200))  # the next two requests to /a: a 500, then a 200
        hooks.script("/slow", Reply(200, delay=2.0))
        ... POST to hooks.url("/a") ...
        hooks.received("/a")                     # [Request(path, headers, body, at), …]

Unscripted requests get 200. Keep-alive connections, Content-Length bodies
only (what aiohttp sends). `delay` sleeps before answering (a slow or hanging
target); `always` makes a path answer the same forever. Used by tests and by
bench/webhook_bench.py. Nothing here leaves the loopback interface.
"""
from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: dict = field(default_factory=dict)
    delay: float = 0.0


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict  # lower-case names
    body: bytes
    at: float  # time.time() when the body was read


REASONS = {200: "OK", 204: "No Content", 301: "Moved Permanently", 302: "Found", 307: "Temporary Redirect",
           404: "Not Found", 429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}


class HttpReceiver:
    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.host, self.port = host, port
        self.requests: list[Request] = []
        self._scripts: dict[str, deque[Reply]] = defaultdict(deque)
        self._always: dict[str, Reply] = {}
        self._server: asyncio.base_events.Server | None = None
        self._arrived = asyncio.Event()

    async def __aenter__(self) -> "HttpReceiver":
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc) -> None:
        self._server.close()
        if hasattr(self._server, "close_clients"):
            self._server.close_clients()
        await self._server.wait_closed()

    def url(self, path: str = "/hook") -> str:
        return f"http://{self.host}:{self.port}{path}"

    def script(self, path: str, *replies: Reply) -> None:
        self._scripts[path].extend(replies)

    def always(self, path: str, reply: Reply) -> None:
        self._always[path] = reply

    def received(self, path: str | None = None) -> list[Request]:
        return [r for r in self.requests if path is None or r.path == path]

    async def wait_for(self, count: int, path: str | None = None, timeout: float = 10.0) -> list[Request]:
        """Wait until `count` requests (to `path`) arrived; a safety timeout, not a measured limit."""
        deadline = time.monotonic() + timeout
        while len(self.received(path)) < count and time.monotonic() < deadline:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), max(0.01, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                break
        return self.received(path)

    def _reply_for(self, path: str) -> Reply:
        queue = self._scripts.get(path)
        if queue:
            return queue.popleft()
        return self._always.get(path, Reply())

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    break
                self.requests.append(request)
                self._arrived.set()
                reply = self._reply_for(request.path)
                if reply.delay:
                    await asyncio.sleep(reply.delay)
                writer.write(_response(reply))
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


async def _read_request(reader: asyncio.StreamReader) -> Request | None:
    head = await reader.readuntil(b"\r\n\r\n") if not reader.at_eof() else b""
    if not head:
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return Request(method, path, headers, body, time.time())


def _response(reply: Reply) -> bytes:
    headers = {"Content-Length": "0", **reply.headers}
    lines = [f"HTTP/1.1 {reply.status} {REASONS.get(reply.status, 'Status')}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
