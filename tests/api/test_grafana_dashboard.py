"""``docs/grafana-dashboard.json`` reads what ``GET /metrics`` exposes: every metric name a
query names is one a real scrape shows, counters are read through ``rate``, histograms
through ``histogram_quantile``, and every latency histogram has a panel."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from statemachine.runtime.timings import FAMILIES
from statemachine.service import Service
from tests.api.client import keyed_app

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana-dashboard.json"
NAME = re.compile(r"\bstatemachine_[a-zA-Z0-9_]+")


def queries(dashboard: dict[str, Any]) -> list[str]:
    return [target["expr"] for panel in dashboard["panels"]
            for target in panel.get("targets", [])]


def exposed(text: str) -> dict[str, str]:
    """Each sample name a scrape can hold, with its family's type."""
    names: dict[str, str] = {}
    for family in text_string_to_metric_families(text):
        match family.type:
            case "counter":
                names[family.name + "_total"] = "counter"
            case "histogram":
                for suffix in ("_bucket", "_sum", "_count"):
                    names[family.name + suffix] = "histogram"
            case kind:
                names[family.name] = kind
    return names


async def test_every_query_names_a_metric_that_metrics_exposes(redis_url: str) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    service = await Service.connect(redis_url)
    try:
        app, headers = await keyed_app(service)
        async with TestClient(TestServer(app), headers=headers) as client:
            names = exposed(await (await client.get("/metrics")).text())
    finally:
        await service.close()
    exprs = queries(dashboard)
    assert exprs
    unknown = {name for expr in exprs for name in NAME.findall(expr)} - names.keys()
    assert not unknown, f"the dashboard queries what /metrics does not expose: {unknown}"
    for expr in exprs:
        for name in NAME.findall(expr):
            if names[name] == "counter":
                assert f"rate({name}[" in expr, expr
            elif names[name] == "histogram":
                assert expr.startswith("histogram_quantile(") and name.endswith("_bucket"), expr
    charted = {name.removesuffix("_bucket") for expr in exprs for name in NAME.findall(expr)}
    assert {family.name for family in FAMILIES} <= charted
