"""Tests of cxlib.journey.timing: gaps between touchpoints, time to convert, Kaplan-Meier with censoring."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from cxlib.errors import ParameterError
from cxlib.journey import from_paths, journeyize, time_between, time_to_convert
from cxlib.journey._stats import median_rank_bounds
from cxlib.journey.timing import GAP_COLUMNS, TTC_COLUMNS

DATA = Path(__file__).parent / "data"


def small_log() -> pd.DataFrame:
    return pd.read_csv(DATA / "journey_events_small.csv.gz", parse_dates=["timestamp"])


def test_time_between_matches_pandas():
    log = small_log().sort_values(["journey_id", "timestamp"])
    got = time_between(journeyize(log), by="pair")
    assert list(got.columns) == list(GAP_COLUMNS)
    log["next"] = log.groupby("journey_id")["touchpoint"].shift(-1)
    log["gap"] = (log.groupby("journey_id")["timestamp"].shift(-1) - log["timestamp"]).dt.total_seconds()
    g = log.dropna(subset=["next"]).groupby(["touchpoint", "next"])["gap"]
    row = got.set_index(["source", "target"]).loc[("cart", "checkout")]
    x = np.sort(g.get_group(("cart", "checkout")).to_numpy())
    assert row["n"] == len(x) and row["median_seconds"] == pytest.approx(np.median(x))
    assert row["p75_seconds"] == pytest.approx(np.quantile(x, 0.75)) and row["mean_seconds"] == pytest.approx(x.mean())
    lo, hi = median_rank_bounds(np.array([len(x)]))
    assert (row["ci_lower"], row["ci_upper"]) == (x[lo[0] - 1], x[hi[0] - 1])
    overall = time_between(journeyize(log), by="none")
    assert len(overall) == 1 and overall["n"].iloc[0] == g.size().sum()


@pytest.mark.parametrize("n", [6, 10, 20, 57, 200])
def test_median_rank_bounds_have_the_promised_coverage(n):
    lo, hi = median_rank_bounds(np.array([n]), 0.05)
    coverage = stats.binom.cdf(hi[0] - 1, n, 0.5) - stats.binom.cdf(lo[0] - 1, n, 0.5)
    assert coverage >= 0.95
    # and the interval one rank narrower would fall short
    tighter = stats.binom.cdf(hi[0] - 2, n, 0.5) - stats.binom.cdf(lo[0], n, 0.5)
    assert tighter < 0.95
    assert median_rank_bounds(np.array([5]), 0.05) == (np.array([0]), np.array([0]))  # too few for 95%


def test_time_to_convert_with_censoring_matches_lifelines():
    from lifelines import KaplanMeierFitter

    t = pd.Timestamp("2025-01-01")
    rows = []
    durations = {"a": 60, "b": 120, "c": 300, "d": 600}  # conversions after these many seconds
    for c, d in durations.items():
        rows += [(c, t, "search"), (c, t + pd.Timedelta(seconds=d), "purchase")]
    rows += [("e", t, "search"), ("e", t + pd.Timedelta(seconds=200), "cart")]  # abandoned at 200 s
    rows += [("f", t + pd.Timedelta(hours=5), "search")]  # censored: last event is the observation end
    js = journeyize(pd.DataFrame(rows, columns=["customer_id", "timestamp", "touchpoint"]), gap="1h")
    res = time_to_convert(js, horizons=["150s", "1h"])
    tab = res.to_frame().set_index("statistic")
    assert list(res.to_frame().columns) == list(TTC_COLUMNS)
    assert tab.loc["median_converters", "estimate"] == pytest.approx(210.0)
    kmf = KaplanMeierFitter().fit([60, 120, 300, 600, 200, 0], event_observed=[1, 1, 1, 1, 0, 0])
    by = tab[tab.index == "conversion_by"].set_index("horizon_seconds")
    assert by.loc[150.0, "estimate"] == pytest.approx(1 - float(kmf.survival_function_at_times(150).iloc[0]))
    assert by.loc[3600.0, "estimate"] == pytest.approx(1.0)
    assert tab.loc["median_kaplan_meier", "estimate"] == pytest.approx(kmf.median_survival_time_)
    assert res.curve["conversion_probability"].is_monotonic_increasing


def test_timing_needs_times():
    js = from_paths(pd.DataFrame({"path": ["a"], "conversions": [1], "nulls": [1]}))
    with pytest.raises(ParameterError, match="without event times"):
        time_between(js)
    with pytest.raises(ParameterError, match="by='step'"):
        time_between(journeyize(small_log()), by="step")
