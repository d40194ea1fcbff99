"""`hooktide send`'s signers for zoom, meta and microsoft_graph: what `signed_headers` makes
is checked by the verifier the route's own config builds, as the gateway would."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.verifiers.support import rejected, request
from webhook_gateway.cli.sign import signed_headers
from webhook_gateway.config.routes import Route, parse_config
from webhook_gateway.contracts.errors import ConfigError

URL = "https://hooks.example.com/webhooks/test"
ENV = {
    "TEST_ZOOM_SECRET": "zoom-secret-token-0123456789",
    "TEST_META_SECRET": "meta-app-secret-0123456789",
    "TEST_META_VERIFY": "meta-verify-token-0123456789",
    "TEST_GRAPH_STATE": "graph-client-state-0123456789",
}
ZOOM_EVENT = json.dumps({"event": "meeting.started", "payload": {"object": {"id": "1"}}}).encode()
META_EVENT = json.dumps(
    {"object": "page", "entry": [{"id": "1", "changes": [{"field": "feed", "value": {}}]}]}
).encode()


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)


def route(verifier: dict[str, Any], **extra: Any) -> Route:
    entry = {"path": "/webhooks/test", "workflow": "W", "verifier": verifier, **extra}
    return parse_config({"routes": {"r": entry}}).route("r")


def zoom() -> Route:
    return route({"type": "zoom", "secret": {"env": "TEST_ZOOM_SECRET"}})


def meta() -> Route:
    return route(
        {
            "type": "meta",
            "secret": {"env": "TEST_META_SECRET"},
            "verify_token": {"env": "TEST_META_VERIFY"},
        }
    )


def graph(**extra: Any) -> Route:
    return route(
        {"type": "microsoft_graph", "client_state": {"env": "TEST_GRAPH_STATE"}},
        **({"delivery_id": {"body_sha256": True, "unsigned": True}} | extra),
    )


def notifications(*states: str | None) -> bytes:
    items = [
        {"changeType": "created", "resource": "r"} | ({} if s is None else {"clientState": s})
        for s in states
    ]
    return json.dumps({"value": items}).encode()


def sign(r: Route, body: bytes) -> dict[str, str]:
    return signed_headers(r, body, delivery_id="msg_1", url=URL, now=int(time.time()))


def test_zoom_headers_verify_with_the_routes_zoom_verifier() -> None:
    r = zoom()
    headers = sign(r, ZOOM_EVENT)

    assert set(headers) == {"x-zm-signature", "x-zm-request-timestamp"}
    r.verifier.build(r.name).verify(request(headers, ZOOM_EVENT, url=URL))


def test_zoom_headers_for_one_body_are_bad_signature_for_another() -> None:
    r = zoom()
    headers = sign(r, ZOOM_EVENT)

    failure = rejected(r.verifier.build(r.name), request(headers, ZOOM_EVENT + b" ", url=URL))
    assert failure.reason == "bad-signature"


def test_zoom_headers_made_with_another_secret_token_are_bad_signature(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    r = zoom()
    headers = sign(r, ZOOM_EVENT)
    monkeypatch.setenv("TEST_ZOOM_SECRET", "zoom-secret-token-rotated-9876")

    failure = rejected(r.verifier.build(r.name), request(headers, ZOOM_EVENT, url=URL))
    assert failure.reason == "bad-signature"


def test_a_signed_zoom_url_validation_is_answered_by_the_verifier() -> None:
    r = zoom()
    body = json.dumps(
        {"event": "endpoint.url_validation", "payload": {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"}}
    ).encode()
    verifier = r.verifier.build(r.name)
    signed = request(sign(r, body), body, url=URL)

    verifier.verify(signed)
    answer = verifier.respond(signed)
    assert answer is not None and answer.status_code == 200
    assert json.loads(answer.body)["plainToken"] == "qgg8vlvZRS6UYooatFL8Aw"


def test_meta_headers_verify_with_the_routes_meta_verifier() -> None:
    r = meta()
    headers = sign(r, META_EVENT)

    assert set(headers) == {"X-Hub-Signature-256"}
    r.verifier.build(r.name).verify(request(headers, META_EVENT, url=URL))


def test_meta_headers_made_with_another_app_secret_are_bad_signature(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    r = meta()
    headers = sign(r, META_EVENT)
    monkeypatch.setenv("TEST_META_SECRET", "another-app-secret-0123456789")

    failure = rejected(r.verifier.build(r.name), request(headers, META_EVENT, url=URL))
    assert failure.reason == "bad-signature"


def test_github_still_sends_its_delivery_header_beside_the_shared_signature() -> None:
    r = route({"type": "github", "secret": {"env": "TEST_META_SECRET"}})
    headers = sign(r, META_EVENT)

    assert headers["X-GitHub-Delivery"] == "msg_1"
    assert headers["X-Hub-Signature-256"] == sign(meta(), META_EVENT)["X-Hub-Signature-256"]
    r.verifier.build(r.name).verify(request(headers, META_EVENT, url=URL))


def test_graph_body_carrying_the_client_state_needs_no_headers_and_verifies() -> None:
    r = graph()
    body = notifications(ENV["TEST_GRAPH_STATE"], ENV["TEST_GRAPH_STATE"])

    headers = sign(r, body)

    assert headers == {}
    r.verifier.build(r.name).verify(request(headers, body, url=URL))


def test_graph_route_with_a_delivery_header_gets_only_that_header() -> None:
    r = graph(delivery_id={"header": "x-delivery-id", "unsigned": True})

    assert sign(r, notifications(ENV["TEST_GRAPH_STATE"])) == {"x-delivery-id": "msg_1"}


def test_graph_body_without_client_state_says_which_variable_to_copy_in() -> None:
    body = notifications(ENV["TEST_GRAPH_STATE"], None)

    with pytest.raises(ConfigError) as info:
        sign(graph(), body)

    message = str(info.value)
    assert message.startswith("Route 'r': Every notification in 'value' must carry 'clientState'.")
    assert '"clientState"' in message and "$TEST_GRAPH_STATE" in message
    assert ENV["TEST_GRAPH_STATE"] not in message


def test_graph_body_with_another_client_state_is_refused_before_posting() -> None:
    with pytest.raises(ConfigError, match=r"\$TEST_GRAPH_STATE") as info:
        sign(graph(), notifications("someone-elses-client-state-00"))

    assert "is not one this route's subscriptions use" in str(info.value)


def test_graph_body_that_is_not_a_notification_list_is_refused() -> None:
    with pytest.raises(ConfigError, match="whose 'value' lists notifications"):
        sign(graph(), b'{"changeType": "created"}')
