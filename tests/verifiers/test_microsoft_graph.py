"""Microsoft Graph change notifications, with the documented notification and validation
request from "Receive change notifications through webhooks":
https://learn.microsoft.com/en-us/graph/change-notifications-delivery-webhooks"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote_plus

import pytest
from pydantic import TypeAdapter

from tests.verifiers.support import rejected, request
from webhook_gateway.contracts.errors import ConfigError
from webhook_gateway.errors import RequestRejected
from webhook_gateway.verifiers import Handshake, VerifierConfig
from webhook_gateway.verifiers.microsoft_graph import MicrosoftGraphConfig, MicrosoftGraphVerifier

DOC_CLIENT_STATE = "secretClientValue"
# The documented change notification (Microsoft's "Change notification example").
DOC_NOTIFICATION = b"""{
  "value": [
    {
      "id": "lsgTZMr9KwAAA",
      "subscriptionId":"{subscription_guid}",
      "subscriptionExpirationDateTime":"2016-03-19T22:11:09.952Z",
      "clientState":"secretClientValue",
      "changeType":"created",
      "resource":"users/{user_guid}@{tenant_guid}/messages/{long_id_string}",
      "tenantId": "84bd8158-6d4d-4958-8b9f-9d6445542f95",
      "resourceData":
      {
        "@odata.type":"#Microsoft.Graph.Message",
        "@odata.id":"Users/{user_guid}@{tenant_guid}/Messages/{long_id_string}",
        "@odata.etag":"W/\\"CQAAABYAAADkrWGo7bouTKlsgTZMr9KwAAAUWRHf\\"",
        "id":"{long_id_string}"
      }
    }
  ]
}"""
# The documented validation request:
#   Content-Type: text/plain; charset=utf-8
#   POST https://{notificationUrl}?validationToken={opaqueTokenCreatedByMicrosoftGraph}
DOC_TOKEN = "{opaqueTokenCreatedByMicrosoftGraph}"
# The text Graph's validation tokens carry, from Microsoft's Event Hubs delivery doc
# (https://learn.microsoft.com/en-us/graph/change-notifications-delivery-event-hubs).
REAL_TOKEN = (
    "Validation: Testing client application reachability for subscription "
    "Request-Id: 522a8e7e-096a-494c-aaf1-ac0dcfca45b7"
)
URL = "https://hooks.example.com/webhooks/graph"
TEXT = {"Content-Type": "text/plain; charset=utf-8"}

GRAPH = MicrosoftGraphVerifier([DOC_CLIENT_STATE.encode()])


def notification(*states: Any) -> bytes:
    items = [{"changeType": "updated", "resource": "r", "clientState": s} for s in states]
    return json.dumps({"value": items}).encode()


def validation(token: str) -> str:
    return f"{URL}?validationToken={quote_plus(token)}"


def config() -> MicrosoftGraphConfig:
    parsed = TypeAdapter(VerifierConfig).validate_python(
        {"type": "microsoft_graph", "client_state": {"env": "TEST_GRAPH_CLIENT_STATE"}}
    )
    assert isinstance(parsed, MicrosoftGraphConfig)
    return parsed


def test_documented_notification_with_its_client_state_is_accepted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TEST_GRAPH_CLIENT_STATE", DOC_CLIENT_STATE)
    config().build("graph").verify(request({"Content-Type": "application/json"}, DOC_NOTIFICATION))


def test_batch_from_several_subscriptions_is_accepted_when_each_state_is_known() -> None:
    rotating = MicrosoftGraphVerifier([b"another-client-state-0001", DOC_CLIENT_STATE.encode()])
    rotating.verify(request({}, notification(DOC_CLIENT_STATE, "another-client-state-0001")))


def test_wrong_client_state_is_bad_signature_without_echoing_either() -> None:
    failure = rejected(GRAPH, request({}, notification("SecretClientState")))
    assert failure.reason == "bad-signature"
    assert DOC_CLIENT_STATE not in failure.detail
    assert "SecretClientState" not in failure.detail


def test_one_unknown_client_state_in_a_batch_refuses_the_batch() -> None:
    body = notification(DOC_CLIENT_STATE, "someone-elses-state-0000")
    assert rejected(GRAPH, request({}, body)).reason == "bad-signature"


def test_client_state_that_is_not_valid_unicode_is_bad_signature_not_a_500() -> None:
    body = b'{"value": [{"clientState": "\\ud800secretClientValue"}]}'
    assert rejected(GRAPH, request({}, body)).reason == "bad-signature"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b'"secretClientValue"',
        b'{"clientState": "secretClientValue"}',  # no value list
        b'{"value": []}',
        b'{"value": {"clientState": "secretClientValue"}}',
        b'{"value": ["secretClientValue"]}',
        b'{"value": [{"clientState": "secretClientValue"}, 1]}',
        notification(None),
        notification(""),
        notification(12345),
        notification(["secretClientValue"]),
        b'{"value": [{"changeType": "created"}]}',
        b"[" * 100_000,
        b'{"value": [{"clientState": "secretClientValue", "pad": "' + b"x" * 1_048_576 + b'"}]}',
    ],
)
def test_body_not_a_list_of_notifications_with_client_state_is_malformed(body: bytes) -> None:
    failure = rejected(GRAPH, request({}, body))
    assert failure.reason == "malformed-body"
    assert DOC_CLIENT_STATE not in failure.detail


def test_documented_validation_request_is_answered_with_the_decoded_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TEST_GRAPH_CLIENT_STATE", DOC_CLIENT_STATE)
    verifier = config().build("graph")
    assert isinstance(verifier, Handshake)
    response = verifier.handshake(request(TEXT, url=validation(DOC_TOKEN)))
    assert response is not None
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert bytes(response.body) == DOC_TOKEN.encode()


@pytest.mark.parametrize(
    "query",
    [
        quote_plus(REAL_TOKEN),  # spaces as '+', as Graph sends them
        REAL_TOKEN.replace(":", "%3a").replace(" ", "%20"),
    ],
)
def test_validation_token_is_echoed_url_decoded(query: str) -> None:
    response = GRAPH.handshake(request({}, url=f"{URL}?validationToken={query}"))
    assert response is not None
    assert bytes(response.body) == REAL_TOKEN.encode()


def test_validation_token_is_found_among_the_notification_urls_own_parameters() -> None:
    url = f"{URL}?tenant=contoso&validationToken={quote_plus(REAL_TOKEN)}"
    response = GRAPH.handshake(request(TEXT, url=url))
    assert response is not None and bytes(response.body) == REAL_TOKEN.encode()


def test_validation_token_of_1024_characters_is_echoed() -> None:
    response = GRAPH.handshake(request({}, url=validation("v" * 1024)))
    assert response is not None and bytes(response.body) == b"v" * 1024


@pytest.mark.parametrize("token", ["v" * 1025, "", "line\nbreak", "nul\x00", "tab\there"])
def test_validation_token_too_long_empty_or_not_printable_is_bad_request(token: str) -> None:
    with pytest.raises(RequestRejected) as info:
        GRAPH.handshake(request({}, url=validation(token)))
    assert info.value.status == 400


def test_validation_token_sent_twice_is_bad_request() -> None:
    with pytest.raises(RequestRejected):
        GRAPH.handshake(request({}, url=validation("a") + "&validationToken=b"))


@pytest.mark.parametrize(
    ("url", "method"),
    [
        (URL, "POST"),  # a notification
        (f"{URL}?tenant=contoso", "POST"),
        (validation(REAL_TOKEN), "GET"),
        (validation(REAL_TOKEN), "PUT"),
    ],
)
def test_requests_other_than_the_validation_post_get_no_handshake(url: str, method: str) -> None:
    assert GRAPH.handshake(request({}, DOC_NOTIFICATION, url=url, method=method)) is None


def test_nothing_is_signed_so_a_route_names_its_delivery_id() -> None:
    cfg = config()
    assert cfg.signed_parts == frozenset()
    assert cfg.default_delivery_id() is None
    assert MicrosoftGraphVerifier.secret_headers == frozenset()
    event_type = cfg.default_event_type()
    assert event_type.read(headers={}, body=json.loads(DOC_NOTIFICATION)) == "created"


def test_short_client_state_refuses_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_GRAPH_CLIENT_STATE", "too-short")
    with pytest.raises(ConfigError, match=r"Route 'graph'.*TEST_GRAPH_CLIENT_STATE.*9 characters"):
        config().build("graph")
