"""Tests of cxlib.journey.timing: gaps between touchpoints, time to convert, Kaplan-Meier with censoring."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from cxlib.errors import ParameterError
from cxlib.journey import from_paths, journeyize, time_between, time_to_convert
from cxlib.journey.timing import GAP_COLUMNS, TTC_COLUMNS
from cxlib.stats import median_rank_bounds

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


def _ttc_log() -> pd.DataFrame:
    t = pd.Timestamp("2025-01-01")
    rows = []
    durations = {"a": 60, "b": 120, "c": 300, "d": 600}  # conversions after these many seconds
    for c, d in durations.items():
        rows += [(c, t, "search"), (c, t + pd.Timedelta(seconds=d), "purchase")]
    rows += [("e", t, "search"), ("e", t + pd.Timedelta(seconds=200), "cart")]  # abandoned at 200 s
    rows += [("f", t + pd.Timedelta(hours=5), "search")]  # censored: last event is the observation end
    return pd.DataFrame(rows, columns=["customer_id", "timestamp", "touchpoint"])


def test_time_to_convert_is_aalen_johansen_and_matches_lifelines():
    from lifelines import AalenJohansenFitter

    js = journeyize(_ttc_log(), gap="1h")
    res = time_to_convert(js, horizons=["150s", "1h"])
    tab = res.to_frame().set_index("statistic")
    assert list(res.to_frame().columns) == list(TTC_COLUMNS)
    assert tab.loc["median_converters", "estimate"] == pytest.approx(210.0)
    # lifelines 0.30: AalenJohansenFitter().fit(T, E, event_of_interest=1); no tied event times, so no jitter
    T, E = [60, 120, 300, 600, 200, 0], [1, 1, 1, 1, 2, 0]
    ajf = AalenJohansenFitter(calculate_variance=True).fit(T, E, event_of_interest=1)
    ref = ajf.cumulative_density_.iloc[:, 0]
    curve = res.curve.set_index("time_seconds")
    assert list(curve.index) == [0.0, 60.0, 120.0, 200.0, 300.0, 600.0]
    np.testing.assert_allclose(curve["conversion_probability"], ref.reindex(curve.index).to_numpy(), atol=1e-12)
    # by hand: 1/5, + 4/5 * 1/4, abandonment at 200 s (S = 2/5), + 2/5 * 1/2, + 1/5 * 1 = 0.8 = 4 of 5 known
    assert curve["conversion_probability"].tolist() == pytest.approx([0, 0.2, 0.4, 0.4, 0.6, 0.8])
    assert curve.loc[200.0, "abandonment_probability"] == pytest.approx(0.2)
    # lifelines labels its two columns the other way round (its "upper" is exp(-exp(log(-log F) + z se)),
    # the smaller value), so compare the pointwise min and max
    ci = ajf.confidence_interval_.reindex(curve.index).to_numpy()
    finite = (curve.index > 0) & (curve.index < 600)  # lifelines divides by n - d = 0 at 600 s
    np.testing.assert_allclose(curve.loc[finite, "ci_lower"], ci[finite].min(axis=1), rtol=1e-9)
    np.testing.assert_allclose(curve.loc[finite, "ci_upper"], ci[finite].max(axis=1), rtol=1e-9)
    assert (curve.loc[finite, "ci_lower"] < curve.loc[finite, "conversion_probability"]).all()
    # at 600 s the last journey converts (n = d = 1): lifelines gives NaN, the term is 0 * inf = 0 here
    assert np.isnan(ci[-1]).all()
    assert 0 < curve.loc[600.0, "ci_lower"] < 0.8 < curve.loc[600.0, "ci_upper"]
    by = tab[tab.index == "conversion_by"].set_index("horizon_seconds")
    assert by.loc[150.0, "estimate"] == pytest.approx(0.4)
    assert by.loc[150.0, "ci_lower"] < 0.4 < by.loc[150.0, "ci_upper"]
    # the old Kaplan-Meier view (abandonment censored) said 1.0 here; 4 of the 5 finished journeys converted
    assert by.loc[3600.0, "estimate"] == pytest.approx(0.8) == pytest.approx(res.conversion_share)
    assert tab.loc["median_cumulative_incidence", "estimate"] == pytest.approx(300.0)  # first time F >= 0.5


def test_cumulative_incidence_reaches_the_plain_conversion_share():
    """On a real-sized log the late-horizon incidence equals the share of converted journeys (few censored)."""
    js = journeyize(small_log(), gap="2h")
    res = time_to_convert(js, horizons=["1h", "365D"])
    out = js.outcomes().set_index("outcome")["journeys"]
    share = out["conversion"] / (out["conversion"] + out["abandonment"])
    late = res.to_frame().query("statistic == 'conversion_by'").set_index("horizon_seconds")
    est = late.loc[365 * 86400.0]
    assert res.conversion_share == pytest.approx(share)
    assert abs(est["estimate"] - share) < 0.01  # censored journeys are a handful at the end of the log
    assert est["ci_lower"] < share < est["ci_upper"]
    assert late.loc[3600.0, "estimate"] <= est["estimate"]
    d = res.curve
    total = d["conversions"].sum() + d["abandonments"].sum() + d["censored"].sum()
    assert total == js.n_journeys
    assert d["conversion_probability"].is_monotonic_increasing
    assert (d["conversion_probability"] + d["abandonment_probability"] <= 1 + 1e-12).all()


def test_aalen_johansen_without_censoring_is_the_empirical_share():
    from cxlib.journey.timing import aalen_johansen

    rng = np.random.default_rng(7)
    t = rng.exponential(100, 500).round()  # ties between the two kinds of event on purpose
    e = rng.choice([1, 2], size=500, p=[0.3, 0.7])
    cif = aalen_johansen(t, e).set_index("time_seconds")
    for h in (50.0, 100.0, 300.0):
        F = cif.loc[cif.index <= h, "conversion_probability"].iloc[-1]
        assert F == pytest.approx(np.mean((t <= h) & (e == 1)))
    assert cif["conversion_probability"].iloc[-1] == pytest.approx(np.mean(e == 1))
    with pytest.raises(ParameterError, match="0 \\(censored\\)"):
        aalen_johansen([1.0], [3])


def test_timing_needs_times():
    js = from_paths(pd.DataFrame({"path": ["a"], "conversions": [1], "nulls": [1]}))
    with pytest.raises(ParameterError, match="without event times"):
        time_between(js)
    with pytest.raises(ParameterError, match="by='step'"):
        time_between(journeyize(small_log()), by="step")
