"""What a test run returns: :class:`RunResult`, with helpers whose failures read well in pytest.

``path`` is the names of the states entered, in order.  A Map or Parallel state is followed
by the states of its iterations or branches, child 0 first, each child's states together
(depth first: see :mod:`statemachine.testing.tree_order`), whatever order they really ran in:
``("Lines", "Ship", "Ship", "Notify")`` for a Map over two items.  ``calls`` is every task the
run performed (one per attempt: a retried state appears once per try), in the same order.
``history`` is the event history as it happened (as ``cli.py run --history`` prints it).

The ``assert_*`` helpers raise AssertionError with the status, the error, the path and the
calls in the message, so a failing test says what the workflow did instead.
"""

from __future__ import annotations

import pprint
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import orjson

from statemachine.testing.tree_order import tree_order

if TYPE_CHECKING:
    from statemachine.interpreter.records import HistoryEvent
    from statemachine.language.mocks import MockCase
    from statemachine.runtime.local import LocalResult

_UNSET: Any = object()
_SHOWN_STEPS = 40  # the tail of a long path that a failure message shows


@dataclass(frozen=True, slots=True)
class TaskCall:
    """One attempt of one Task state.

    ``input`` is the effective parameters the service received (after Parameters or
    Arguments); ``attempt`` counts from 0 per state entry (each retry adds one); ``mocked``:
    the test case answered it.  ``output`` is the task's result before ResultSelector and
    ResultPath; ``error``/``cause`` are set when it failed; ``answered`` is False for a call
    still in flight when the run ended (a state that timed out waiting for it).
    """

    state: str
    resource: str
    input: Any
    attempt: int
    mocked: bool
    answered: bool
    output: Any = None
    error: str | None = None
    cause: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.answered and self.error is None

    def describe(self) -> str:
        """``Charge #1 (mocked): failed Payments.Busy`` -- one line for failure messages."""
        how = " (mocked)" if self.mocked else ""
        if not self.answered:
            outcome = "no answer"
        elif self.error is not None:
            outcome = f"failed {self.error}"
        else:
            outcome = f"returned {_short(self.output)}"
        return f"{self.state} #{self.attempt}{how}: {outcome}"


@dataclass(frozen=True, slots=True)
class RunResult:
    """One execution's end: ``status`` (SUCCEEDED, FAILED, TIMED_OUT, ABORTED), ``output``
    (when it succeeded), ``error``/``cause`` (when not), and how it got there."""

    status: str
    output: Any
    error: str | None
    cause: str | None
    history: tuple[HistoryEvent, ...]
    path: tuple[str, ...]
    calls: tuple[TaskCall, ...]
    exits: tuple[tuple[str, Any], ...]
    """(state, output) of every state exited, in ``path`` order: what :meth:`output_of` reads"""

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"

    @property
    def elapsed(self) -> timedelta:
        """From the first event to the last, by the history's clock: with ``skip_time`` a
        three-day Wait reads as three days, though the run took milliseconds."""
        if not self.history:
            return timedelta(0)
        return timedelta(milliseconds=self.history[-1]["timestamp"] - self.history[0]["timestamp"])

    # -- questions ----------------------------------------------------------------------------

    def visited(self, state: str) -> bool:
        """Whether ``state`` was entered (at any depth); ``path.count(state)`` says how often."""
        return state in self.path

    def calls_to(self, state: str) -> tuple[TaskCall, ...]:
        """The attempts of Task state ``state``, in ``calls`` order."""
        return tuple(call for call in self.calls if call.state == state)

    def outputs_of(self, state: str) -> tuple[Any, ...]:
        """The output of every exit of ``state``, in ``path`` order (one per Map iteration)."""
        return tuple(output for name, output in self.exits if name == state)

    def output_of(self, state: str) -> Any:
        """The output of ``state``, which must have exited exactly once (else AssertionError:
        use :meth:`outputs_of`)."""
        outputs = self.outputs_of(state)
        if len(outputs) != 1:
            times = "never exited" if not outputs else f"exited {len(outputs)} times"
            hint = "" if not outputs else f"; outputs_of({state!r}) gives them all"
            raise AssertionError(f"state {state!r} {times}{hint}\n{self.summary()}")
        return outputs[0]

    # -- assertions ---------------------------------------------------------------------------

    def assert_succeeded(self, output: Any = _UNSET) -> None:
        """The run SUCCEEDED (and, if given, its output equals ``output``)."""
        if not self.succeeded:
            raise AssertionError(f"expected the run to succeed, but it {self._ending()}\n"
                                 f"{self.summary()}")
        if output is not _UNSET and self.output != output:
            raise AssertionError("the run succeeded with another output\n"
                                 f"expected: {_show(output)}\nactual:   {_show(self.output)}\n"
                                 f"{self.summary()}")

    def assert_failed(self, error: str | None = None, cause: str | None = None) -> None:
        """The run FAILED (and, if given, with exactly this ``error`` and ``cause``)."""
        wanted = f" with {error}" if error is not None else ""
        if self.status != "FAILED":
            raise AssertionError(f"expected the run to fail{wanted}, but it {self._ending()}\n"
                                 f"{self.summary()}")
        if error is not None and self.error != error:
            raise AssertionError(f"expected the run to fail with {error}, but it failed with "
                                 f"{self.error}: {self.cause}\n{self.summary()}")
        if cause is not None and self.cause != cause:
            raise AssertionError(f"expected the cause {cause!r}, got {self.cause!r}\n"
                                 f"{self.summary()}")

    def assert_path(self, *states: str) -> None:
        """The states entered were exactly ``states``, in this order."""
        if tuple(states) == self.path:
            return
        at = next((i for i, (a, b) in enumerate(zip(states, self.path, strict=False)) if a != b),
                  min(len(states), len(self.path)))
        expected = states[at] if at < len(states) else "(the end)"
        actual = self.path[at] if at < len(self.path) else "(the end)"
        raise AssertionError(f"the path differs at step {at + 1}: expected {expected!r}, "
                             f"got {actual!r}\nexpected: {_arrows(states)}\n"
                             f"actual:   {_arrows(self.path)}")

    def assert_visited(self, *states: str) -> None:
        """Each of ``states`` was entered, in this order (others may come between)."""
        position = 0
        for state in states:
            try:
                position = self.path.index(state, position) + 1
            except ValueError:
                where = "" if position == 0 else f" after {self.path[position - 1]!r}"
                raise AssertionError(f"state {state!r} was not entered{where}\n"
                                     f"path: {_arrows(self.path)}") from None

    def assert_not_visited(self, *states: str) -> None:
        """None of ``states`` was entered."""
        entered = [state for state in states if state in self.path]
        if entered:
            raise AssertionError(f"expected {', '.join(map(repr, entered))} not to be entered\n"
                                 f"path: {_arrows(self.path)}")

    # -- messages -----------------------------------------------------------------------------

    def summary(self) -> str:
        """Status, path and calls, a few lines for failure messages."""
        calls = "".join(f"\n  {call.describe()}" for call in self.calls[-_SHOWN_STEPS:])
        return (f"status: {self.status}{self._error()}\npath: {_arrows(self.path)}\n"
                f"calls:{calls or ' none'}")

    def _ending(self) -> str:
        if self.succeeded:
            return f"SUCCEEDED with output {_short(self.output)}"
        return f"{self.status}{self._error()}"

    def _error(self) -> str:
        if self.error is None and self.cause is None:
            return ""
        return f" with {self.error}: {self.cause}" if self.cause else f" with {self.error}"


def run_result(local: LocalResult, case: MockCase | None) -> RunResult:
    """The :class:`RunResult` of an in-memory run; ``case`` tells which calls were mocked."""
    ex = local.execution
    history = tuple(local.history)
    order = tree_order(local.origins)
    rank: dict[str, int] = {}
    for index in order:
        rank.setdefault(local.origins[index], len(rank))
    path: list[str] = []
    exits: list[tuple[str, Any]] = []
    for index in order:
        event: Any = history[index]
        if event["type"].endswith("StateEntered"):
            path.append(event["stateEnteredEventDetails"]["name"])
        elif event["type"].endswith("StateExited"):
            details = event["stateExitedEventDetails"]
            exits.append((details["name"], _parsed(details.get("output"))))
    calls = []
    for task in sorted(local.tasks, key=lambda t: rank.get(t.command.execution, len(rank))):
        command, answer = task.command, task.result or {}
        failed = answer.get("type") == "TaskFailed"
        calls.append(TaskCall(
            state=command.state, resource=command.resource, input=command.input,
            attempt=command.attempt,
            mocked=case is not None and case.outcome(command.state, command.attempt) is not None,
            answered=task.result is not None, output=None if failed else answer.get("output"),
            error=answer.get("error") if failed else None,
            cause=answer.get("cause") if failed else None,
        ))
    return RunResult(ex["status"], ex["output"], ex["error"], ex["cause"], history,
                     tuple(path), tuple(calls), tuple(exits))


def _parsed(text: Any) -> Any:
    """A history field's JSON text as a value (the text itself if it is not JSON: cut short)."""
    if not isinstance(text, str):
        return text
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


def _arrows(states: Sequence[str]) -> str:
    if not states:
        return "(no state entered)"
    shown = states[-_SHOWN_STEPS:]
    earlier = f"({len(states) - len(shown)} earlier) -> " if len(shown) < len(states) else ""
    return earlier + " -> ".join(shown)


def _short(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _show(value: Any) -> str:
    return pprint.pformat(value, width=88, sort_dicts=False)
