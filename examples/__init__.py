"""The order example's peers: inventory and CRM services, an SMTP sink and a webhook subscriber.

Each runs on its own (`python -m examples.inventory --port 8101`, ...); `hooktide run` starts
them all on 127.0.0.1 and points the worker at them.
"""
