"""From one verified delivery to its targets: event type, schema, rules, input, ids.

`plan.plan()` is the one path both the webhook endpoint and the dry runs
(`hooktide explain`, `POST /routes/{name}/explain`) take, so a dry run says exactly what a
delivery would do.
"""
