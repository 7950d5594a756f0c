"""What an expression sees when it is evaluated, and how it fails.

Every evaluator in ``language/`` (JSONPath paths, payload templates, intrinsic
functions, Choice rules, JSONata) takes a :class:`Scope` and either returns a
JSON value or raises :class:`StatesError`.  The interpreter catches
``StatesError`` at the state handler and turns it into retry → catch → fail,
prefixing the cause with ``An error occurred while executing the state 'X'
(entered at the event id #N). `` where AWS does (``prefixed=True``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any


class _Missing:
    """Marker for 'no value' (distinct from JSON null)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()


class StatesError(Exception):
    """An ASL runtime error: ``error`` is the error name (``States.Runtime``...).

    ``cause`` is the message.  When ``prefixed`` is true the interpreter prepends
    AWS's ``An error occurred while executing the state ...`` sentence; errors a
    user raised (Fail state, task failures) are not prefixed.
    """

    def __init__(self, error: str, cause: str | None = None, *, prefixed: bool = True) -> None:
        super().__init__(error, cause)
        self.error = error
        self.cause = cause
        self.prefixed = prefixed


class Entropy:
    """A deterministic source of 'random' numbers and UUIDs for one evaluation.

    Seeded from the execution id and the history event id so that replaying the
    same events gives the same values (``States.UUID``, ``States.MathRandom``,
    JSONata ``$random``/``$uuid``).  SHA-256 in counter mode: no ``random`` import.
    """

    __slots__ = ("_n", "_seed")

    def __init__(self, seed: str) -> None:
        self._seed = seed.encode()
        self._n = 0

    def _block(self) -> bytes:
        self._n += 1
        return hashlib.sha256(self._seed + b":" + str(self._n).encode()).digest()

    def random(self) -> float:
        """A float in [0, 1)."""
        return int.from_bytes(self._block()[:7], "big") / float(1 << 56)

    def randint(self, low: int, high: int) -> int:
        """An int in [low, high] inclusive."""
        if high <= low:
            return low
        return low + int.from_bytes(self._block()[:8], "big") % (high - low + 1)

    def uuid4(self) -> str:
        b = bytearray(self._block()[:16])
        b[6] = (b[6] & 0x0F) | 0x40
        b[8] = (b[8] & 0x3F) | 0x80
        h = b.hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class Scope:
    """The data an expression may read.

    - ``input``: the state's effective input as the field sees it (``$`` in JSONPath,
      ``$states.input`` in JSONata).
    - ``context``: the context object (``$$`` / ``$states.context``).  May be given as a
      zero-argument callable: it is then built on first use only (most expressions never
      read it, and building it costs more than evaluating them).
    - ``variables``: every workflow variable visible here (outer scopes merged in).
    - ``result``: ``$states.result`` (JSONata) when evaluating Output/Assign after a result.
    - ``error_output``: ``$states.errorOutput`` inside a Catcher.
    - ``entropy``: deterministic randomness (or ``seed``: a string to make one from, lazily).
    """

    __slots__ = ("_context", "_seed", "entropy", "error_output", "input", "result", "variables")

    def __init__(
        self,
        input: Any,
        context: dict[str, Any] | Callable[[], dict[str, Any]],
        variables: dict[str, Any] | None = None,
        result: Any = MISSING,
        error_output: Any = MISSING,
        entropy: Entropy | None = None,
        seed: str | None = None,
    ) -> None:
        self.input = input
        self._context = context
        self.variables = variables if variables is not None else {}
        self.result = result
        self.error_output = error_output
        self.entropy = entropy
        self._seed = seed

    @property
    def context(self) -> dict[str, Any]:
        ctx = self._context
        if callable(ctx):
            ctx = self._context = ctx()
        return ctx

    def rng(self) -> Entropy:
        if self.entropy is None:
            self.entropy = Entropy(self._seed or "no-seed")
        return self.entropy
