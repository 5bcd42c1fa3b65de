"""Groups of `flask` commands."""
