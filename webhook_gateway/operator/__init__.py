"""Endpoints for operators: health, readiness, delivery status, outbound status and redrive,
the OpenAPI document, and the lookups they share with the CLI."""
