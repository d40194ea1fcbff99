"""The operator console at /console: server-rendered pages over the data Temporal and the
gateway already hold (deliveries, outbound endpoints, routes and rules, approvals), and the
same operations the `hooktide` command has (redrive, enable/disable, explain). Mounted only
when HOOKTIDE_OPERATOR_TOKEN is set; every page works without JavaScript."""
