"""The gateway side of the bundled order example: approval pages."""
