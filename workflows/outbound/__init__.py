"""Outbound webhooks as workflows: one durable delivery per event and endpoint."""
