"""Tests of cxlib.journey.sql: the fused journey SQL gives exactly what the built tables give.

:func:`~cxlib.journey.journeyize` is lazy: every aggregation cuts the events inside its own query
(the *fused* route) until a caller asks for the tables, after which the aggregations read the
event and journey tables (the *built* route).  Both routes must agree bit for bit, on logs with
sub-second times, ties, repeated touchpoints, several journeys per key and censored journeys.
The directly-follows times are also checked against a hand-written DuckDB ``lead()`` query with
``epoch()`` (the reference the previous implementation used).
"""
from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from cxlib.engine import DuckDBBackend
from cxlib.engine.sql import seconds_sql
from cxlib.errors import DataContractError
from cxlib.journey import (attribute, directly_follows, funnel, journeyize, path_lengths, time_to_convert,
                           top_paths, transition_matrix)
from cxlib.journey.sql import decode_sql, window_sql

TPS = ["ad", "email", "search", "search", "cart", "purchase"]


def messy_log(seed: int = 7, n_customers: int = 150) -> pd.DataFrame:
    """Sub-second times, exact ties, repeats, events after a conversion under the same journey id."""
    rng = np.random.default_rng(seed)
    rows, t0 = [], pd.Timestamp("2025-03-01")
    for c in range(n_customers):
        t = t0 + pd.Timedelta(seconds=float(rng.uniform(0, 5 * 86400)))
        for e in range(int(rng.integers(1, 14))):
            if rng.random() > 0.1:  # 10% exact ties with the previous event
                t += pd.Timedelta(microseconds=int(rng.choice([1, 2_500_000_123, 600_000_001, 9_000_000_000])))
            rows.append((f"c{c}", f"j{c}-{e // 7}", t, str(rng.choice(TPS))))
    return pd.DataFrame(rows, columns=["customer_id", "journey_id", "timestamp", "touchpoint"])


def pair(journey_col):
    """The same journeys twice: one left lazy (fused route), one with its tables built."""
    log = messy_log()
    fused = journeyize(log, journey_col=journey_col, gap="1h")
    built = journeyize(log, journey_col=journey_col, gap="1h")
    assert built.events_table and built.journey_table and built.table
    assert fused.fused is not None and built.fused is None
    return fused, built


@pytest.fixture(scope="module", params=["journey_id", None], ids=["explicit", "gap"])
def routes(request):
    return pair(request.param)


def test_counts_agree(routes):
    fused, built = routes
    assert fused.n_journeys == built.n_journeys > 150  # several journeys per key
    assert fused.outcomes()["journeys"].min() > 0  # conversions, abandonments and censored journeys


def test_directly_follows_identical(routes):
    a, b = (directly_follows(j) for j in routes)
    pd.testing.assert_frame_equal(a.edges, b.edges, check_exact=True)
    for s1, s2 in ((a.start_activities, b.start_activities), (a.end_activities, b.end_activities),
                   (a.activities, b.activities)):
        pd.testing.assert_series_equal(s1, s2, check_exact=True)
    assert a.n_journeys == b.n_journeys
    assert (a.edges["journeys"] < a.edges["frequency"]).any()  # repeated edges within journeys occur


@pytest.mark.parametrize("censored", ["truncate", "exclude", "abandonment"])
def test_transition_matrix_identical(routes, censored):
    a, b = (transition_matrix(j, censored=censored) for j in routes)
    pd.testing.assert_frame_equal(a.counts, b.counts, check_exact=True)
    assert a.n_journeys == b.n_journeys


@pytest.mark.parametrize("include_conversion", [False, True])
def test_top_paths_identical(routes, include_conversion):
    a, b = (top_paths(j, k=6, include_conversion=include_conversion).to_frame() for j in routes)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert a["variants"].iloc[-1] > 0 and a["journeys"].sum() == routes[0].n_journeys


def test_path_lengths_and_time_to_convert_identical(routes):
    pd.testing.assert_frame_equal(*(path_lengths(j) for j in routes), check_exact=True)
    a, b = (time_to_convert(j, horizons=["10min", "1D"]) for j in routes)
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame(), check_exact=True)


@pytest.mark.parametrize("steps", [["ad", "search", "cart", "purchase"], ["search", "search", "purchase"]])
def test_funnel_identical(routes, steps):
    a, b = (funnel(j, steps).to_frame() for j in routes)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert a["n_reached"].iloc[-1] > 0


@pytest.mark.parametrize("censored", ["exclude", "abandonment"])
@pytest.mark.parametrize("order", [1, 2])
def test_attribution_identical(routes, censored, order):
    a, b = (attribute(j, n_boot=0, order=order, censored=censored) for j in routes)
    ta, tb = a.to_frame(), b.to_frame()
    np.testing.assert_array_equal(ta["removal_effect"], tb["removal_effect"])
    np.testing.assert_allclose(ta["share"], tb["share"], rtol=0, atol=1e-13)
    assert (a.n_journeys, a.n_conversions) == (b.n_journeys, b.n_conversions)
    c, d = (attribute(j, n_boot=30, rng=5, order=order, censored=censored) for j in routes)
    pd.testing.assert_frame_equal(c.replicates, d.replicates, check_exact=True)


def test_fused_route_writes_no_event_table():
    fused, _ = pair("journey_id")
    for fn in (directly_follows, lambda j: transition_matrix(j, censored="exclude"),
               lambda j: funnel(j, ["ad", "cart"]), lambda j: attribute(j, n_boot=0), lambda j: top_paths(j)):
        fn(fused)
    assert "events" not in fused._built and "journeys" not in fused._built and "table" not in fused._built


def test_directly_follows_times_equal_hand_written_lead_query():
    """Journeys whose conversion, if any, is their last event: the fused DFG equals a plain lead() + epoch()."""
    log = messy_log(3)
    log = log[log.groupby("journey_id")["touchpoint"].transform(lambda s: (s == "purchase").cumsum().shift(
        fill_value=0) == 0)]  # drop events after a conversion in the same journey id
    got = directly_follows(journeyize(log, gap="1h")).edges.set_index(["source", "target"]).sort_index()
    con = duckdb.connect()
    con.register("ev", log)
    ref = con.sql("""
SELECT touchpoint AS source, nxt AS target, count(*)::BIGINT AS frequency, median(dt)::DOUBLE AS median_seconds,
       quantile_cont(dt, 0.25)::DOUBLE AS p25_seconds, quantile_cont(dt, 0.75)::DOUBLE AS p75_seconds
FROM (SELECT touchpoint, lead(touchpoint) OVER w AS nxt, epoch(lead(timestamp) OVER w - timestamp) AS dt FROM ev
      WINDOW w AS (PARTITION BY journey_id ORDER BY timestamp, touchpoint = 'purchase', touchpoint)) x
WHERE nxt IS NOT NULL GROUP BY ALL""").df().set_index(["source", "target"]).sort_index()
    assert len(ref) > 10
    pd.testing.assert_frame_equal(got[ref.columns], ref, check_exact=True)


def test_seconds_sql_is_epoch_bit_for_bit():
    con = duckdb.connect()
    equal, n = con.sql(f"""
SELECT sum(CASE WHEN {seconds_sql('a', 'b')} = epoch(b - a) THEN 1 ELSE 0 END), count(*) FROM (
  SELECT TIMESTAMP '2025-01-01' + to_microseconds((i * 7919 * 104729) % 2000000000000) AS a,
         TIMESTAMP '2025-01-01' + to_microseconds((i * 7919 * 104729) % 2000000000000 + i * 1000003) AS b
  FROM range(1, 50001) t(i))""").fetchall()[0]
    assert equal == n == 50000


def test_window_and_decode_sql():
    fused, _ = pair(None)
    w = fused.backend.df(f"SELECT * FROM ({window_sql(fused.spec, number=True, position=True)}) x "
                         "ORDER BY jkey, r")
    assert list(w.columns) == ["jkey", "ts", "tp", "r", "first", "nxt", "dt", "k"]
    # each journey starts once, its number counts the starts so far, and its last event has no successor
    assert (w.groupby(["jkey", "k"])["first"].sum() == 1).all()
    assert ((w["nxt"].isna()) == w["first"].shift(-1, fill_value=True)).all()
    assert fused.backend.fetchall(f"SELECT {decode_sql('[2, 1, 2]', ['a', 'b'])}")[0][0] == ["b", "a", "b"]


def test_journeys_run_through_a_duckdb_backend_from_any_input():
    log = messy_log(n_customers=20)
    con = duckdb.connect()
    con.register("ev", log)
    ref = journeyize(log, gap="1h")
    assert isinstance(ref.backend, DuckDBBackend)
    for data, table in ((con, "ev"), (DuckDBBackend(con), "ev"), (con.sql("SELECT * FROM ev"), "events")):
        js = journeyize(data, table=table, gap="1h")
        assert isinstance(js.backend, DuckDBBackend)
        assert (js.n_journeys, js.n_events) == (ref.n_journeys, ref.n_events)
    with pytest.raises(DataContractError, match="no table or view 'nope'"):
        journeyize(con, table="nope")


def test_the_old_journey_engine_names_warn():
    import cxlib.journey.sql as journey_sql

    with pytest.warns(DeprecationWarning, match="cxlib.engine.DuckDBBackend"):
        assert journey_sql.Engine is DuckDBBackend
    js = journeyize(messy_log(n_customers=5), gap="1h")
    with pytest.warns(DeprecationWarning, match="Journeys.backend"):
        assert js.engine is js.backend
