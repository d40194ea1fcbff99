"""Sending email over SMTP (`aiosmtplib`), configured by HOOKTIDE_SMTP_* variables.

Locally `hooktide run` points it at the example's SMTP sink (`examples/smtp_sink.py`); set
HOOKTIDE_SMTP_HOST, _PORT, _STARTTLS, _USERNAME and _PASSWORD for a real server.

An activity may be retried after the server took a message, and SMTP has no idempotency
key: every message carries a Message-ID derived from its workflow step, the same on every
attempt, so receivers (the sink included) can drop the repeat.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib
from temporalio.exceptions import ApplicationError

from activities.settings import MailSettings

MESSAGE_NAMESPACE = uuid.UUID("5d0c7f3e-2b8a-5e61-9c4d-7a1e3f6b2c90")
SMTP_TIMEOUT = 20.0
EMAIL_NOT_CONFIGURED = "EmailNotConfigured"
EMAIL_REJECTED = "EmailRejected"


def message_id_for(key: str) -> str:
    return f"<{uuid.uuid5(MESSAGE_NAMESPACE, key).hex}@hooktide>"


def build_message(
    settings: MailSettings,
    *,
    to: Sequence[str],
    subject: str,
    text: str,
    key: str,
    cc: Sequence[str] = (),
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = ", ".join(to)
    if cc:
        message["Cc"] = ", ".join(cc)
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id_for(key)
    # Not quoted-printable: links stay whole in the raw message (grep-able, copy-able).
    message.set_content(text, cte="7bit" if text.isascii() else "8bit")
    return message


async def send_message(settings: MailSettings, message: EmailMessage) -> None:
    """Send one message; SMTP trouble becomes a typed `ApplicationError` (permanent 5xx
    answers are not retried, everything else is)."""
    if not settings.smtp_host:
        raise ApplicationError(
            "HOOKTIDE_SMTP_HOST is not set: no mail server to send to.",
            type=EMAIL_NOT_CONFIGURED,
            non_retryable=True,
        )
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    try:
        await aiosmtplib.send(
            message,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            start_tls=settings.smtp_starttls,
            username=settings.smtp_username,
            password=password,
            timeout=SMTP_TIMEOUT,
        )
    except aiosmtplib.SMTPResponseException as exc:
        permanent = 500 <= exc.code < 600
        raise ApplicationError(
            f"SMTP server {settings.smtp_host}:{settings.smtp_port} answered {exc.code}",
            type=EMAIL_REJECTED if permanent else "EmailDeferred",
            non_retryable=permanent,
        ) from None
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise ApplicationError(
            f"SMTP server {settings.smtp_host}:{settings.smtp_port} unreachable "
            f"({type(exc).__name__})",
            type="EmailUnavailable",
        ) from None
