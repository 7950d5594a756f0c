"""``cli.py bench`` on a Redis Cluster: given any node's URL it finds the cluster (the
probe asks every master, the workers and API processes find it themselves), and
``--min-replicas-ack 1`` reaches the service, workers and API process.  Shapes and counts
only, never a time."""

from __future__ import annotations

from tests.test_bench import bench, positive


def test_loop_and_start_on_the_cluster_with_a_replica_acknowledging(cluster_url: str) -> None:
    loop, start = bench("--redis-url", cluster_url, "--min-replicas-ack", "1",
                        "--workload", "loop", "--workload", "start", "--executions", "2",
                        "--workers", "1", "--timeout", "60", timeout=180)
    assert loop["workload"] == "loop" and loop["executions"] == 2
    assert loop["transitions"] == 2 * 2003
    assert "failed" not in loop and "timed_out" not in loop
    positive(loop, "transitions_per_s", "p50_ms", "start_p50_ms", "peak_rss_mb",
             "redis_bytes_per_execution", "redis_rtt_per_s")
    assert start["workload"] == "start" and start["errors"] == 0
    positive(start, "executions", "steps_per_s", "start_p50_ms")
