"""Approval links: signed over workflow id, nonce and expiry; refused when changed or late."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from webhook_gateway.approval_tokens import (
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
