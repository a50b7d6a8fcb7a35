"""Pure signing algorithms: no I/O; time, randomness and environment are parameters."""
