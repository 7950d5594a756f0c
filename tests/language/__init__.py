"""Tests of statemachine.language (pure: no Redis, no I/O)."""
