"""The request path of a webhook: client address, allowlist, rate limit, body, verification
(`verifiers/`), ids, and the answer (`endpoint.py` ties them together)."""
