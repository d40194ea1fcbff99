"""The order example's activities."""
