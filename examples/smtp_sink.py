"""A local SMTP server (aiosmtpd) that keeps every message as a file and prints one line each.

    python -m examples.smtp_sink --port 8025 --dir .hooktide/mail

Files are `<time>-<hash of Message-ID>.eml`; a message whose Message-ID was already stored
(an activity retried after the first send went through) is acknowledged and not stored again.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import signal
import uuid
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from examples.peers import log


class MailSink:
    """aiosmtpd handler: one `.eml` file per distinct Message-ID."""

    def __init__(self, directory: Path, *, echo: bool = True) -> None:
        self.directory = directory
        self.echo = echo
        directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.content if isinstance(envelope.content, bytes) else b""
        message = message_from_bytes(raw, policy=policy.default)
        message_id = str(message.get("Message-ID") or uuid.uuid4())
        digest = hashlib.sha256(message_id.encode()).hexdigest()[:16]
        if any(self.directory.glob(f"*-{digest}.eml")):
            if self.echo:
                log("mail", f"duplicate {message_id} not stored again")
            return "250 OK (duplicate Message-ID, already stored)"
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        path = self.directory / f"{stamp}-{digest}.eml"
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(raw.replace(b"\r\n", b"\n"))  # local line ends: grep, cat
        tmp.replace(path)
        if self.echo:
            to = ",".join(str(r) for r in envelope.rcpt_tos)
            log("mail", f"to={to} subject={message.get('Subject')!r} -> {path}")
        return "250 Message accepted for delivery"


def read_mail(directory: Path) -> list[Any]:
    """Every stored message, oldest first (`email.message.EmailMessage`s)."""
    return [
        message_from_bytes(path.read_bytes(), policy=policy.default)
        for path in sorted(directory.glob("*.eml"))
    ]


async def serve(directory: Path, host: str, port: int, *, echo: bool = True) -> asyncio.Server:
    handler = MailSink(directory, echo=echo)
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: SMTP(handler, hostname="hooktide.localhost"), host=host, port=port
    )


async def _main(directory: Path, host: str, port: int) -> None:
    server = await serve(directory, host, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log("mail", f"SMTP sink on {host}:{port}, messages in {directory}")
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--dir", type=Path, default=Path(".hooktide/mail"))
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(args.dir, args.host, args.port))


if __name__ == "__main__":
    main()
