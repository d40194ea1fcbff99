"""Twilio, with signatures from `twilio.request_validator.RequestValidator` and the example
in Twilio's webhook security docs (token 12345, signature RSOYDt4T1cUTdK1PDd93/VVr8B8=)."""

from __future__ import annotations

import hashlib
import json
from urllib.parse import urlencode

from starlette.datastructures import ImmutableMultiDict
from twilio.request_validator import RequestValidator

from tests.verifiers.support import rejected, request
from webhook_gateway.config.ids import extract_id
from webhook_gateway.contracts.secrets import SecretSource
from webhook_gateway.inbound.body import parse_body
from webhook_gateway.verifiers.base import SignedRequest
from webhook_gateway.verifiers.twilio import TwilioConfig, TwilioVerifier

TOKEN = "12345"
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675309",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
}
DOC_SIGNATURE = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
FORM = {"content-type": "application/x-www-form-urlencoded"}
VALIDATOR = RequestValidator(TOKEN)
TWILIO = TwilioVerifier([TOKEN.encode()])


def form_request(signature: str, params: dict[str, str] = PARAMS, url: str = URL) -> SignedRequest:
    return request({**FORM, "X-Twilio-Signature": signature}, urlencode(params).encode(), url=url)


def test_twilios_documented_example_is_accepted() -> None:
    assert VALIDATOR.validate(URL, PARAMS, DOC_SIGNATURE)
    TWILIO.verify(form_request(DOC_SIGNATURE))


def test_repeated_form_parameters_are_signed_sorted_as_twilios_validator_does() -> None:
    pairs = [("To", "+1800"), ("Media", "b"), ("Media", "a"), ("MessageSid", "SM1")]
    signature = VALIDATOR.compute_signature(URL, ImmutableMultiDict(pairs))
    req = request({**FORM, "X-Twilio-Signature": signature}, urlencode(pairs).encode(), url=URL)
    TWILIO.verify(req)


def test_url_with_explicit_default_port_matches_a_signature_made_without_it() -> None:
    TWILIO.verify(form_request(DOC_SIGNATURE, url=URL.replace(".com/", ".com:443/")))


def test_json_body_is_covered_by_the_body_sha256_query_parameter() -> None:
    body = json.dumps({"property": "value", "boolean": True}).encode()
    url = f"{URL}&bodySHA256={hashlib.sha256(body).hexdigest()}"
    signature = VALIDATOR.compute_signature(url, {})
    assert VALIDATOR.validate(url, body.decode(), signature)
    headers = {"content-type": "application/json", "X-Twilio-Signature": signature}
    TWILIO.verify(request(headers, body, url=url))


def test_json_body_not_matching_body_sha256_is_bad_body_hash() -> None:
    body = b'{"property": "value"}'
    url = f"{URL}&bodySHA256={hashlib.sha256(body).hexdigest()}"
    signature = VALIDATOR.compute_signature(url, {})
    headers = {"content-type": "application/json", "X-Twilio-Signature": signature}
    failure = rejected(TWILIO, request(headers, b'{"property": "forged"}', url=url))
    assert failure.reason == "bad-body-hash"


def test_json_body_without_body_sha256_is_unsigned_body() -> None:
    signature = VALIDATOR.compute_signature(URL, {})
    headers = {"content-type": "application/json", "X-Twilio-Signature": signature}
    assert rejected(TWILIO, request(headers, b'{"a": 1}', url=URL)).reason == "unsigned-body"


def test_public_url_replaces_what_the_gateway_saw_behind_a_proxy() -> None:
    inside = "http://10.0.0.7:8000/webhooks/sms?x=1"
    signature = VALIDATOR.compute_signature("https://hooks.example.com/webhooks/sms?x=1", PARAMS)
    proxied = TwilioVerifier([TOKEN.encode()], public_url="https://hooks.example.com/")
    proxied.verify(form_request(signature, url=inside))
    assert rejected(TWILIO, form_request(signature, url=inside)).reason == "bad-signature"


def test_hmac_sha256_named_in_the_settings_header_is_honoured() -> None:
    signature = VALIDATOR.compute_signature(URL, PARAMS, algorithm="HMAC_SHA256")
    settings = "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256"
    req = request(
        {**FORM, "X-Twilio-Signature": signature, "X-Twilio-Webhooks-Signature-Settings": settings},
        urlencode(PARAMS).encode(),
        url=URL,
    )
    TWILIO.verify(req)


def test_unknown_algorithm_in_the_settings_header_is_malformed_header() -> None:
    req = request(
        {
            **FORM,
            "X-Twilio-Signature": DOC_SIGNATURE,
            "X-Twilio-Webhooks-Signature-Settings": "algorithm=HMAC_MD5",
        },
        urlencode(PARAMS).encode(),
        url=URL,
    )
    assert rejected(TWILIO, req).reason == "malformed-header"


def test_missing_signature_is_missing_header() -> None:
    req = request(FORM, urlencode(PARAMS).encode(), url=URL)
    assert rejected(TWILIO, req).reason == "missing-header"


def test_signature_that_is_not_base64_is_malformed_header() -> None:
    assert rejected(TWILIO, form_request("not base64!")).reason == "malformed-header"


def test_changed_parameter_is_bad_signature() -> None:
    changed = {**PARAMS, "Digits": "9999"}
    failure = rejected(TWILIO, form_request(DOC_SIGNATURE, params=changed))
    assert failure.reason == "bad-signature"
    assert not VALIDATOR.validate(URL, changed, DOC_SIGNATURE)


def test_wrong_auth_token_is_bad_signature() -> None:
    other = TwilioVerifier([b"54321"])
    assert rejected(other, form_request(DOC_SIGNATURE)).reason == "bad-signature"


def test_default_delivery_id_is_message_sid_or_call_sid_of_the_parsed_form() -> None:
    rule = TwilioConfig(type="twilio", secret=SecretSource(env="UNUSED")).default_delivery_id()
    cases = [({"MessageSid": "SM1", "To": "x"}, "SM1"), (PARAMS, "CA1234567890ABCDE")]
    for params, expected in cases:
        form, _ = parse_body("application/x-www-form-urlencoded", urlencode(params).encode())
        found = extract_id(rule, what="delivery id", headers={}, path_params={}, body=form)
        assert found == expected
