"""Fault injection: kill parts of the real local stack under load and check nothing is lost."""
