"""The route file: what it accepts, and how precisely it says what is wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.routing import Route

from tests.support.repo import REPO
from webhook_gateway.app import create_app
from webhook_gateway.config.reserved import OPERATOR_PATHS
from webhook_gateway.config.routes import load_config, parse_config
from webhook_gateway.config.settings import Settings
from webhook_gateway.contracts.errors import ConfigError


def route(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "path": "/webhooks/x",
        "workflow": "OrderWorkflow",
        "delivery_id": {"header": "webhook-id"},
        "verifier": {"type": "standard_webhooks", "secret": {"env": "TEST_ORDERS_SECRET"}},
    }
    return base | overrides


def error_for(routes: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config({"routes": routes})
    return str(info.value)


def test_shipped_route_file_is_valid() -> None:
    config = load_config(REPO / "hooktide.yaml")
    orders = config.route("orders")
    assert orders.path == "/webhooks/orders"
    assert orders.delivery_id_rule.signed_id
    assert orders.verifier.type == "standard_webhooks"


def test_error_names_the_route_and_the_field() -> None:
    message = error_for({"orders": route(mode="fire-and-forget")})
    assert "route 'orders', field mode" in message


def test_unknown_field_is_refused() -> None:
    assert "route 'orders', field max_body" in error_for({"orders": route(max_body=10)})


def test_missing_workflow_is_refused() -> None:
    body = route()
    del body["workflow"]
    assert "route 'orders': field workflow is missing" in error_for({"orders": body})


def test_unknown_verifier_type_is_refused() -> None:
    message = error_for({"orders": route(verifier={"type": "carrier-pigeon"})})
    assert "route 'orders', field verifier" in message


def test_path_param_must_exist_in_the_path() -> None:
    message = error_for(
        {"t": route(mode="signal", workflow_id={"path_param": "ticket"}, path="/t/{id}")}
    )
    assert "path_param 'ticket' is not a parameter of path '/t/{id}'" in message


def test_signal_modes_need_a_workflow_id_source() -> None:
    assert "needs workflow_id" in error_for({"t": route(mode="signal")})


def test_delivery_id_needs_one_source() -> None:
    assert "only one of" in error_for({"t": route(delivery_id={"header": "a", "jmespath": "b"})})


def test_bad_jmespath_is_refused() -> None:
    assert "not a valid JMESPath" in error_for({"t": route(delivery_id={"jmespath": "a[["})})


def test_two_routes_on_one_path_and_method_are_refused() -> None:
    assert "both take POST /webhooks/x" in error_for({"a": route(), "b": route()})


def test_credential_headers_are_never_forwarded() -> None:
    assert "may not carry credentials" in error_for({"t": route(forward_headers=["Authorization"])})


def test_reserved_paths_are_refused() -> None:
    assert "reserved" in error_for({"t": route(path="/deliveries/x")})


def test_every_operator_endpoint_reserves_its_prefix() -> None:
    settings = Settings(HOOKTIDE_APPROVAL_SECRET="approval-secret-for-the-example")
    app = create_app(settings, config=parse_config({"routes": {}}))
    mounted = {r.path for r in app.routes if isinstance(r, Route)}

    assert mounted == {p.path for p in OPERATOR_PATHS}
    for path in mounted:
        user_path = path.replace("{", "").replace("}", "")
        assert "reserved for the gateway's own endpoints" in error_for(
            {"t": route(path=user_path)}
        ), path
    assert "under /outbound" in error_for({"t": route(path="/outbound/hooks")})


def test_invalid_yaml_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "routes.yaml"
    bad.write_text("routes: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"routes\.yaml is not valid YAML"):
        load_config(bad)


def test_missing_file_says_how_to_point_at_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="HOOKTIDE_CONFIG"):
        load_config(tmp_path / "nope.yaml")


def test_route_whose_secret_is_unset_refuses_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOOKTIDE_TEST_UNSET", raising=False)
    config = parse_config(
        {"routes": {"orders": route(verifier={"type": "standard_webhooks",
                                             "secret": {"env": "HOOKTIDE_TEST_UNSET"}})}}
    )  # fmt: skip
    with pytest.raises(
        ConfigError, match="Route 'orders': environment variable HOOKTIDE_TEST_UNSET"
    ):
        create_app(Settings(), config=config)


def test_malformed_secret_refuses_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOKTIDE_TEST_BAD", "whsec_***")
    config = parse_config(
        {"routes": {"orders": route(verifier={"type": "standard_webhooks",
                                             "secret": {"env": "HOOKTIDE_TEST_BAD"}})}}
    )  # fmt: skip
    with pytest.raises(ConfigError, match="'whsec_' followed by base64"):
        create_app(Settings(), config=config)


def test_secret_from_a_file_holds_several_for_rotation(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("whsec_AAAAAAAAAAAAAAAAAAAAAA==\nwhsec_BBBBBBBBBBBBBBBBBBBBBB==\n")
    config = parse_config(
        {"routes": {"orders": route(verifier={"type": "standard_webhooks",
                                             "secret": {"file": str(secret_file)}})}}
    )  # fmt: skip
    secret = config.route("orders").verifier.secret  # type: ignore[union-attr]
    assert len(secret.resolve("orders")) == 2
