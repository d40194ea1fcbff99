"""Outbound HTTP as one activity: typed request and response, timeouts, retries, SSRF guard,
call log."""
