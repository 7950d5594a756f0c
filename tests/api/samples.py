"""Definitions that several API tests send: ``hello`` as JSON and as YAML text."""

from __future__ import annotations

HELLO = {
    "StartAt": "Greet",
    "States": {
        "Greet": {"Type": "Pass", "Parameters": {"greeting.$": "States.Format('hello {}', $.who)"},
                  "End": True},
    },
}

HELLO_YAML = """\
StartAt: Greet
States:
  Greet:
    Type: Pass
    Result: {greeting: hello}
    End: true
"""
