"""LIVE events as a service (issue 12): one upstream socket per room, fanned out to subscribers."""
