"""Tools for testing workflows: runs with mocks on a virtual clock, record and replay."""
