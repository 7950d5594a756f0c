"""A Distributed Map's items from an ``ItemReader``, and their batches (``ItemBatcher``).

Pure: the items are read by the runtime.  The Map asks for them with an ``InvokeTask`` of
resource :data:`~statemachine.language.items.READ_ITEMS` (:func:`read_task`, its input a
:class:`~statemachine.language.items.ReadRequest` with every field evaluated here), waits as
for a task, and gets the items back as that task's result (or ``States.ItemReaderFailed``):
a page of them (:data:`~statemachine.language.items.PAGE_ITEMS`) and whether more follow,
the next page read the same way when the runtime says the Map Run's children run low
(``PageWanted``; :mod:`.branches`), or all of them (the in-memory runner).  As AWS,
``ItemsPath`` plays no part once a reader is given.
"""

from __future__ import annotations

from typing import Any

from statemachine.interpreter import failures as F
from statemachine.interpreter.commands import InvokeTask
from statemachine.interpreter.context import Step
from statemachine.interpreter.formats import dumps, place_of
from statemachine.interpreter.tokens import derive, task_token
from statemachine.language import items as I
from statemachine.language.model import State
from statemachine.language.scope import StatesError

MAX_BATCH_BYTES = 256 * 1024
"""AWS's ceiling on ``MaxInputBytesPerBatch`` (a child's input is at most 256 KiB)."""


def map_run_arn(step: Step, state: State, group: str) -> str:
    """The Map Run's ARN as AWS forms it: ``...:mapRun:<machine>/<Label or state>:<id>``."""
    ex = step.ex
    label = state.extras.get("Label") or state.name
    run_id = derive(ex["salt"], "map-run", ex["id"], group)
    return f"{place_of(ex.get('place')).prefix}:mapRun:{ex['machine']}/{label}:{run_id}"


def arguments_of(step: Step, state: State, spec: Any, effective: Any) -> Any:
    """An ItemReader's or ResultWriter's ``Parameters`` (JSONPath) or ``Arguments``
    (JSONata), evaluated (``{}`` when it has none)."""
    if spec is None:
        return {}
    field = "Arguments" if state.language == "JSONata" else "Parameters"
    return state.flow.value_of(spec, step.scope(state, effective), field)


def read_task(step: Step, state: State, effective: Any, skip: int = 0,
              cursor: Any = None) -> InvokeTask:
    """The task that reads a page of ``state``'s items, the one after the first ``skip``
    (``cursor``: where the reader said the page before ended) (raises ``States.ItemReaderFailed`` for a ``MaxItems`` out of range, and the usual
    errors of its templates)."""
    reader = state.item_reader
    assert reader is not None
    ex = step.ex
    arguments = arguments_of(step, state, reader.arguments, effective)
    if not isinstance(arguments, dict):
        raise StatesError(I.ITEM_READER_FAILED, "The ItemReader's parameters must be an object: "
                          + dumps(arguments), prefixed=False)
    request: I.ReadRequest = {
        "Resource": reader.resource,
        "Arguments": arguments,
        "ReaderConfig": {
            "InputType": reader.input_type,
            "CSVHeaderLocation": reader.csv_header_location,
            "CSVHeaders": list(reader.csv_headers) if reader.csv_headers is not None else None,
            "CSVDelimiter": reader.csv_delimiter,
            "MaxItems": _max_items(step, state, effective),
        },
        "Page": {"Size": page_size(step, state, effective), "Skip": skip},
    }
    if cursor is not None:
        request["Page"]["Cursor"] = cursor
    token = task_token(ex["id"], derive(ex["salt"], "token", ex["seq"], *((skip,) if skip else ())))
    return InvokeTask(
        token=token, resource=I.READ_ITEMS, input=request, state=state.name,
        entered=ex["entered"],
        idempotency_key=derive(ex["salt"], "idempotency", ex["id"], ex["entered"],
                               *((skip,) if skip else ())),
        attempt=sum(ex["retry"].values()) if ex["retry"] else 0,
        timeout_s=None, heartbeat_s=None, credentials=None, execution=ex["id"],
    )


def page_size(step: Step, state: State, effective: Any) -> int:
    """Items per page: :data:`~statemachine.language.items.PAGE_ITEMS`, rounded up to a
    multiple of ``MaxItemsPerBatch`` so that pages cut no batch short (batches by
    ``MaxInputBytesPerBatch`` alone may end early at a page's end)."""
    batcher = state.item_batcher
    most = None
    if batcher is not None and batcher.max_items is not None:
        try:
            most = _batch_limit(step, state, batcher.max_items, effective, "MaxItemsPerBatch")
        except StatesError:
            most = None  # the batching fails with its own error once the items are read
    if not most:
        return I.PAGE_ITEMS
    return -(-I.PAGE_ITEMS // most) * most


def _max_items(step: Step, state: State, effective: Any) -> int:
    """``MaxItems`` (+``Path``): 0 means all; negative fails the reader, as AWS's."""
    reader = state.item_reader
    assert reader is not None
    if reader.max_items is None:
        return 0
    raw = step.number(reader.max_items, state, effective, "MaxItems")
    value = _integer(raw)
    if value is None:
        raise StatesError(I.ITEM_READER_FAILED, f"field MaxItems must be an integer: {dumps(raw)}",
                          prefixed=False)
    if value < 0:
        raise StatesError(I.ITEM_READER_FAILED, "field MaxItems must be positive", prefixed=False)
    return min(value, I.MAX_ITEMS_LIMIT)


def _integer(raw: Any) -> int | None:
    """An integer from a number or a numeric string (a ``...Path`` may point at either)."""
    if isinstance(raw, str):
        try:
            return int(raw.strip())
        except ValueError:
            return None
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        return None
    if isinstance(raw, float) and not raw.is_integer():
        return None
    return int(raw)


def _batch_limit(step: Step, state: State, spec: Any, effective: Any, field: str) -> int | None:
    if spec is None:
        return None
    raw = step.number(spec, state, effective, field)
    value = _integer(raw)
    if value is None or value <= 0:
        raise StatesError(F.RUNTIME, f"The {field} field must be a positive integer: {dumps(raw)}")
    return value


def batches(step: Step, state: State, effective: Any, inputs: list[Any]) -> list[Any]:
    """``inputs`` grouped as ``ItemBatcher`` says: ``{"BatchInput"?, "Items": [...]}`` each,
    at most ``MaxItemsPerBatch`` items and ``MaxInputBytesPerBatch`` bytes of JSON (an item
    larger than that alone makes a batch of one)."""
    batcher = state.item_batcher
    assert batcher is not None
    most = _batch_limit(step, state, batcher.max_items, effective, "MaxItemsPerBatch")
    size = _batch_limit(step, state, batcher.max_bytes, effective, "MaxInputBytesPerBatch")
    if size is not None:
        size = min(size, MAX_BATCH_BYTES)
    head: dict[str, Any] = {}
    if batcher.batch_input is not None:
        scope = step.scope(state, effective)
        head["BatchInput"] = state.flow.value_of(batcher.batch_input, scope, "BatchInput")
    base = len(dumps({**head, "Items": []}))
    out: list[Any] = []
    current: list[Any] = []
    used = base
    for item in inputs:
        cost = len(dumps(item).encode()) + (1 if current else 0) if size is not None else 0
        full = (most is not None and len(current) >= most) or (
            size is not None and current and used + cost > size)
        if full:
            out.append({**head, "Items": current})
            current, used = [], base
            cost = cost - 1 if size is not None else 0
        current.append(item)
        used += cost
    if current:
        out.append({**head, "Items": current})
    return out
