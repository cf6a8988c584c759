"""Tests of cxlib.journey.transitions: transition matrix (orders 1-2) and directly-follows graph.

The directly-follows graph and the variants are checked against pm4py's answers stored in
``tests/data/journey_events_small_pm4py.json`` (produced by ``tests/data/make_pm4py_oracle.py``
with pm4py 2.7.23.11: ``pm4py.discover_dfg`` and ``pm4py.get_variants``).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cxlib.errors import ParameterError
from cxlib.journey import directly_follows, from_paths, journeyize, top_paths, transition_matrix
from cxlib.journey.transitions import CONVERSION, NULL, START, TRANSITION_COLUMNS

DATA = Path(__file__).parent / "data"


def small_log() -> pd.DataFrame:
    return pd.read_csv(DATA / "journey_events_small.csv.gz", parse_dates=["timestamp"])


def test_first_order_counts_and_probabilities():
    js = from_paths(pd.DataFrame({"path": ["a > b", "b > b", "a"], "conversions": [3, 1, 0], "nulls": [1, 2, 4]}))
    tm = transition_matrix(js)
    c = tm.counts
    assert tm.states[0] == START and list(c.columns[-2:]) == [CONVERSION, NULL]
    assert c.loc[START, "a"] == 8 and c.loc[START, "b"] == 3
    assert c.loc["a", "b"] == 4 and c.loc["a", NULL] == 4
    assert c.loc["b", "b"] == 3 and c.loc["b", CONVERSION] == 4 and c.loc["b", NULL] == 3
    assert np.allclose(tm.probabilities.sum(axis=1), 1.0)
    long = tm.to_frame()
    assert list(long.columns) == list(TRANSITION_COLUMNS)
    row = long[(long.from_state == "b") & (long.to_state == CONVERSION)].iloc[0]
    assert row["probability"] == pytest.approx(0.4) and row["n_from"] == 10
    assert row["ci_lower"] < 0.4 < row["ci_upper"]
    no_loops = transition_matrix(js, collapse_repeats=True).counts
    assert no_loops.loc["b", "b"] == 0 and no_loops.loc["b", CONVERSION] == 4


def test_second_order_states():
    js = from_paths(pd.DataFrame({"path": ["a > b > c", "b > c"], "conversions": [2, 1], "nulls": [0, 1]}))
    c = transition_matrix(js, order=2).counts
    assert c.loc[START, "a"] == 2 and c.loc["a", "a > b"] == 2 and c.loc["a > b", "b > c"] == 2
    assert c.loc["b", "b > c"] == 2 and c.loc["b > c", CONVERSION] == 3 and c.loc["b > c", NULL] == 1
    with pytest.raises(ParameterError, match="order=7"):
        transition_matrix(js, order=7)


def test_censored_policies():
    t = pd.Timestamp("2025-01-01")
    ev = pd.DataFrame({"customer_id": ["u", "u", "v", "v"],
                       "timestamp": [t, t + pd.Timedelta("1min"), t + pd.Timedelta("5h"),
                                     t + pd.Timedelta("5h1min")],
                       "touchpoint": ["a", "b", "a", "b"]})
    js = journeyize(ev, gap="1h")  # v is censored (ends at the observation end)
    assert transition_matrix(js, censored="truncate").counts.loc["a", "b"] == 2
    assert transition_matrix(js, censored="truncate").counts.loc["b", NULL] == 1
    assert transition_matrix(js, censored="exclude").counts.loc["a", "b"] == 1
    assert transition_matrix(js, censored="abandonment").counts.loc["b", NULL] == 2
    with pytest.raises(ParameterError, match="censored='drop'"):
        transition_matrix(js, censored="drop")


def test_dfg_and_variants_match_pm4py_reference():
    ref = json.loads((DATA / "journey_events_small_pm4py.json").read_text())
    js = journeyize(small_log())
    dfg = directly_follows(js)
    got = sorted([a, b, int(n)] for a, b, n in dfg.edges[["source", "target", "frequency"]].itertuples(index=False))
    assert got == ref["dfg"]
    assert dfg.start_activities.to_dict() == ref["start_activities"]
    assert dfg.end_activities.to_dict() == ref["end_activities"]
    tp = top_paths(js, k=10_000, include_conversion=True).to_frame()
    tp = tp[tp["journeys"] > 0]
    assert sorted([p, int(n)] for p, n in tp[tp["path"] != "(other)"][["path", "journeys"]].itertuples(index=False)) \
        == ref["variants"]


def test_dfg_times_match_pandas():
    log = small_log().sort_values(["journey_id", "timestamp"])
    dfg = directly_follows(journeyize(log)).edges.set_index(["source", "target"])
    log["next"] = log.groupby("journey_id")["touchpoint"].shift(-1)
    log["gap"] = (log.groupby("journey_id")["timestamp"].shift(-1) - log["timestamp"]).dt.total_seconds()
    ref = log.dropna(subset=["next"]).groupby(["touchpoint", "next"])["gap"].agg(["median", "size"])
    assert dfg.loc[("product_page", "cart"), "median_seconds"] == pytest.approx(ref.loc[("product_page", "cart"), "median"])
    assert dfg.loc[("search", "product_page"), "frequency"] == ref.loc[("search", "product_page"), "size"]
    assert dfg.groupby(level="source")["share_of_source"].sum().round(12).eq(1).all()


@pytest.mark.optional
def test_dfg_against_live_pm4py():
    pm4py = pytest.importorskip("pm4py", reason="pm4py (AGPL-3.0) is an optional oracle, not installed")
    log = small_log()
    df = pm4py.format_dataframe(log, case_id="journey_id", activity_key="touchpoint", timestamp_key="timestamp")
    dfg_ref, _, _ = pm4py.discover_dfg(df)
    got = directly_follows(journeyize(log)).edges
    assert {(a, b): int(n) for a, b, n in got[["source", "target", "frequency"]].itertuples(index=False)} == \
        {k: int(v) for k, v in dfg_ref.items()}


def _routes(journey_col):
    """The same journeys three ways: fused (nothing built), from the event table, from the list table."""
    import dataclasses

    fused = journeyize(small_log(), journey_col=journey_col, gap="2h")
    events = journeyize(small_log(), journey_col=journey_col, gap="2h")
    assert events.events_table is not None and events.fused is None  # builds the event table
    lists = journeyize(small_log(), journey_col=journey_col, gap="2h")
    lists = dataclasses.replace(lists, spec=None, _built={"table": lists.table, "journeys": lists.table,
                                                          "n_journeys": lists.n_journeys})
    assert lists.events_table is None and fused.fused is not None and "events" not in fused._built
    return fused, events, lists


@pytest.mark.parametrize("journey_col", ["journey_id", None])
@pytest.mark.parametrize("censored", ["exclude", "truncate", "abandonment"])
def test_fused_event_table_and_list_routes_agree(journey_col, censored):
    """Counts from the fused query, the event table (lead() over the sorted events) and the lists agree."""
    fused, events, lists = _routes(journey_col)
    a, b, c = (transition_matrix(j, censored=censored) for j in (fused, events, lists))
    pd.testing.assert_frame_equal(a.counts, b.counts)
    pd.testing.assert_frame_equal(a.counts, c.counts)
    assert a.n_journeys == b.n_journeys == c.n_journeys > 0
    assert a.counts.to_numpy().sum() > fused.n_journeys  # start edges alone are one per journey kept
    assert "events" not in fused._built  # the fused route wrote no table (exclude reads the events only)
    d1, d2, d3 = (directly_follows(j) for j in (fused, events, lists))
    for other in (d2, d3):
        pd.testing.assert_frame_equal(d1.edges, other.edges)
        for s1, s2 in ((d1.start_activities, other.start_activities), (d1.end_activities, other.end_activities),
                       (d1.activities, other.activities)):
            pd.testing.assert_series_equal(s1, s2)
        assert d1.n_journeys == other.n_journeys
    assert int(d1.activities.sum()) == fused.n_events
