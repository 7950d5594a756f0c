"""The house's structure, read from the code with ``ast``.

- The core is pure: language/ and interpreter/ import no I/O, clock or randomness.
- No import circles anywhere in the package.
- Redis is spoken in one place: only the gateway package ``runtime/store/`` imports a Redis
  client or calls a Redis client method.
- Every module stays under 500 lines; the worker's parts under 400.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "statemachine"
GATEWAY = PACKAGE / "runtime" / "store"
FORBIDDEN = {
    "asyncio", "time", "random", "uuid", "logging", "redis", "aiohttp", "aiobotocore",
    "botocore", "socket", "subprocess", "threading", "os", "secrets",
}
FORBIDDEN_PACKAGES = {"statemachine.runtime", "statemachine.api", "statemachine.cli", "statemachine.service"}
REDIS_MODULES = {"redis", "hiredis"}
# Methods of redis-py's clients and pipelines that send a command: seen on any object outside
# the gateway, they are a Redis call in the wrong room.
REDIS_METHODS = {
    "hget", "hset", "hgetall", "hmget", "hdel", "hincrby", "hsetnx", "hkeys", "evalsha", "eval",
    "xreadgroup", "xadd", "xautoclaim", "xclaim", "xack", "xdel", "xrange", "xrevrange", "xlen",
    "xpending", "xgroup_create", "zadd", "zrangebyscore", "zrevrangebyscore", "zrange",
    "zrevrange", "zrem", "zcard", "zscore", "lrange", "lpop", "rpush", "lpush", "llen",
    "execute_command", "script_load", "pipeline", "scan_iter", "sadd", "srem", "smembers",
    "expire", "pexpire", "setnx", "incrby", "mget", "pubsub", "ping", "flushall",
}
MAX_LINES = 500
MAX_WORKER_LINES = 400


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), str(path))


def _imports(path: Path) -> set[str]:
    """Absolute names of every module ``path`` imports (relative imports resolved)."""
    package = _name(path) if path.name == "__init__.py" else _name(path).rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _core_files() -> list[Path]:
    return [p for p in _modules() if p.relative_to(PACKAGE).parts[0] in ("language", "interpreter")]


def test_core_files_exist() -> None:
    assert len(_core_files()) >= 10


def test_core_imports_no_io_clock_or_randomness() -> None:
    bad = []
    for path in _core_files():
        for name in _imports(path):
            top = name.split(".")[0]
            if top in FORBIDDEN or any(name == p or name.startswith(p + ".") for p in FORBIDDEN_PACKAGES):
                bad.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert not bad, "\n".join(bad)


def test_core_never_reads_the_clock() -> None:
    bad = []
    for path in _core_files():
        text = path.read_text()
        for call in ("datetime.now(", "datetime.utcnow(", "date.today(", ".now()"):
            if call in text:
                bad.append(f"{path.relative_to(PACKAGE)} calls {call}")
    assert not bad, "\n".join(bad)


def _import_graph() -> dict[str, set[str]]:
    modules = {_name(p): p for p in _modules()}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        # An edge into a package counts from inside it too: ``from statemachine.api import x``
        # runs the package's __init__, whose own imports can close a circle.
        graph[name] = {m for m in _imports(path) if m in modules and m != name}
    return graph


def _circles(graph: dict[str, set[str]]) -> Iterator[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    for root, edges_of_root in graph.items():
        if root in index:
            continue
        work = [(root, iter(sorted(edges_of_root)))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        yield sorted(component)


def test_no_import_circles() -> None:
    circles = [" <-> ".join(c) for c in _circles(_import_graph())]
    assert not circles, "import circles:\n" + "\n".join(circles)


def test_the_circle_finder_finds_circles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert list(_circles(graph)) == [["a", "b", "c"]]


def _outside_gateway() -> list[Path]:
    return [p for p in _modules() if GATEWAY not in p.parents]


def test_only_the_gateway_imports_a_redis_client() -> None:
    assert GATEWAY.is_dir()
    bad = [f"{path.relative_to(PACKAGE)} imports {name}"
           for path in _outside_gateway() for name in _imports(path)
           if name.split(".")[0] in REDIS_MODULES]
    assert not bad, "\n".join(bad)


def test_only_the_gateway_calls_redis() -> None:
    bad = []
    for path in _outside_gateway():
        for node in ast.walk(_tree(path)):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in REDIS_METHODS):
                bad.append(f"{path.relative_to(PACKAGE)}:{node.lineno} calls .{node.func.attr}()")
    assert not bad, "\n".join(bad)


def test_modules_stay_small() -> None:
    big = []
    for path in _modules():
        lines = path.read_text().count("\n")
        limit = MAX_WORKER_LINES if "worker" in path.relative_to(PACKAGE).parts[:2] else MAX_LINES
        if lines > limit:
            big.append(f"{path.relative_to(PACKAGE)}: {lines} lines (limit {limit})")
    assert not big, "\n".join(big)


def test_security_stands_on_nothing_of_ours() -> None:
    """security/ (roles, the secret box) is the ground the runtime, service and API build on."""
    folder = PACKAGE / "security"
    for path in sorted(folder.rglob("*.py")):
        ours = {name for name in _imports(path)
                if name.startswith("statemachine.") and not name.startswith("statemachine.security")}
        assert not ours, f"{path.relative_to(PACKAGE)} imports {sorted(ours)}"
