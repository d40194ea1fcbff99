"""What activities need to know of the deployment, as read-only Protocols.

The worker builds each activity class once with its `Settings` (which satisfies all of
these), so no activity reads the environment or the route file per call, and activities
depend on no gateway code but the contracts.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from pydantic import SecretStr


class MailSettings(Protocol):
    @property
    def smtp_host(self) -> str | None: ...
    @property
    def smtp_port(self) -> int: ...
    @property
    def smtp_starttls(self) -> bool: ...
    @property
    def smtp_username(self) -> str | None: ...
    @property
    def smtp_password(self) -> SecretStr | None: ...
    @property
    def mail_from(self) -> str: ...


class OpsSettings(MailSettings, Protocol):
    @property
    def ops_email(self) -> str | None: ...
    @property
    def ui_url(self) -> str: ...


class OrderSettings(OpsSettings, Protocol):
    @property
    def inventory_url(self) -> str | None: ...
    @property
    def crm_url(self) -> str | None: ...
    @property
    def order_events(self) -> bool: ...
    @property
    def approval_threshold(self) -> Decimal: ...
    @property
    def approval_secret(self) -> SecretStr | None: ...
    @property
    def approver_email(self) -> str | None: ...
    @property
    def gateway_url(self) -> str: ...
