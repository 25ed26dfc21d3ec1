"""Order service: HTTP API, direct create invoke and the stale-order query."""
