"""Tests of cxlib.journey.sessions: cutting events into journeys, outcomes, inputs accepted."""
from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from cxlib.errors import DataContractError, ParameterError
from cxlib.journey import from_paths, journeyize
from cxlib.journey.sessions import JOURNEY_COLUMNS

T = pd.Timestamp


def events() -> pd.DataFrame:
    """Customer a: search, cart, purchase (one journey), then a search 2 h later (new journey, abandoned).
    Customer b: two events 10 min apart, then silence; c: one event 5 min before the end (censored)."""
    rows = [("a", "2025-01-01 10:00", "search"), ("a", "2025-01-01 10:05", "cart"),
            ("a", "2025-01-01 10:06", "purchase"), ("a", "2025-01-01 12:06", "search"),
            ("b", "2025-01-01 09:00", "homepage"), ("b", "2025-01-01 09:10", "search"),
            ("c", "2025-01-01 23:55", "homepage"), ("d", "2025-01-02 00:00", "search")]
    return pd.DataFrame(rows, columns=["customer_id", "timestamp", "touchpoint"]).assign(
        timestamp=lambda d: pd.to_datetime(d["timestamp"]))


def test_gap_splits_and_outcomes():
    js = journeyize(events(), gap="30min")
    f = js.to_frame().set_index("journey_id")
    assert list(f.columns) == [c for c in JOURNEY_COLUMNS if c != "journey_id"]
    assert js.n_journeys == 5 and js.n_events == 8
    assert f.loc["a:1", "path"] == ["search", "cart"] and f.loc["a:1", "touchpoints"][-1] == "purchase"
    assert f.loc["a:1", "outcome"] == "conversion"
    assert f.loc["a:2", "outcome"] == "abandonment" and f.loc["a:2", "path"] == ["search"]
    assert f.loc["b:1", "n_events"] == 2 and f.loc["b:1", "outcome"] == "abandonment"
    assert f.loc["c:1", "outcome"] == "censored"  # 5 min before the last event (observation end)
    assert js.outcomes()["journeys"].tolist() == [1, 2, 2]


def test_longer_gap_merges_journeys_and_conversion_still_ends_one():
    js = journeyize(events(), gap="3h")
    f = js.to_frame().set_index("journey_id")
    assert f.loc["a:2", "path"] == ["search"]  # a new journey after the purchase despite the long gap
    assert js.n_journeys == 5


def test_explicit_journey_id_and_split_after_conversion():
    ev = events().assign(journey_id=["J1", "J1", "J1", "J1", "J2", "J2", "J3", "J4"])
    f = journeyize(ev).to_frame().set_index("journey_id")
    assert list(f.index) == ["J2", "J1", "J1#2", "J3", "J4"]
    assert f.loc["J1#2", "path"] == ["search"]


def test_time_bounds_and_observation_end():
    js = journeyize(events(), start="2025-01-01 09:30", end="2025-01-01 23:00")
    assert js.n_events == 4
    js2 = journeyize(events(), observation_end="2025-01-03")
    assert js2.outcomes().set_index("outcome").loc["censored", "journeys"] == 0


@pytest.mark.parametrize("kind", ["frame", "connection", "relation"])
def test_inputs_give_identical_journeys(kind):
    ev = events()
    if kind == "frame":
        data = ev
    else:
        con = duckdb.connect()
        con.register("ev_df", ev)
        con.execute("CREATE TABLE events AS SELECT * FROM ev_df")
        data = con if kind == "connection" else con.sql("SELECT * FROM events")
    got = journeyize(data).to_frame()
    ref = journeyize(ev).to_frame()
    pd.testing.assert_frame_equal(got, ref)


def test_dataset_like_input(tmp_path):
    events().to_parquet(tmp_path / "events.parquet")

    class FakeDataset:  # the two members journeyize uses of cxlib.data.Dataset
        path = tmp_path
        files = {"events": tmp_path / "events.parquet"}

        def connection(self):
            con = duckdb.connect()
            con.execute(f"CREATE VIEW events AS SELECT * FROM read_parquet('{tmp_path / 'events.parquet'}')")
            return con

    assert journeyize(FakeDataset()).n_journeys == 5


def test_errors_name_the_problem():
    with pytest.raises(DataContractError, match="missing column"):
        journeyize(events().drop(columns="touchpoint"))
    with pytest.raises(ParameterError, match="gap="):
        journeyize(events(), gap="soon")
    with pytest.raises(ParameterError, match="positive"):
        journeyize(events(), gap="-5min")
    with pytest.raises(DataContractError, match="No events left"):
        journeyize(events(), start="2030-01-01")
    with pytest.raises(ParameterError, match="Cannot read events"):
        journeyize([1, 2, 3])
    with pytest.raises(DataContractError, match="no table or view"):
        journeyize(duckdb.connect(), table="nope")


def test_from_paths_weights_and_validation():
    js = from_paths(pd.DataFrame({"path": ["a > b", "c"], "conversions": [3, 0], "nulls": [2, 5]}))
    assert (js.n_journeys, js.n_events, js.has_times) == (10, 3 * 3 + 2 * 2 + 5, False)
    f = js.to_frame()
    assert f.groupby("outcome")["weight"].sum().to_dict() == {"abandonment": 7, "conversion": 3}
    with pytest.raises(DataContractError, match="whole numbers"):
        from_paths(pd.DataFrame({"path": ["a"], "conversions": [1.5], "nulls": [0]}))
    with pytest.raises(DataContractError, match="missing column"):
        from_paths(pd.DataFrame({"path": ["a"], "conversions": [1]}))
