"""The local stack: Temporal's dev server, the worker, the gateway and the example's peers."""
