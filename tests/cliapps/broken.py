"""A module that fails while it is imported."""

raise RuntimeError("cliapps.broken fails on purpose")
