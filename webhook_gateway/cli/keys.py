"""`hooktide keys new [ID]`: a fresh AES-256 payload key entry for HOOKTIDE_PAYLOAD_KEYS.

Rotation: put the new entry *first* (it encrypts from then on), keep the old ones after it
(they still decrypt), and drop an old key once no open workflow has payloads under it.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from webhook_gateway.contracts.codec import new_key


def add_parser(sub: Any) -> None:
    keys = sub.add_parser("keys", help="payload encryption keys (HOOKTIDE_PAYLOAD_KEYS)")
    actions = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    new = actions.add_parser(
        "new",
        help="print a new 'ID:BASE64' key entry (default id: k-YYYYMMDD)",
        description="Print a new AES-256 key as an HOOKTIDE_PAYLOAD_KEYS entry. Put it first "
        "to rotate; keep the old entries after it until no open workflow needs them.",
    )
    new.add_argument("id", nargs="?", help="the key's id (letters, digits, . _ -)")
    new.set_defaults(func=run_new)


def run_new(args: argparse.Namespace) -> int:
    key_id = args.id or datetime.now(UTC).strftime("k-%Y%m%d")
    print(new_key(key_id))
    return 0
