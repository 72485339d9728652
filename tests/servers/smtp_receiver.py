"""A real SMTP server on 127.0.0.1 (aiosmtpd, in its own thread) that keeps every message it receives.

    with SmtpReceiver() as smtp:
        url = f"mailto://127.0.0.1:{smtp.port}?to=desk@example.org&from=dozor@example.org"
        ...
        smtp.messages  # [email.message.EmailMessage, …]
"""
from __future__ import annotations

import email
import email.policy

from aiosmtpd.controller import Controller

from tests.servers import free_port


class SmtpReceiver:
    def __init__(self) -> None:
        self.messages: list = []
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd's handler hook
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"

    def __enter__(self) -> "SmtpReceiver":
        self._controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self._controller.stop()

    def text(self, index: int = -1) -> str:
        """The plain-text part of a received message."""
        return self.messages[index].get_body(preferencelist=("plain",)).get_content()
