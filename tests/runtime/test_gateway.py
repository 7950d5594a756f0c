"""Redis is spoken to in one place: ``statemachine/runtime/store/`` (the bench, which
measures Redis itself, aside).  A call of a Redis client method anywhere else fails here."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "statemachine"
GATEWAY = PACKAGE / "runtime" / "store"
REDIS_METHODS = {
    "hget", "hset", "hgetall", "hmget", "hdel", "hincrby", "hsetnx", "hkeys", "evalsha", "eval",
    "xreadgroup", "xadd", "xautoclaim", "xclaim", "xack", "xdel", "xrange", "xrevrange", "xlen",
    "xpending", "zadd", "zrangebyscore", "zrevrangebyscore", "zrange", "zrem", "zcard", "zscore",
    "lrange", "lpop", "rpush", "lpush", "llen", "execute_command", "script_load", "pipeline",
    "pubsub", "scan_iter", "sadd", "srem", "smembers", "expire", "pexpire", "setnx", "incrby",
    "mget", "unlink", "ping", "flushall",
}


def _calls(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    return [f"{path.relative_to(PACKAGE.parent)}:{node.lineno} .{node.func.attr}()"
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr in REDIS_METHODS]


def test_no_redis_call_outside_the_gateway() -> None:
    outside = [call for path in sorted(PACKAGE.rglob("*.py"))
               if GATEWAY not in path.parents and PACKAGE / "bench" not in path.parents
               for call in _calls(path)]
    assert outside == []


def test_the_gateway_is_where_redis_is_called() -> None:
    assert len([call for path in GATEWAY.glob("*.py") for call in _calls(path)]) > 50
