"""Every rule about data: shared invariants, per-family checks and Great Expectations suites."""
