"""The AES-256-GCM payload codec: what it writes, what it refuses, and how it names keys."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload

from webhook_gateway.config.payload_keys import payload_keys
from webhook_gateway.config.settings import Settings
from webhook_gateway.contracts.codec import (
    COMPRESSION,
    ENCODING,
    KEY_ID,
    EncryptionCodec,
    PayloadKey,
    PayloadKeyError,
    data_converter,
    new_key,
    parse_keys,
)
from webhook_gateway.contracts.errors import ConfigError

A = PayloadKey("a", os.urandom(32))
B = PayloadKey("b", os.urandom(32))


def json_payload(text: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=text.encode())


async def test_round_trip_with_a_fresh_nonce_and_the_key_id_recorded() -> None:
    codec = EncryptionCodec([A])
    original = json_payload('{"email": "ada@example.com"}')
    [one] = await codec.encode([original])
    [two] = await codec.encode([original])
    assert one.metadata["encoding"] == ENCODING
    assert one.metadata[KEY_ID] == b"a"
    assert b"ada@example.com" not in one.data
    assert one.data[:12] != two.data[:12]  # a fresh random nonce per payload
    assert await codec.decode([one]) == [original]


async def test_large_payloads_are_compressed_before_encryption() -> None:
    codec = EncryptionCodec([A])
    big = json_payload('{"lines": "' + "x" * 50_000 + '"}')
    [sealed] = await codec.encode([big])
    assert sealed.metadata[COMPRESSION] == b"zlib"
    assert len(sealed.data) < 1_000
    assert await codec.decode([sealed]) == [big]
    [small] = await codec.encode([json_payload("{}")])
    assert COMPRESSION not in small.metadata


async def test_rotation_the_first_key_encrypts_every_key_decrypts() -> None:
    [under_a] = await EncryptionCodec([A]).encode([json_payload('"old"')])
    rotated = EncryptionCodec([B, A])
    [under_b] = await rotated.encode([json_payload('"new"')])
    assert under_b.metadata[KEY_ID] == b"b"
    assert [p.data for p in await rotated.decode([under_a, under_b])] == [b'"old"', b'"new"']


async def test_plaintext_from_before_the_codec_passes_through() -> None:
    plain = json_payload('{"recorded": "before"}')
    assert await EncryptionCodec([A]).decode([plain]) == [plain]


async def test_unknown_key_and_corruption_name_the_key_id_never_the_key() -> None:
    [sealed] = await EncryptionCodec([A]).encode([json_payload('"x"')])
    with pytest.raises(PayloadKeyError) as unknown:
        await EncryptionCodec([B]).decode([sealed])
    assert "key id 'a', which is not among the configured keys (b)" in str(unknown.value)
    assert base64.b64encode(A.key).decode() not in str(unknown.value)
    broken = Payload(metadata=dict(sealed.metadata), data=sealed.data[:-1] + b"\x00")
    with pytest.raises(PayloadKeyError, match="key id 'a' does not decrypt: it is corrupted"):
        await EncryptionCodec([A]).decode([broken])
    impostor = PayloadKey("a", os.urandom(32))  # another key under the same id
    with pytest.raises(PayloadKeyError, match="does not decrypt"):
        await EncryptionCodec([impostor]).decode([sealed])
    relabelled = Payload(metadata={**sealed.metadata, KEY_ID: b"b"}, data=sealed.data)
    with pytest.raises(PayloadKeyError, match="does not decrypt"):  # the id is bound (AAD)
        await EncryptionCodec([A, PayloadKey("b", A.key)]).decode([relabelled])


def test_keys_are_parsed_and_checked_without_echoing_them() -> None:
    entry = new_key("k1")
    assert [k.id for k in parse_keys(f"{entry}, {new_key('k0')}")] == ["k1", "k0"]
    assert [k.id for k in parse_keys(f"# rotated 2026-12\n{entry}\n")] == ["k1"]
    short = "k2:" + base64.b64encode(b"x" * 16).decode()
    with pytest.raises(PayloadKeyError, match="key 'k2' is 16 bytes; AES-256 needs 32"):
        parse_keys(short)
    with pytest.raises(PayloadKeyError, match="key 'k3' is not valid base64"):
        parse_keys("k3:not base64!")
    with pytest.raises(PayloadKeyError, match="entry 1 must be 'ID:BASE64KEY'"):
        parse_keys(base64.b64encode(os.urandom(32)).decode())
    with pytest.raises(PayloadKeyError, match="listed twice"):
        parse_keys(f"{entry},{entry}")


def test_settings_read_keys_from_the_variable_or_a_file(tmp_path: Path) -> None:
    assert payload_keys(Settings()) is None
    entry = new_key("env-key")
    assert [k.id for k in payload_keys(Settings(HOOKTIDE_PAYLOAD_KEYS=entry)) or []] == ["env-key"]
    file = tmp_path / "keys"
    file.write_text(new_key("file-key") + "\n")
    keys = payload_keys(Settings(HOOKTIDE_PAYLOAD_KEYS_FILE=str(file)))
    assert [k.id for k in keys or []] == ["file-key"]
    with pytest.raises(ConfigError, match="not both"):
        payload_keys(Settings(HOOKTIDE_PAYLOAD_KEYS=entry, HOOKTIDE_PAYLOAD_KEYS_FILE=str(file)))
    with pytest.raises(ConfigError, match="cannot be read"):
        payload_keys(Settings(HOOKTIDE_PAYLOAD_KEYS_FILE=str(file) + ".missing"))


def test_the_converter_is_plain_without_keys_and_encrypts_failures_on_request() -> None:
    from temporalio.contrib.pydantic import pydantic_data_converter

    assert data_converter(None) is pydantic_data_converter
    sealed = data_converter([A], encrypt_failures=True)
    assert isinstance(sealed.payload_codec, EncryptionCodec)
    assert sealed.failure_converter_class.__name__ == "DefaultFailureConverterWithEncodedAttributes"


def test_hooktide_keys_new_prints_an_entry_the_settings_accept(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from webhook_gateway.cli.main import main

    assert main(["keys", "new", "rotated-2"]) == 0
    entry = capsys.readouterr().out.strip()
    [key] = payload_keys(Settings(HOOKTIDE_PAYLOAD_KEYS=entry)) or []
    assert key.id == "rotated-2" and len(key.key) == 32
    assert main(["keys", "new"]) == 0
    assert capsys.readouterr().out.startswith("k-")
