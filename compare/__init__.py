"""Story comparison: clustering, claims, alignment, divergences, reports (issues 3 and 4)."""
