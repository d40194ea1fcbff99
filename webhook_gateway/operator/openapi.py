"""`GET /openapi.json`: every route declared in the YAML plus the operator endpoints."""

from __future__ import annotations

from typing import Any

from webhook_gateway import __version__
from webhook_gateway.config.reserved import OPERATOR_PATHS
from webhook_gateway.config.routes import PARAM, HooktideConfig, Route
from webhook_gateway.config.schemas import load_schema
from webhook_gateway.operator.openapi_auth import header_parameters, security

PROBLEM = {"$ref": "#/components/schemas/Problem"}

ERRORS = {
    "400": "Malformed body (invalid JSON, invalid UTF-8, bad Content-Length)",
    "401": "Verification failed: missing or malformed header, bad signature, stale timestamp",
    "403": "Client address not allowed",
    "404": "No such route, or (signal mode) no such workflow",
    "405": "Method not allowed on this route",
    "408": "The body did not arrive in time",
    "413": "Body larger than the route's limit",
    "415": "Content type not accepted by this route",
    "422": "No delivery id or workflow id in the event, the body does not match the schema "
    "(`errors` lists each failing value's JSON Pointer), no rule takes it (otherwise: reject), "
    "or the workflow refused it",
    "429": "Rate limit reached; see Retry-After",
    "502": "Update mode: the workflow's reply was not a WebhookReply",
    "503": "Temporal did not accept the event; retry after Retry-After seconds",
}


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": PROBLEM}},
    }


def _operation(route: Route) -> dict[str, Any]:
    responses: dict[str, Any] = {
        "202": {
            "description": "Temporal holds the event. `run_id` is null in signal modes.",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Ack"}}},
        }
    }
    if route.rules:
        responses["202"] = {
            "description": "Temporal holds the event for every target (rule) it matched.",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RoutedAck"}}},
        }
        if route.otherwise == "ignore":
            responses["200"] = {
                "description": "No rule takes this event type; nothing was started.",
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Ignored"}}
                },
            }
    if any(t.mode == "update" for t in route.targets.values()):
        responses["200"] = {
            "description": "The workflow's reply (status, headers and body chosen by it)",
            "content": {"application/json": {"schema": {}}},
        }
        responses["202"]["description"] += " Update mode: reply pending, poll `status_url`."
    responses |= {code: _problem(text) for code, text in ERRORS.items()}
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in PARAM.findall(route.path)
    ]
    params += header_parameters(route)
    content: dict[str, Any] = {ct: _body(route) for ct in route.content_types}
    scheme = security(route)
    auth: dict[str, Any] = {"security": [{scheme[0]: []}]} if scheme else {}
    return auth | {
        "operationId": route.name,
        "summary": _summary(route),
        "description": f"Verified with `{route.verifier.type}`; body at most "
        f"{route.max_body_bytes} bytes.",
        "parameters": params,
        "requestBody": {"required": True, "content": content},
        "responses": responses,
    }


def _handshake(route: Route, method: str) -> dict[str, Any]:
    return {
        "operationId": f"{route.name}-{method.lower()}-handshake",
        "summary": f"The sender's endpoint-ownership check (`{route.verifier.type}`); starts "
        "nothing (docs/RULES.md, Senders' handshakes)",
        "responses": {
            "200": {
                "description": "The challenge, as text/plain",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            },
            "403": _problem("The verify token does not match the route's"),
            "405": _problem("Not the sender's check"),
        },
    }


def _summary(route: Route) -> str:
    if not route.rules:
        return f"{route.mode} {route.workflow} on task queue {route.task_queue}"
    rules = "; ".join(f"{t.rule}: {t.mode} {t.workflow}" for t in route.targets.values())
    return f"rules (fan_out {route.fan_out}, otherwise {route.otherwise}): {rules}"


def _body(route: Route) -> dict[str, Any]:
    """The route's JSON Schema, and each rule's (a rule's schema applies when it matches)."""
    media: dict[str, Any] = {"schema": {}}
    if route.schema_file is not None:
        media["schema"] = load_schema(route.schema_file).schema
    by_rule = {r.name: load_schema(r.schema_file).schema for r in route.rules if r.schema_file}
    if by_rule:
        media["x-hooktide-rule-schemas"] = by_rule
    return media


def _operator_operations() -> dict[str, dict[str, Any]]:
    """The operations of the gateway's own endpoints, by their name in `OPERATOR_PATHS`."""
    docs: dict[str, dict[str, Any]] = {}
    docs["metrics"] = {
        "get": {
            "operationId": "metrics",
            "summary": "Prometheus metrics (see docs/OPERATIONS.md)",
            "responses": {
                "200": {
                    "description": "Prometheus text exposition format",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                }
            },
        }
    }
    docs["openapi"] = {
        "get": {
            "operationId": "openapi",
            "summary": "This document",
            "responses": {
                "200": {
                    "description": "OpenAPI 3.1",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }
            },
        }
    }
    docs["healthz"] = {
        "get": {
            "operationId": "healthz",
            "summary": "The gateway process is up",
            "responses": {"200": {"description": "Up"}},
        }
    }
    docs["readyz"] = {
        "get": {
            "operationId": "readyz",
            "summary": "Temporal is reachable",
            "responses": {"200": {"description": "Ready"}, "503": _problem("Temporal unreachable")},
        }
    }
    docs["delivery"] = {
        "get": {
            "operationId": "delivery",
            "summary": "Status and result of the workflow a delivery started",
            "security": [{"operator": []}],
            "parameters": [
                {
                    "name": "delivery_id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string"},
                },
                {"name": "route", "in": "query", "schema": {"type": "string"}},
                {"name": "workflow_id", "in": "query", "schema": {"type": "string"}},
            ],
            "responses": {
                "200": {"description": "Workflow status, result or failure"},
                "401": _problem("Missing or wrong operator token"),
                "403": _problem("Operator endpoints are off (no HOOKTIDE_OPERATOR_TOKEN)"),
                "404": _problem("No workflow for this delivery"),
                "503": _problem("Temporal unreachable"),
            },
        }
    }
    outbound_params = [
        {"name": "delivery_id", "in": "path", "required": True, "schema": {"type": "string"}},
        {"name": "subscription", "in": "query", "schema": {"type": "string"}},
    ]
    outbound_errors = {
        "401": _problem("Missing or wrong operator token"),
        "403": _problem("Operator endpoints are off (no HOOKTIDE_OPERATOR_TOKEN)"),
        "404": _problem("No outbound delivery with this id"),
        "503": _problem("Temporal unreachable"),
    }
    docs["outbound-status"] = {
        "get": {
            "operationId": "outbound-delivery",
            "summary": "An outbound webhook delivery: status (HooktideStatus), result, and "
            "every attempt with its redacted HTTP call",
            "description": "`delivery_id` is the delivery's workflow id, or its webhook-id "
            "with `?subscription=`.",
            "security": [{"operator": []}],
            "parameters": outbound_params,
            "responses": {"200": {"description": "Status and attempt log"}, **outbound_errors},
        }
    }
    docs["outbound-redrive"] = {
        "post": {
            "operationId": "outbound-redrive",
            "summary": "Start a delivery that gave up again (same id, original input)",
            "security": [{"operator": []}],
            "parameters": outbound_params,
            "responses": {
                "202": {"description": "The new run: workflow_id, run_id, redrive_of"},
                "409": _problem("The delivery is running or did not give up"),
                **outbound_errors,
            },
        }
    }
    codec_body = {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["payloads"],
                    "properties": {
                        "payloads": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "metadata": {"type": "object"},
                                    "data": {"type": "string", "contentEncoding": "base64"},
                                },
                            },
                        }
                    },
                }
            }
        },
    }
    for direction in ("encode", "decode"):
        docs[f"codec-{direction}"] = {
            "post": {
                "operationId": f"codec-{direction}",
                "summary": f"Temporal's remote codec protocol: {direction} payloads (the Web "
                "UI's codec server; docs/SECURITY.md, 'Payloads at rest')",
                "security": [{"operator": []}],
                "requestBody": codec_body,
                "responses": {
                    "200": {"description": f"The {direction}d payloads, in the same shape"},
                    "400": _problem("Not a payloads object"),
                    "401": _problem("Missing or wrong operator token"),
                    "403": _problem("Codec endpoints are off (no HOOKTIDE_OPERATOR_TOKEN)"),
                    "404": _problem("Payload encryption is off"),
                    "422": _problem("A payload's key is unknown, or it is corrupted"),
                },
            },
            "options": {
                "operationId": f"codec-{direction}-preflight",
                "summary": "CORS preflight: granted to HOOKTIDE_CODEC_CORS_ORIGIN only",
                "responses": {"204": {"description": "Granted"}, "403": {"description": "Not"}},
            },
        }
    docs["explain"] = {
        "post": {
            "operationId": "explain-route",
            "summary": "Dry run: what the route would do with a sample request (rules matched "
            "and why, workflow ids, inputs, schema errors); nothing is verified or started",
            "security": [{"operator": []}],
            "parameters": [
                {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "body": {},
                                "headers": {"type": "object"},
                                "query": {"type": "object"},
                                "path_params": {"type": "object"},
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": {"description": "The explanation (as `hooktide explain --json`)"},
                "400": _problem("The sample is not the JSON object described"),
                "401": _problem("Missing or wrong operator token"),
                "403": _problem("Operator endpoints are off (no HOOKTIDE_OPERATOR_TOKEN)"),
                "404": _problem("No route of that name"),
            },
        }
    }
    flow_params = [
        {
            "name": "target",
            "in": "path",
            "required": True,
            "description": "The route's name, or `route.rule` for a rule's",
            "schema": {"type": "string"},
        },
        {
            "name": "key",
            "in": "path",
            "required": True,
            "description": "The flow-control key (what `ordered.key` read from the event)",
            "schema": {"type": "string"},
        },
    ]
    flow_errors = {
        "401": _problem("Missing or wrong operator token"),
        "403": _problem("Operator endpoints are off (no HOOKTIDE_OPERATOR_TOKEN)"),
        "404": _problem("No sequencer is open for this target and key"),
        "503": _problem("Temporal unreachable, or no worker answered the sequencer's query"),
    }
    docs["flow-view"] = {
        "get": {
            "operationId": "flow-view",
            "summary": "A key's sequencer (ordered, concurrency, throttle): waiting, oldest "
            "waiting, next up, running, blocked, late, order reached (docs/FLOW_CONTROL.md)",
            "security": [{"operator": []}],
            "parameters": flow_params,
            "responses": {"200": {"description": "The sequencer's queue query"}, **flow_errors},
        }
    }
    docs["flow-release"] = {
        "post": {
            "operationId": "flow-release",
            "summary": "Release a blocked key: skip its failed workflow, or redrive it (reset, "
            "same workflow id) and go on once that run has closed",
            "security": [{"operator": []}],
            "parameters": flow_params,
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["action"],
                            "properties": {
                                "action": {"enum": ["skip", "redrive"]},
                                "by": {"type": "string", "maxLength": 100},
                            },
                        }
                    }
                },
            },
            "responses": {
                "202": {"description": "Released: the blocked workflow, and the redrive's run"},
                "400": _problem("The body is not JSON"),
                "409": _problem("The key is not blocked, or its workflow cannot be redriven"),
                "422": _problem("The body is not the object described"),
                **flow_errors,
            },
        }
    }
    return docs


def openapi_document(config: HooktideConfig) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for route in config.routes:
        item = paths.setdefault(route.path, {})
        for method in route.methods:
            item[method.lower()] = _operation(route) | {
                "operationId": f"{route.name}-{method.lower()}"
            }
        for method in sorted(route.verifier.handshake_methods - set(route.methods)):
            item[method.lower()] = _handshake(route, method)
    operations = _operator_operations()
    for operator_path in OPERATOR_PATHS:
        if operator_path.name in operations:  # the example's HTML pages are not an API
            paths[operator_path.openapi_path] = operations[operator_path.name]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Hooktide webhook gateway",
            "version": __version__,
            "description": "Webhooks acknowledged only once Temporal durably holds them.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {"operator": {"type": "http", "scheme": "bearer"}}
            | dict(filter(None, (security(route) for route in config.routes))),
            "schemas": {
                "Ack": {
                    "type": "object",
                    "required": ["delivery_id", "workflow_id", "run_id", "duplicate"],
                    "properties": {
                        "delivery_id": {"type": "string"},
                        "workflow_id": {"type": "string"},
                        "run_id": {"type": ["string", "null"]},
                        "duplicate": {"type": "boolean"},
                        "status_url": {"type": "string"},
                    },
                },
                "RoutedAck": {
                    "type": "object",
                    "required": ["delivery_id", "event_type", "targets"],
                    "properties": {
                        "delivery_id": {"type": "string"},
                        "event_type": {"type": ["string", "null"]},
                        "targets": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["rule", "workflow_id", "run_id", "duplicate"],
                                "properties": {
                                    "rule": {"type": "string"},
                                    "workflow_id": {"type": "string"},
                                    "run_id": {"type": ["string", "null"]},
                                    "duplicate": {"type": ["boolean", "null"]},
                                },
                            },
                        },
                    },
                },
                "Ignored": {
                    "type": "object",
                    "required": ["delivery_id", "event_type", "ignored"],
                    "properties": {
                        "delivery_id": {"type": "string"},
                        "event_type": {"type": ["string", "null"]},
                        "ignored": {"const": True},
                    },
                },
                "Problem": {
                    "type": "object",
                    "description": "RFC 9457 problem details",
                    "required": ["type", "title", "status", "detail"],
                    "properties": {
                        "type": {"type": "string", "format": "uri"},
                        "title": {"type": "string"},
                        "status": {"type": "integer"},
                        "detail": {"type": "string"},
                        "instance": {"type": "string"},
                        "errors": {
                            "type": "array",
                            "description": "Schema mismatches: each failing value's JSON "
                            "Pointer and what is wrong (at most 20)",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "pointer": {"type": "string"},
                                    "message": {"type": "string"},
                                },
                            },
                        },
                    },
                },
            },
        },
    }
