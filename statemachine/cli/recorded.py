"""What ``mocks`` and ``replay`` read of recorded executions over the REST API: an
execution's description, its whole history (page after page), a machine's last finished
executions.  A 404 becomes :class:`NotFound`, whose message is the one line to print."""

from __future__ import annotations

from typing import Any

from statemachine.cli.client import TERMINAL, ApiClient, ApiError, quote

_PAGE = 1000


class NotFound(Exception):
    """The API has no such execution or state machine."""


def _get(client: ApiClient, path: str, what: str, query: dict[str, Any] | None = None) -> Any:
    try:
        return client.call("GET", path, query=query)
    except ApiError as exc:
        if exc.status == 404:
            raise NotFound(f"no {what}") from None
        raise


def execution(client: ApiClient, execution_id: str) -> dict[str, Any]:
    described: dict[str, Any] = _get(client, f"/v1/executions/{quote(execution_id)}",
                                     f"execution '{execution_id}'")
    return described


def history(client: ApiClient, execution_id: str) -> list[dict[str, Any]]:
    """Every event of the execution, following the API's cursors."""
    events: list[dict[str, Any]] = []
    cursor: str | None = None
    path = f"/v1/executions/{quote(execution_id)}/history"
    while True:
        page = _get(client, path, f"execution '{execution_id}'",
                    {"limit": _PAGE, "cursor": cursor})
        events.extend(page["events"])
        cursor = page.get("nextCursor")
        if not cursor or not page["events"]:
            return events


def last_finished(client: ApiClient, machine: str, count: int) -> list[str]:
    """The ids of ``machine``'s last ``count`` finished executions, newest first."""
    _get(client, f"/v1/state-machines/{quote(machine)}", f"state machine '{machine}'")
    found: list[str] = []
    cursor: str | None = None
    while len(found) < count:
        page = _get(client, "/v1/executions", f"state machine '{machine}'",
                    {"stateMachine": machine, "limit": _PAGE, "cursor": cursor})
        found.extend(e["executionId"] for e in page["executions"] if e.get("status") in TERMINAL)
        cursor = page.get("nextCursor")
        if not cursor:
            break
    return found[:count]
