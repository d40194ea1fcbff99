"""Approval links: signed over workflow id, nonce and expiry; refused when changed or late."""

from __future__ import annotations

import base64
import random
import string
from datetime import UTC, datetime, timedelta

import pytest

from webhook_gateway.contracts.approval_tokens import (
    ExpiredToken,
    MalformedToken,
    TamperedToken,
    make_token,
    read_token,
)

SECRET = "approval-secret-for-tokens"
LATER = datetime(2030, 1, 1, tzinfo=UTC)
NOW = LATER - timedelta(hours=1)
NONCE = "0b8e5f2a-1c2d-4e3f-8a9b-0c1d2e3f4a5b"


def test_token_round_trip_names_the_workflow_nonce_and_expiry() -> None:
    token = read_token(SECRET, make_token(SECRET, "order-d.1", NONCE, LATER), now=NOW)

    assert (token.workflow_id, token.nonce, token.expires_at) == ("order-d.1", NONCE, LATER)


def test_token_carries_a_mac_but_never_the_secret() -> None:
    token = make_token(SECRET, "order-1", NONCE, LATER)

    assert SECRET not in token
    assert token.startswith("v1.") and len(token.split(".")) == 5


@pytest.mark.parametrize("part", [1, 2, 3, 4], ids=["workflow", "nonce", "expiry", "mac"])
def test_changing_any_part_is_refused_as_tampered(part: int) -> None:
    pieces = make_token(SECRET, "order-1", NONCE, LATER).split(".")
    replacement = {
        1: make_token(SECRET, "order-2", NONCE, LATER).split(".")[1],
        2: NONCE.replace("0b8e", "0b8f"),
        3: str(int(LATER.timestamp()) + 3600),
        4: make_token("another-secret", "order-1", NONCE, LATER).split(".")[4],
    }[part]
    pieces[part] = replacement

    with pytest.raises(TamperedToken) as refused:
        read_token(SECRET, ".".join(pieces), now=NOW)
    assert refused.value.status == 403


def test_token_from_another_secret_is_tampered() -> None:
    with pytest.raises(TamperedToken):
        read_token(SECRET, make_token("not-ours", "order-1", NONCE, LATER), now=NOW)


def test_expired_token_is_refused_with_410() -> None:
    with pytest.raises(ExpiredToken) as refused:
        read_token(SECRET, make_token(SECRET, "order-1", NONCE, LATER), now=LATER)
    assert refused.value.status == 410


@pytest.mark.parametrize("text", ["", "v1", "v2.a.b.c.d", "v1.%%%.nonce.1.mac", "v1.b3JkZXI.n.x.m"])
def test_malformed_token_is_refused_with_400(text: str) -> None:
    with pytest.raises(MalformedToken) as refused:
        read_token(SECRET, text, now=NOW)
    assert refused.value.status == 400


def test_a_cut_short_link_is_malformed_not_a_crash() -> None:
    token = make_token(SECRET, "order-1", NONCE, LATER)

    for end in range(len(token)):
        with pytest.raises((MalformedToken, TamperedToken)):
            read_token(SECRET, token[:end], now=NOW)


B64URL = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"


def _decoded(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _same_bytes_spellings(part: str) -> list[str]:
    """Every other spelling of a base64url part whose last character differs only in the
    padding bits: each decodes to exactly the bytes of `part`."""
    raw = _decoded(part)
    return [
        spelling
        for c in B64URL
        if (spelling := part[:-1] + c) != part and _decoded(spelling) == raw
    ]


def test_a_mac_spelled_another_way_is_refused_as_tampered() -> None:
    rng = random.Random(20260101)
    refused = 0
    for _ in range(200):
        workflow_id = "order-" + "".join(rng.choices(B64URL, k=rng.randrange(1, 40)))
        pieces = make_token(SECRET, workflow_id, NONCE, LATER).split(".")
        spellings = _same_bytes_spellings(pieces[4])
        assert len(spellings) == 3  # 32 bytes: the last character carries 2 padding bits
        for mac in spellings:
            with pytest.raises(TamperedToken) as caught:
                read_token(SECRET, ".".join([*pieces[:4], mac]), now=NOW)
            assert caught.value.status == 403
            refused += 1

    assert refused == 600


def test_a_workflow_id_spelled_another_way_is_refused_as_tampered() -> None:
    rng = random.Random(20260102)
    tried = 0
    for _ in range(200):
        workflow_id = "order-" + "".join(rng.choices(B64URL, k=rng.randrange(1, 40)))
        pieces = make_token(SECRET, workflow_id, NONCE, LATER).split(".")
        for wid in _same_bytes_spellings(pieces[1]):
            with pytest.raises(TamperedToken):
                read_token(SECRET, ".".join([pieces[0], wid, *pieces[2:]]), now=NOW)
            tried += 1

    assert tried > 200


@pytest.mark.parametrize("expiry", ["0{}", "+{}", " {}", "{} ", "{}\n"])
def test_an_expiry_spelled_another_way_is_refused_as_tampered(expiry: str) -> None:
    pieces = make_token(SECRET, "order-1", NONCE, LATER).split(".")
    pieces[3] = expiry.format(pieces[3])

    with pytest.raises(TamperedToken):
        read_token(SECRET, ".".join(pieces), now=NOW)


def test_a_nonce_with_a_trailing_newline_is_malformed() -> None:
    pieces = make_token(SECRET, "order-1", NONCE, LATER).split(".")
    pieces[2] += "\n"

    with pytest.raises(MalformedToken):
        read_token(SECRET, ".".join(pieces), now=NOW)
