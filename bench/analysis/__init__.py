"""Pure functions over rows: sweep selection, aggregation, paired tests, health checks, claims, compare."""
