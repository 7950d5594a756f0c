"""Tests of the durable runtime against a real redis-server; fixtures are in ``conftest.py``."""
