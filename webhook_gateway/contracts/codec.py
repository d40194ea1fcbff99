"""Payload encryption at rest: an AES-256-GCM payload codec for everything that talks to
Temporal (gateway, worker, CLI, testing kit), so the server only ever stores ciphertext.

Each encrypted payload is a `Payload` whose `data` is `nonce (12 bytes) || AES-GCM(key,
original Payload bytes)` and whose metadata names `encoding: binary/encrypted`, the key id
(`encryption-key-id`, also bound as associated data) and whether the original was
zlib-compressed first (`hooktide-compression: zlib`, for payloads over
`compress_over` bytes). The first key encrypts; every key decrypts: rotate by putting a new
key first, and drop the old one once no open workflow needs it. A payload that is not
encrypted (recorded before the codec was on) passes through as it is.

Keys are `id:base64` (32 bytes decoded), comma- or line-separated, from HOOKTIDE_PAYLOAD_KEYS
or the file HOOKTIDE_PAYLOAD_KEYS_FILE — never the route file. Errors name the key id, never
key material.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
COMPRESSION = "hooktide-compression"
NONCE_BYTES = 12
KEY_BYTES = 32
#: Payloads larger than this are compressed before encryption (webhook bodies are JSON).
COMPRESS_OVER = 4096
_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class PayloadKeyError(ValueError):
    """A payload cannot be decrypted (or keys cannot be read); the message names the key id
    and what to do, never key material."""


@dataclass(frozen=True)
class PayloadKey:
    id: str
    key: bytes = dataclasses.field(repr=False)


def parse_keys(text: str, *, source: str = "HOOKTIDE_PAYLOAD_KEYS") -> list[PayloadKey]:
    """`id:base64key` entries, separated by commas or new lines; the first encrypts."""
    keys: list[PayloadKey] = []
    for number, entry in enumerate(re.split(r"[,\n]", text), start=1):
        entry = entry.strip()
        if not entry or entry.startswith("#"):
            continue
        key_id, sep, encoded = entry.partition(":")
        key_id = key_id.strip()
        if not sep or not _ID.match(key_id):
            raise PayloadKeyError(
                f"{source}: entry {number} must be 'ID:BASE64KEY' with an id of letters, digits, "
                "'.', '_' or '-' (generate one with: hooktide keys new)"
            )
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise PayloadKeyError(f"{source}: key '{key_id}' is not valid base64") from None
        if len(key) != KEY_BYTES:
            raise PayloadKeyError(
                f"{source}: key '{key_id}' is {len(key)} bytes; AES-256 needs {KEY_BYTES} "
                "(base64 of 32 random bytes)"
            )
        if any(k.id == key_id for k in keys):
            raise PayloadKeyError(f"{source}: key id '{key_id}' is listed twice")
        keys.append(PayloadKey(key_id, key))
    return keys


def new_key(key_id: str) -> str:
    """A fresh `id:base64` entry for HOOKTIDE_PAYLOAD_KEYS."""
    if not _ID.match(key_id):
        raise PayloadKeyError("a key id is 1 to 64 letters, digits, '.', '_' or '-'")
    return f"{key_id}:{base64.b64encode(os.urandom(KEY_BYTES)).decode()}"


class EncryptionCodec(PayloadCodec):
    def __init__(self, keys: Sequence[PayloadKey], *, compress_over: int = COMPRESS_OVER) -> None:
        if not keys:
            raise PayloadKeyError("the payload codec needs at least one key")
        self._encrypting = keys[0]
        self._ciphers = {k.id: AESGCM(k.key) for k in keys}
        self._compress_over = compress_over

    @property
    def key_id(self) -> str:
        return self._encrypting.id

    @property
    def key_ids(self) -> list[str]:
        return list(self._ciphers)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(p) for p in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        plain = payload.SerializeToString()
        metadata = {"encoding": ENCODING, KEY_ID: self.key_id.encode()}
        if len(plain) > self._compress_over:
            plain = zlib.compress(plain, 6)
            metadata[COMPRESSION] = b"zlib"
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self.key_id].encrypt(nonce, plain, self.key_id.encode())
        return Payload(metadata=metadata, data=nonce + sealed)

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # plaintext from before the codec, or never encrypted
        key_id = payload.metadata.get(KEY_ID, b"").decode("utf-8", "replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise PayloadKeyError(
                f"A payload is encrypted under key id '{key_id}', which is not among the "
                f"configured keys ({', '.join(self.key_ids)}); add that key back to "
                "HOOKTIDE_PAYLOAD_KEYS (after the others) until no open workflow needs it."
            )
        data = payload.data
        try:
            plain = cipher.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], key_id.encode())
        except InvalidTag:
            raise PayloadKeyError(
                f"A payload under key id '{key_id}' does not decrypt: it is corrupted, or the "
                f"key configured as '{key_id}' is not the one it was encrypted with."
            ) from None
        if payload.metadata.get(COMPRESSION) == b"zlib":
            plain = zlib.decompress(plain)
        return Payload.FromString(plain)


def data_converter(
    keys: Sequence[PayloadKey] | None, *, encrypt_failures: bool = False
) -> DataConverter:
    """Hooktide's data converter (pydantic JSON), with the codec when keys are given;
    `encrypt_failures` moves failure messages and stack traces into encrypted attributes."""
    if not keys:
        return pydantic_data_converter
    converter = dataclasses.replace(pydantic_data_converter, payload_codec=EncryptionCodec(keys))
    if encrypt_failures:
        converter = dataclasses.replace(
            converter, failure_converter_class=DefaultFailureConverterWithEncodedAttributes
        )
    return converter
