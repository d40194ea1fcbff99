"""The `hooktide` command."""
