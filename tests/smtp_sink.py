"""A real SMTP server on localhost (aiosmtpd) that keeps what it receives.

The messaging engine sends mail through its email channel over a real SMTP
connection; these fixtures point SMTP_HOST/SMTP_PORT at the sink (or at a
port where nothing listens, to test what happens when mail is down) and clear
the cached settings so the services read the new values.

Test packages that need them re-export the fixtures from their conftest.py.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from prm_saas.settings import get_settings


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on (at the time of asking)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class ReceivedMail:
    """One message as the SMTP server received it."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def to(self) -> str:
        """The To header."""
        return str(self.message["To"])

    @property
    def subject(self) -> str:
        """The decoded Subject header."""
        return str(self.message["Subject"])

    @property
    def body(self) -> str:
        """The decoded plain-text body (the text part of a multipart/alternative)."""
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None, "no text/plain part"
        return str(part.get_content())

    @property
    def html(self) -> str:
        """The decoded HTML alternative ("" when the mail has none)."""
        part = self.message.get_body(preferencelist=("html",))
        return str(part.get_content()) if part is not None else ""

    def code(self) -> str:
        """The six-digit one-time code in the body."""
        m = re.search(r"\b(\d{6})\b", self.body)
        assert m, f"no code in {self.body!r}"
        return m.group(1)

    def accept_token(self) -> str:
        """The token of the invitation link in the body."""
        m = re.search(r"/admin/accept\?token=([A-Za-z0-9_\-]+)", self.body)
        assert m, f"no invitation link in {self.body!r}"
        return m.group(1)


class MailSink:
    """aiosmtpd handler that stores every message it is given."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: list[ReceivedMail] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        """Keep the message (aiosmtpd calls this for every DATA command)."""
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        with self._lock:
            self._messages.append(
                ReceivedMail(
                    mail_from=envelope.mail_from, rcpt_tos=list(envelope.rcpt_tos), message=msg
                )
            )
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[ReceivedMail]:
        """Everything received so far, oldest first."""
        with self._lock:
            return list(self._messages)

    def to(self, address: str) -> list[ReceivedMail]:
        """Messages whose envelope recipients include ``address``."""
        return [m for m in self.messages if address in m.rcpt_tos]

    def last_to(self, address: str) -> ReceivedMail:
        """The newest message to ``address`` (fails the test if there is none)."""
        got = self.to(address)
        assert got, f"no mail to {address}; received {[m.rcpt_tos for m in self.messages]}"
        return got[-1]


@contextmanager
def smtp_pointed_at(port: int) -> Iterator[None]:
    """Point the mail settings at 127.0.0.1:``port`` for the block."""
    saved = {k: os.environ.get(k) for k in ("SMTP_HOST", "SMTP_PORT")}
    os.environ["SMTP_HOST"] = "127.0.0.1"
    os.environ["SMTP_PORT"] = str(port)
    get_settings.cache_clear()
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        get_settings.cache_clear()


@pytest.fixture
def smtp_sink() -> Iterator[MailSink]:
    """A running SMTP server; the services send their mail to it."""
    sink = MailSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        with smtp_pointed_at(controller.port):
            yield sink
    finally:
        controller.stop()


@pytest.fixture
def smtp_down() -> Iterator[None]:
    """SMTP configured, but nothing listens: every send fails."""
    with smtp_pointed_at(free_port()):
        yield
