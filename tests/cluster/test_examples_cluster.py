"""Every example runs to SUCCEEDED through ``cli.py serve`` on a real Redis Cluster, with
each logical step taking effect once (the same run as tests/test_examples.py's, the
service given a cluster node's URL)."""

from __future__ import annotations

from pathlib import Path

from tests.test_examples import Demo, demo  # noqa: F401 -- the demo services fixture
from tests.test_examples import test_every_example_runs_through_the_service as every_example


def test_every_example_runs_through_the_service_on_a_cluster(cluster_url: str, demo: Demo,  # noqa: F811
                                                             tmp_path: Path) -> None:
    every_example(cluster_url, demo, tmp_path)
