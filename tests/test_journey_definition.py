"""One journey definition, one conversion definition: the pandas path and the SQL paths give the same answers.

The definition lives in :mod:`cxlib.journey.sessions`.  The same events are cut into journeys by
:func:`~cxlib.journey.sessions.journey_frame` (pandas: the metrics, the scorecard, the dashboard alerts), by
:func:`~cxlib.journey.journeyize` (DuckDB SQL: the journeys section) and by
:func:`cxlib.journey.scale.journey_tables` on a DuckDB backend (the scale path), and every path must give the
same journey table and the same conversion counts.  The events are random but seeded, built to hit every
rule: ties in time (conversion last, then touchpoint), purchases in the middle of a key's events, gaps just
under and over the inactivity gap, time bounds that cut journeys, sub-microsecond times.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxlib.journey import journeyize
from cxlib.journey.sessions import JOURNEY_FRAME_COLUMNS, OUTCOMES, conversion_counts, journey_frame

GAP = "2h"


def _events(seed: int, *, ids: bool, n: int = 500) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cust = rng.choice([f"c{i:02d}" for i in range(20)], n)
    # half-hour steps make ties and gaps of exactly 2 h; the nanoseconds are truncated to microseconds
    minutes = rng.integers(0, 1500, n) * 30
    t = pd.Timestamp("2025-01-01") + pd.to_timedelta(minutes, unit="min") + pd.to_timedelta(
        rng.integers(0, 3, n) * 1500, unit="ns")
    tp = rng.choice(["search", "cart", "purchase", "homepage", "store_visit"], n, p=[.3, .2, .15, .2, .15])
    ev = pd.DataFrame({"customer_id": cust, "timestamp": t, "touchpoint": tp,
                       "channel": rng.choice(["web", "app", "store"], n)})
    if ids:
        ev["journey_id"] = [f"{c}-J{j}" for c, j in zip(cust, rng.integers(0, 4, n))]
    return ev


def _same_times(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype({"started_at": "datetime64[ns]", "ended_at": "datetime64[ns]", "n_events": "int64",
                         "converted": bool})


def _engine_frame(ev: pd.DataFrame, **kw) -> pd.DataFrame:
    """The scale path's journey table (DuckDB backend) with the journey ids of ``Journeys.to_frame``."""
    from cxlib.engine import connect
    from cxlib.journey.scale import journey_tables

    js = journey_tables(connect({"events": ev}, engine="duckdb"), **kw)
    t = js.backend.sql(f"SELECT * FROM {js.journey_table}")
    k = t["k"].astype("int64").astype(str)
    t["journey_id"] = t["jkey"] + np.where(k != "1", "#" + k, "") if js.spec.explicit else t["customer_id"] + ":" + k
    t = t.sort_values(["started_at", "journey_id"], ignore_index=True)
    return t[list(JOURNEY_FRAME_COLUMNS)]


CASES = [(seed, ids, bounds) for seed in (1, 2, 3) for ids in (True, False)
         for bounds in ((None, None), ("2025-01-07", "2025-01-19"))]


@pytest.mark.parametrize(("seed", "ids", "bounds"), CASES)
def test_pandas_and_sql_paths_cut_the_same_journeys(seed: int, ids: bool, bounds: tuple) -> None:
    ev = _events(seed, ids=ids)
    kw = {"gap": GAP, "start": bounds[0], "end": bounds[1]}
    pandas_path = _same_times(journey_frame(ev, **kw))
    sql_path = _same_times(journeyize(ev, **kw).to_frame()[list(JOURNEY_FRAME_COLUMNS)])
    scale_path = _same_times(_engine_frame(ev, **kw))
    assert len(pandas_path) > 50 and set(pandas_path["outcome"]) == set(OUTCOMES)  # every rule is exercised
    pd.testing.assert_frame_equal(pandas_path, sql_path)
    pd.testing.assert_frame_equal(pandas_path, scale_path)


@pytest.mark.parametrize("observation_end", [None, "2025-01-20 12:00"])
def test_pandas_and_sql_paths_count_the_same_conversions(observation_end: str | None) -> None:
    ev = _events(7, ids=False)
    kw = {"gap": GAP, "observation_end": observation_end}
    js = journeyize(ev, **kw)
    from_sql = conversion_counts(js.outcomes().set_index("outcome")["journeys"])
    from_pandas = conversion_counts(journey_frame(ev, **kw)["outcome"].value_counts())
    assert from_sql == from_pandas and from_sql[2] > 0  # some journeys still open, left out of both counts


def test_missing_ids_rebuild_every_journey_with_the_gap() -> None:
    """Explicit ids only when every kept event has one (else the gap), on both paths."""
    ev = _events(4, ids=True)
    ev.loc[ev.index[:5], "journey_id"] = None
    pandas_path = _same_times(journey_frame(ev, gap=GAP))
    sql_path = _same_times(journeyize(ev, gap=GAP).to_frame()[list(JOURNEY_FRAME_COLUMNS)])
    pd.testing.assert_frame_equal(pandas_path, sql_path)
    assert pandas_path["journey_id"].str.contains(":").all()  # the gap's ids, customer:k
    assert journeyize(ev, gap=GAP).source.startswith("events (inactivity gap")


def test_the_metric_and_the_journeys_section_give_one_conversion_rate() -> None:
    from cxlib.metrics import conversion_rate as metric_rate
    from cxlib.sections.journeys import conversion_rate as section_rate

    ev = _events(5, ids=True)
    window = {"start": "2025-01-07", "end": "2025-01-19"}
    in_window = ev[(ev["timestamp"] >= window["start"]) & (ev["timestamp"] < window["end"])]
    m = metric_rate(in_window, gap=GAP)
    s = section_rate(journeyize(ev, gap=GAP, **window))
    assert (m.n, m.estimate, m.ci_lower, m.ci_upper) == (s.n, s.estimate, s.ci_lower, s.ci_upper)


def test_dashboard_journey_family_counts_with_the_same_definition() -> None:
    from cxlib.actions import family_outcomes

    ev = _events(6, ids=True).assign(timestamp=lambda d: d["timestamp"] + pd.Timedelta(days=270))  # in 2025Q4
    fam = family_outcomes({"events": ev}, family="journey", period="2025Q4")
    c, n, _ = conversion_counts(journeyize(ev, start="2025-10-01", end="2026-01-01").outcomes()
                                .set_index("outcome")["journeys"])
    assert (int(fam["value"].sum()), len(fam)) == (c, n)
    assert set(fam.columns) >= {"customer_id", "touchpoint", "channel", "value", "metric"}


def test_conversion_counts_rejects_unknown_outcomes() -> None:
    from cxlib.errors import ParameterError

    with pytest.raises(ParameterError, match="open"):
        conversion_counts({"conversion": 1, "open": 2})


@pytest.mark.parametrize("gap", ["30min", "3D"])
def test_scorecard_trends_and_alerts_take_the_reports_one_gap(gap: str) -> None:
    """The plan's ``journey_gap`` reaches every section: the scorecard, the trends and the alerts count the
    journeys of :func:`journeyize` with that gap (the gap decides which journeys are still open)."""
    from cxlib.actions import family_outcomes
    from cxlib.significance import metric_trends, scorecard

    ev = _events(7, ids=True, n=2000)
    ev = ev.assign(timestamp=ev["timestamp"] + pd.Timedelta(days=262))  # ends within days of 2025Q4's end
    survey = pd.DataFrame({"responded_at": pd.to_datetime(["2025-08-01", "2025-11-01"] * 20),
                           "nps": [10, 3] * 20})
    tables = {"events": ev, "survey_responses": survey}
    c, n, _ = conversion_counts(journeyize(ev, gap=gap, start="2025-10-01", end="2026-01-01").outcomes()
                                .set_index("outcome")["journeys"])
    row = scorecard(tables, period="2025Q4", comparison_period="2025Q3", gap=gap).set_index("key").loc["conversion_rate"]
    assert (int(row["n"]), row["estimate"]) == (n, pytest.approx(c / n, abs=0))
    trend = metric_trends(tables, periods=["2025Q4"], gap=gap).set_index("key").loc["conversion_rate"]
    assert trend["estimate"] == pytest.approx(c / n, abs=0)
    fam = family_outcomes({"events": ev}, family="journey", period="2025Q4", gap=gap)
    assert (int(fam["value"].sum()), len(fam)) == (c, n)
    other = scorecard(tables, period="2025Q4", comparison_period="2025Q3",
                      gap="3D" if gap == "30min" else "30min").set_index("key").loc["conversion_rate"]
    assert int(other["n"]) != n  # the gap matters here, so the test can fail
