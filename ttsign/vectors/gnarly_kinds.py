"""Vector checkers (placeholder until the algorithm lands)."""
