"""Body parsing: every malformed body is a precise 400, never an exception."""

from __future__ import annotations

import pytest

from webhook_gateway.errors import MalformedBody, UnsupportedMediaType
from webhook_gateway.inbound.body import check_media_type, parse_body


def test_json_is_parsed() -> None:
    assert parse_body("application/json", b'{"a": [1, 2]}') == ({"a": [1, 2]}, None)


def test_vendor_json_types_are_parsed() -> None:
    assert parse_body("application/cloudevents+json", b"{}") == ({}, None)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b'{"a": ', "not valid JSON"),
        (b"\xff\xfe{}", "not valid UTF-8"),
        (b'{"a": NaN}', "NaN is not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
)
def test_malformed_json_says_what_is_wrong(body: bytes, words: str) -> None:
    with pytest.raises(MalformedBody, match=words):
        parse_body("application/json", body)


def test_form_body_becomes_a_dict_with_repeated_keys_as_lists() -> None:
    parsed, raw = parse_body("application/x-www-form-urlencoded", b"a=1&b=2&a=3&c=")
    assert parsed == {"a": ["1", "3"], "b": "2", "c": ""}
    assert raw is None


def test_other_types_are_kept_raw() -> None:
    assert parse_body("application/octet-stream", b"\x00\x01") == (None, b"\x00\x01")


def test_media_type_ignores_parameters_and_case() -> None:
    accepted = ["application/json"]
    assert check_media_type("Application/JSON; charset=utf-8", accepted) == "application/json"


def test_missing_content_type_is_415_naming_the_accepted_ones() -> None:
    with pytest.raises(UnsupportedMediaType, match=r"'\(none\)'.*application/json"):
        check_media_type(None, ["application/json"])
