"""Tests of cxlib.clv.bgnbd.BetaGeo: FHL (2005) on CDNOW, lifetimes oracle, numerics."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cxlib.clv import BetaGeo, GammaGamma, rfm_summary
from cxlib.errors import ConvergenceError, NotFittedError, ParameterError

DATA = Path(__file__).parent / "data"


@lru_cache(maxsize=1)
def cdnow_rfm() -> pd.DataFrame:
    tx = pd.read_csv(DATA / "CDNOW_sample.txt", sep=r"\s+", header=None,
                     names=["master_id", "customer_id", "date", "cds", "amount"])
    tx["timestamp"] = pd.to_datetime(tx["date"].astype(str), format="%Y%m%d")
    return rfm_summary(tx, observation_end="1998-06-30", calibration_end="1997-09-30", time_unit="week")


def oracle() -> dict:
    return json.loads((DATA / "lifetimes_oracle_cdnow.json").read_text())


def oracle_rows(o: dict) -> pd.DataFrame:
    return pd.DataFrame({"frequency": o["frequency"], "recency": o["recency"], "T": o["T"],
                         "monetary_value": o["monetary_value"]}, index=o["customers"])


def at_params(params: dict) -> BetaGeo:
    """A BetaGeo fitted on CDNOW, then moved to the given parameters (predictions only)."""
    m = BetaGeo().fit(cdnow_rfm())
    m.params_ = pd.Series(params, index=list(BetaGeo._param_names), dtype=float)
    return m


def test_reproduces_fader_hardie_lee_2005():
    # FHL (2005), Marketing Science 24(2), p. 279: r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4
    m = BetaGeo().fit(cdnow_rfm())
    np.testing.assert_allclose(m.params_.to_numpy(), [0.243, 4.414, 0.793, 2.426], atol=6e-4)
    assert m.log_likelihood_ == pytest.approx(-9582.4, abs=0.05)
    assert m.n_ == 2357 and m.n_unique_ < 2357  # identical histories compressed
    s = m.summary
    assert list(s.columns) == ["param", "estimate", "se", "ci_lower", "ci_upper", "ci_level", "n", "method"]
    assert s["param"].tolist() == ["r", "alpha", "a", "b"]
    assert (s["ci_lower"] < s["estimate"]).all() and (s["estimate"] < s["ci_upper"]).all()
    # standard errors from the observed information; reference: lifetimes 0.11.3
    # BetaGeoFitter().fit(frequency, recency, T).summary["se(coef)"] on the same data
    np.testing.assert_allclose(s["se"], [0.012557, 0.378224, 0.185734, 0.705414], rtol=1e-3)


def test_matches_lifetimes_fitted_parameters():
    o = oracle()["fitted"]["bgnbd"]
    m = BetaGeo().fit(cdnow_rfm())
    np.testing.assert_allclose(m.params_.to_numpy(), [o["r"], o["alpha"], o["a"], o["b"]], rtol=1e-4)


def test_predictions_match_lifetimes_oracle():
    o = oracle()
    rows = oracle_rows(o)
    m = at_params(o["params"]["bgnbd"])
    np.testing.assert_allclose(m.predict_purchases(rows, t=39), o["bgnbd"]["conditional_purchases_39"],
                               rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(m.predict_alive(rows), o["bgnbd"]["p_alive"], rtol=1e-8, atol=1e-12)
    new = o["bgnbd"]["new_purchases"]
    np.testing.assert_allclose(m.expected_purchases_new([1, 10, 39, 78]), [new[k] for k in ("1", "10", "39", "78")],
                               rtol=1e-10)
    np.testing.assert_allclose(m.probability_of_purchases(39, np.arange(8)), o["bgnbd"]["p_n_39"], rtol=1e-8)


def test_clv_matches_lifetimes_with_its_month_made_explicit():
    # lifetimes: 12 "months" of 4.345 weeks, 1% a month, discounted at each month end.
    o = oracle()
    rows = oracle_rows(o)
    m = at_params(o["params"]["bgnbd"])
    gg = GammaGamma().fit(cdnow_rfm()[cdnow_rfm()["frequency"] > 0])
    gg.params_ = pd.Series({"p": 6.25, "q": 3.74, "gamma": 15.44})
    spend = gg.predict_spend(rows.fillna({"monetary_value": 0.0}))
    step = 4.345
    annual = 1.01 ** (365.25 / (7 * step)) - 1
    clv = m.predict_clv(rows, spend=spend, horizon=12 * step, step=step, annual_discount_rate=annual)
    np.testing.assert_allclose(clv, o["clv_bgnbd_12m_1pct"], rtol=1e-8)
    assert clv.index.tolist() == rows.index.tolist()


def test_probability_of_purchases_is_a_distribution_with_the_right_mean():
    m = BetaGeo().fit(cdnow_rfm())
    n = np.arange(400)
    p = m.probability_of_purchases(52, n)
    assert p.sum() == pytest.approx(1.0, abs=1e-9)
    assert (p * n).sum() == pytest.approx(float(m.expected_purchases_new(52)), rel=1e-8)


def test_extreme_histories_stay_finite_and_monotone():
    m = BetaGeo().fit(cdnow_rfm())
    ext = pd.DataFrame({"frequency": [100, 500, 2000, 2000], "recency": [38.8, 38.8, 38.8, 2.0],
                        "T": [38.857] * 4})
    e = m.predict_purchases(ext, t=10).to_numpy()
    assert np.all(np.isfinite(e))
    # an active heavy buyer's posterior rate is (r+x)/(alpha+T) a week; drop-outs after future purchases
    # can only lower the 10-week expectation
    r, alpha = m.params_["r"], m.params_["alpha"]
    upper = 10 * (r + 2000) / (alpha + 38.857)
    assert e[0] < e[1] < e[2] and 0.8 * upper < e[2] < upper
    assert m.predict_alive(ext).iloc[3] == 0.0  # silent for 37 weeks after 2000 purchases: surely gone


def test_compression_and_weights_give_identical_fit():
    rfm = cdnow_rfm()
    full = BetaGeo().fit(rfm)
    agg = rfm.groupby(["frequency", "recency", "T"]).size().rename("n").reset_index()
    agg.attrs["time_unit"] = "week"
    weighted = BetaGeo().fit(agg, weights_col="n")
    np.testing.assert_allclose(weighted.params_, full.params_, rtol=1e-7)
    assert weighted.log_likelihood_ == pytest.approx(full.log_likelihood_, rel=1e-10)


def test_analytic_gradient_matches_finite_differences():
    m = BetaGeo()
    rfm = cdnow_rfm()
    data = (rfm["frequency"].to_numpy(float), rfm["recency"].to_numpy(), rfm["T"].to_numpy())
    w = np.ones(len(rfm))
    logp = np.log([0.3, 5.0, 0.9, 2.0])
    np.testing.assert_allclose(m._negll(logp, data, w)[1], m._numeric_grad(logp, data, w), rtol=1e-6)


def test_recovers_simulated_parameters_within_ci():
    rng = np.random.default_rng(20261123)
    truth = {"r": 0.4, "alpha": 6.0, "a": 0.7, "b": 3.0}
    data = BetaGeo.simulate(truth, T=rng.uniform(20, 52, 6000), rng=rng)
    m = BetaGeo(alpha=0.01).fit(data, time_unit="week")
    ci = m.conf_int()
    for name, value in truth.items():
        assert ci.loc[name, "ci_lower"] < value < ci.loc[name, "ci_upper"], name


def test_clv_time_unit_is_explicit():
    rfm = cdnow_rfm()
    m = BetaGeo().fit(rfm)
    rows = rfm.head(3)
    weekly = m.predict_clv(rows, spend=np.ones(3), horizon=52, annual_discount_rate=0.0)
    np.testing.assert_allclose(weekly, m.predict_purchases(rows, t=52), rtol=1e-12)
    discounted = m.predict_clv(rows, spend=np.ones(3), horizon=52, annual_discount_rate=0.1)
    assert (discounted < weekly).all() and (discounted > weekly / 1.1).all()


def test_errors():
    with pytest.raises(NotFittedError, match="fit"):
        BetaGeo().predict_alive(cdnow_rfm())
    with pytest.raises(ParameterError, match="time unit"):
        BetaGeo().fit(pd.DataFrame({"frequency": [1], "recency": [1.0], "T": [2.0]}))
    with pytest.raises(ParameterError, match="impossible"):
        BetaGeo().fit(pd.DataFrame({"frequency": [1], "recency": [3.0], "T": [2.0]}), time_unit="week")
    with pytest.raises(ParameterError, match="repeat"):
        BetaGeo().fit(pd.DataFrame({"frequency": [0, 0], "recency": [0.0, 0.0], "T": [2.0, 3.0]}), time_unit="day")
    with pytest.raises(ParameterError, match="unknown keys"):
        BetaGeo().fit(cdnow_rfm(), initial_params={"s": 1.0})


def test_degenerate_data_fail_with_checklist():
    # everybody buys at the same pace and nobody stops: a -> 0 / b -> infinity, no interior optimum
    data = pd.DataFrame({"frequency": [10] * 50, "recency": [10.0] * 50, "T": [10.0] * 50})
    with pytest.raises(ConvergenceError, match="1. Are there enough"):
        BetaGeo().fit(data, time_unit="week")


@pytest.mark.optional
def test_live_lifetimes_oracle():
    lifetimes = pytest.importorskip("lifetimes", reason="lifetimes (abandoned) is not installed in this venv; "
                                    "the stored oracle in tests/data covers the same predictions")
    rfm = cdnow_rfm()
    lt = lifetimes.BetaGeoFitter().fit(rfm["frequency"], rfm["recency"], rfm["T"])
    m = BetaGeo().fit(rfm)
    np.testing.assert_allclose(m.params_.to_numpy(), lt.params_[["r", "alpha", "a", "b"]].to_numpy(), rtol=1e-4)
