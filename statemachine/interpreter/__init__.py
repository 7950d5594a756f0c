"""Executions: the pure ``advance()`` core.  See :mod:`statemachine.interpreter.records`."""
