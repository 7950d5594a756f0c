"""An ACL user on a Redis Cluster: with the README's rights plus ``+cluster|info
+cluster|slots`` an execution runs; without ``cluster|info`` the node would pass for a
single Redis, and the refusal says what to add instead of waiting out MOVED replies."""

from __future__ import annotations

from typing import Any

import pytest

from statemachine.runtime.store import RedisStore, Refused
from tests.cluster.servers import LocalCluster
from tests.runtime.test_redis_acl import SERVICE_ACL

PASSWORD = "cluster-user-secret"
PASS_ONLY = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


def _user(cluster: LocalCluster, name: str, *extra: str) -> str:
    """Make ACL user ``name`` on every node (a cluster's ACLs are per node); its URL."""
    for node in cluster.nodes:
        node.client().execute_command("ACL", "SETUSER", name, "reset", "on", f">{PASSWORD}",
                                      *SERVICE_ACL, *extra)
    port = cluster.nodes[0].port
    return f"redis://{name}:{PASSWORD}@127.0.0.1:{port}/0"


async def test_a_cluster_user_with_the_documented_rights_runs_an_execution(
        redis_cluster: LocalCluster, cluster_url: str, runtime: Any) -> None:
    url = _user(redis_cluster, "sm-cluster", "+cluster|info", "+cluster|slots")
    async with runtime(redis_url=url) as rt:
        assert rt.service.store.core.cluster
        await rt.service.define("acl-pass", PASS_ONLY)
        started = await rt.service.start("acl-pass", {"x": 1})
        assert (await rt.finished(started["executionId"]))["status"] == "SUCCEEDED"


async def test_a_cluster_user_without_cluster_info_is_refused_with_what_to_add(
        redis_cluster: LocalCluster, cluster_url: str, settings: Any) -> None:
    url = _user(redis_cluster, "sm-no-info", "+cluster|slots")
    with pytest.raises(Refused, match=r"\+cluster\|info"):
        await RedisStore.connect(settings(redis_url=url), wait_s=5)
