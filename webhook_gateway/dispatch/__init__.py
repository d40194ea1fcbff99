"""Where a verified event becomes a Temporal call: one dispatcher per mode, group commit,
the Temporal client and the one mapping of Temporal errors to gateway errors."""
