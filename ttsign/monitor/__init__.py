"""Watching for change (issue 9): the canary monitor's checks and cycles, the change analyzer, alerts,
maintenance mode and the automatic response. `model` holds the shared types, `bus` the event fan-out."""
