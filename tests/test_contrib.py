"""contrib/: the Grafana dashboard and the Prometheus alert rules query only metrics
that smsstatus.metrics exposes, with labels it sets."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY

import smsstatus
from smsstatus import metrics
from smsstatus._observe import SINKS
from smsstatus.testing import sample_payload

CONTRIB = Path(__file__).parents[1] / "contrib"
METRIC = re.compile(r"\bsmsstatus_[a-z_]+")
# A label matcher inside braces: name, operator, value.
MATCHER = re.compile(r'(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"')
# PromQL grouping clauses name labels too.
GROUPING = re.compile(r"\bby \(([^)]*)\)")


@pytest.fixture(scope="module")
def exposed() -> dict[str, set[str]]:
    """Every sample name smsstatus.metrics exposes, with its label names, once it
    has seen a document of each kind."""
    saved = list(SINKS)
    metrics.enable()
    smsstatus.receive_batch(sample_payload(5, bad=1), lambda reports: None)
    smsstatus.receive_batch(b"refused", lambda reports: None)
    SINKS[:] = saved
    names: dict[str, set[str]] = {}
    for metric in REGISTRY.collect():
        for sample in metric.samples:
            if sample.name.startswith("smsstatus_"):
                names.setdefault(sample.name, set()).update(sample.labels)
    return names


def dashboard_queries() -> list[str]:
    board = json.loads((CONTRIB / "grafana" / "smsstatus.json").read_text())
    queries = [t["expr"] for p in board["panels"] for t in p.get("targets", [])]
    for variable in board["templating"]["list"]:
        query = variable.get("query")
        if isinstance(query, dict):
            queries.append(query["query"])
    return queries


def rule_queries() -> list[str]:
    rules = yaml.safe_load((CONTRIB / "prometheus" / "smsstatus-rules.yml").read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def test_the_dashboard_is_a_grafana_dashboard() -> None:
    board: dict[str, Any] = json.loads(
        (CONTRIB / "grafana" / "smsstatus.json").read_text()
    )
    assert board["uid"] == "smsstatus"
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    titles = {panel["title"] for panel in board["panels"]}
    assert {
        "Documents by HTTP code",
        "Reports by state",
        "Reports by outcome",
    } <= titles
    assert {"Receive time", "Status lag"} <= titles
    # Importable as is: the data source is a variable, not an id of one Grafana.
    for panel in board["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}"


def test_the_rules_are_alerting_rules() -> None:
    rules = yaml.safe_load((CONTRIB / "prometheus" / "smsstatus-rules.yml").read_text())
    (group,) = rules["groups"]
    names = [rule["alert"] for rule in group["rules"]]
    assert len(names) == len(set(names)) >= 6
    for rule in group["rules"]:
        assert set(rule) == {"alert", "expr", "for", "labels", "annotations"}
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"]


@pytest.mark.parametrize(
    "queries", [dashboard_queries, rule_queries], ids=["grafana", "prometheus"]
)
def test_every_metric_and_label_queried_exists(
    exposed: dict[str, set[str]], queries: Any
) -> None:
    found = queries()
    assert found
    for query in found:
        names = METRIC.findall(query)
        assert names, query
        for name in names:
            assert name in exposed, f"{name} in {query!r}"
        labels = {m[0] for m in MATCHER.findall(query)}
        labels |= {
            label.strip()
            for group in GROUPING.findall(query)
            for label in group.split(",")
        }
        # "job" and "le" come from Prometheus and from the histograms' buckets.
        known = set().union(*(exposed[name] for name in names)) | {"job"}
        assert labels <= known, f"{labels - known} in {query!r}"


def test_the_label_values_matched_are_ones_the_metrics_take(
    exposed: dict[str, set[str]],
) -> None:
    values = {
        (label, value)
        for query in dashboard_queries() + rule_queries()
        for label, _, value in MATCHER.findall(query)
        if label == "outcome"
    }
    assert values <= {("outcome", v) for v in ("taken", "rejected", "not_taken")}
    assert values
