"""Logs, metrics, traces and graceful drain: what every process sets up once."""
