"""The Amazon States Language: loading, validation and expression evaluation.

Pure: no I/O beyond reading the file a caller names, no clock, no randomness.
"""
