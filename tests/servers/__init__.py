"""Real servers the tests run on 127.0.0.1 (HTTP and SMTP receivers), and the helpers they share:
`free_port()` and `wait_until_serving(url)` for a server started in the background."""
from __future__ import annotations

import asyncio
import socket


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def wait_until_serving(url: str, tries: int = 400, pause: float = 0.01):
    """GET `url` until a server answers; returns that response (httpx), or raises the last connection error."""
    import httpx

    async with httpx.AsyncClient() as client:
        for attempt in range(tries):
            try:
                return await client.get(url)
            except httpx.TransportError:
                if attempt == tries - 1:
                    raise
                await asyncio.sleep(pause)
