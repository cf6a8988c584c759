"""The event log held lazily (validated, kept in DuckDB): every analysis that reads events gives the same
answer as with the log in pandas, and only the rows it needs ever reach pandas (Dataset.frame)."""
from __future__ import annotations

import pandas as pd
import pytest

from cxlib import actions as act
from cxlib import data, synth
from cxlib.errors import ParameterError
from cxlib.significance import metric_trends, scorecard

PERIODS = ["2025Q2", "2025Q3", "2025Q4"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lazy") / "world"
    synth.generate(folder, n_customers=1500, seed=11)
    return folder


@pytest.fixture(scope="module")
def both(world):
    return data.load(world), data.load(world, lazy=["events"])


def test_frame_reads_only_matching_rows_in_file_order(both, monkeypatch):
    full, lazy = both
    where = "journey_id IN (SELECT journey_id FROM events WHERE timestamp >= ? AND timestamp < ?)"
    params = [pd.Timestamp("2025-10-01"), pd.Timestamp("2026-01-01")]
    ev = full.events
    ids = ev.loc[(ev["timestamp"] >= params[0]) & (ev["timestamp"] < params[1]), "journey_id"]
    want = ev[ev["journey_id"].isin(ids)]
    got_mem = full.frame("events", where=where, params=params)
    pd.testing.assert_frame_equal(got_mem, want)
    got_lazy = lazy.frame("events", where=where, params=params)
    pd.testing.assert_frame_equal(got_lazy, want.reset_index(drop=True))
    assert 0 < len(got_lazy) < 0.5 * len(ev)
    pd.testing.assert_frame_equal(lazy.frame("events"), ev)  # no condition: the whole table, typed alike


def test_frame_errors_name_the_table(both):
    full, lazy = both
    for ds in both:
        with pytest.raises(ParameterError, match="'events'.*no_such_column"):
            ds.frame("events", where="no_such_column > 1")
    with pytest.raises(KeyError, match="not loaded"):
        data.load(full.path, tables=["customers"]).frame("events")


def test_frame_on_csv_filters_after_typing(tmp_path):
    folder = tmp_path / "w"
    synth.generate(folder, n_customers=200, seed=2)
    ev = pd.read_parquet(folder / "events.parquet")
    local = (ev["timestamp"] + pd.Timedelta(hours=2)).dt.strftime("%Y-%m-%d %H:%M:%S.%f") + "+02:00"
    ev.assign(timestamp=local).to_csv(folder / "events.csv", index=False)
    (folder / "events.parquet").unlink()
    lazy = data.load(folder, tables=["customers", "events"], lazy=["events"])
    cut = pd.Timestamp("2025-07-01")
    got = lazy.frame("events", where="timestamp >= ?", params=[cut])
    full = data.load(folder, tables=["customers", "events"]).events  # offsets converted to UTC on reading
    pd.testing.assert_frame_equal(got, full[full["timestamp"] >= cut])


def test_scorecard_and_trends_equal_with_a_lazy_event_log(both):
    full, lazy = both
    kw = {"period": "2025Q4", "comparison_period": "2025Q3"}
    card_full, card_lazy = scorecard(full, **kw), scorecard(lazy, **kw)
    assert "conversion_rate" in set(card_lazy["key"])
    pd.testing.assert_frame_equal(card_lazy, card_full)
    pd.testing.assert_frame_equal(scorecard(lazy, segment="loyalty_tier", **kw),
                                  scorecard(full, segment="loyalty_tier", **kw))
    pd.testing.assert_frame_equal(metric_trends(lazy, periods=PERIODS), metric_trends(full, periods=PERIODS))


def test_dashboard_journey_alerts_equal_with_a_lazy_event_log(both):
    full, lazy = both
    kw = {"period": "2025Q4", "segment": ["loyalty_tier", "channel"], "families": ["journey"]}
    for against in ({"comparison_period": "2025Q3"}, {"against": "rest"}):
        a, b = act.dashboard_alerts(lazy, **kw, **against), act.dashboard_alerts(full, **kw, **against)
        assert len(b.table) > 3 and b.table["p_value"].notna().any()
        pd.testing.assert_frame_equal(a.table, b.table)
