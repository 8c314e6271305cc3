"""A real SMTP server (aiosmtpd) on a free port of 127.0.0.1, and what it received."""

from __future__ import annotations

import email
import email.policy
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.servers import LOCALHOST, free_port

# The site that mails link to, in every mailer the email tests configure.
FRONTEND_URL = "https://handoff.example"


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    @property
    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None
        return str(part.get_content())

    @property
    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        assert part is not None
        return str(part.get_content())


class _Collector:
    def __init__(self) -> None:
        self.mails: list[ReceivedMail] = []
        self.changed = threading.Condition()

    async def handle_DATA(
        self, server: Any, session: Any, envelope: Any
    ) -> str:  # aiosmtpd hook name
        with self.changed:
            self.mails.append(
                ReceivedMail(
                    mail_from=envelope.mail_from,
                    rcpt_tos=list(envelope.rcpt_tos),
                    raw=bytes(envelope.original_content or envelope.content),
                )
            )
            self.changed.notify_all()
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    """A real SMTP server (aiosmtpd) on 127.0.0.1; `start` may come after mails failed."""

    port: int = field(default_factory=free_port)
    collector: _Collector = field(default_factory=_Collector)
    controller: Controller | None = None

    @property
    def mails(self) -> list[ReceivedMail]:
        with self.collector.changed:
            return list(self.collector.mails)

    def start(self) -> SmtpServer:
        self.controller = Controller(self.collector, hostname=LOCALHOST, port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def wait_for(self, count: int, *, timeout: float = 30) -> list[ReceivedMail]:
        deadline = time.monotonic() + timeout
        with self.collector.changed:
            while len(self.collector.mails) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"expected {count} mails, got {len(self.collector.mails)} in {timeout}s"
                    )
                self.collector.changed.wait(left)
            return list(self.collector.mails)

    def to(self, address: str) -> list[ReceivedMail]:
        return [m for m in self.mails if address in m.rcpt_tos]
