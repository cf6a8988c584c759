"""Tests of cxlib.clv.paretonbd.ParetoNBD: CDNOW estimates, lifetimes oracle and extreme histories."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special

from cxlib.clv import ParetoNBD, rfm_summary
from cxlib.clv.paretonbd import _log_a0_part

DATA = Path(__file__).parent / "data"


@lru_cache(maxsize=1)
def cdnow_rfm() -> pd.DataFrame:
    tx = pd.read_csv(DATA / "CDNOW_sample.txt", sep=r"\s+", header=None,
                     names=["master_id", "customer_id", "date", "cds", "amount"])
    tx["timestamp"] = pd.to_datetime(tx["date"].astype(str), format="%Y%m%d")
    return rfm_summary(tx, observation_end="1997-09-30", time_unit="week")


@lru_cache(maxsize=1)
def fitted() -> ParetoNBD:
    return ParetoNBD().fit(cdnow_rfm())


def test_reproduces_published_cdnow_estimates():
    # Fader, Hardie & Lee (2005), Marketing Science 24(2), p. 279 (Pareto/NBD on the same data):
    # r = 0.55, alpha = 10.58, s = 0.61, beta = 11.67, LL = -9595.0
    m = fitted()
    np.testing.assert_allclose(m.params_.to_numpy(), [0.55, 10.58, 0.61, 11.67], atol=6e-3)
    assert m.log_likelihood_ == pytest.approx(-9595.0, abs=0.05)
    o = json.loads((DATA / "lifetimes_oracle_cdnow.json").read_text())["fitted"]["paretonbd"]
    np.testing.assert_allclose(m.params_.to_numpy(), [o["r"], o["alpha"], o["s"], o["beta"]], rtol=2e-3)


def test_predictions_match_lifetimes_oracle():
    o = json.loads((DATA / "lifetimes_oracle_cdnow.json").read_text())
    rows = pd.DataFrame({"frequency": o["frequency"], "recency": o["recency"], "T": o["T"]})
    m = ParetoNBD().fit(cdnow_rfm())
    m.params_ = pd.Series(o["params"]["paretonbd"])
    np.testing.assert_allclose(m.predict_alive(rows), o["paretonbd"]["p_alive"], rtol=1e-7, atol=1e-300)
    np.testing.assert_allclose(m.predict_purchases(rows, t=39), o["paretonbd"]["conditional_purchases_39"],
                               rtol=1e-7, atol=1e-300)
    new = o["paretonbd"]["new_purchases"]
    np.testing.assert_allclose(m.expected_purchases_new([1, 10, 39, 78]), [new[k] for k in ("1", "10", "39", "78")],
                               rtol=1e-10)


@pytest.mark.parametrize("params", [(0.55, 10.6, 0.61, 11.7), (0.55, 30.0, 0.61, 2.0), (2.0, 1.0, 3.0, 50.0)])
@pytest.mark.parametrize("x, tx, T", [(0, 0.0, 38.9), (3, 20.0, 38.9), (250, 37.0, 38.9), (900, 5.0, 38.9)])
def test_hypergeometric_term_equals_the_integral(params, x, tx, T):
    # A0 * s/(r+s+x) = s * int_tx^T (alpha+u)^-(r+x) (beta+u)^-(s+1) du (Fader & Hardie 2005 note, eq. 17)
    r, alpha, s, beta = params
    la = _log_a0_part(r, alpha, s, beta, np.array([x]), np.array([tx]))[0]
    lb = _log_a0_part(r, alpha, s, beta, np.array([x]), np.array([T]))[0]
    log_a0 = la + np.log1p(-np.exp(lb - la))
    # integrate the integrand scaled by its value at tx to stay in floating point range
    ref = -(r + x) * np.log(alpha + tx) - (s + 1) * np.log(beta + tx)
    f = lambda u: np.exp(-(r + x) * np.log(alpha + u) - (s + 1) * np.log(beta + u) - ref)  # noqa: E731
    val, _ = integrate.quad(f, tx, T, epsabs=0, epsrel=1e-12, limit=200)
    assert log_a0 - np.log(r + s + x) == pytest.approx(np.log(val) + ref, rel=1e-9, abs=1e-9)


def test_extreme_histories_do_not_overflow():
    m = fitted()
    ext = pd.DataFrame({"frequency": [300, 1000, 5000, 500], "recency": [38.0, 38.5, 38.8, 2.0],
                        "T": [38.857] * 4})
    alive = m.predict_alive(ext).to_numpy()
    e = m.predict_purchases(ext, t=10).to_numpy()
    assert np.all(np.isfinite(alive)) and np.all(np.isfinite(e))
    assert alive[3] < 1e-100 and alive[2] > 0.9
    # posterior rate (r+x)/(alpha+T) times 10 weeks is an upper bound (future drop-out only lowers it)
    upper = 10 * (m.params_["r"] + 5000) / (m.params_["alpha"] + 38.857)
    assert 0.8 * upper < e[2] < upper
    ll = m._negll(np.log(m.params_.to_numpy()), tuple(ext[c].to_numpy(float) for c in ("frequency", "recency", "T")),
                  np.ones(4))[0]
    assert np.isfinite(ll)


def test_ratio_is_continuous_at_s_equal_one():
    a = ParetoNBD._ratio(1.0, 10.0, 5.0)
    b = ParetoNBD._ratio(1.0 + 1e-7, 10.0, 5.0)
    assert a == pytest.approx(np.log(1.5)) and b == pytest.approx(a, rel=1e-6)


def test_recovers_simulated_parameters_within_ci():
    rng = np.random.default_rng(11)
    truth = {"r": 0.5, "alpha": 8.0, "s": 0.8, "beta": 10.0}
    data = ParetoNBD.simulate(truth, T=rng.uniform(30, 60, 5000), rng=rng)
    m = ParetoNBD(alpha=0.01).fit(data, time_unit="week")
    ci = m.conf_int()
    for name, value in truth.items():
        assert ci.loc[name, "ci_lower"] < value < ci.loc[name, "ci_upper"], name
    assert special.expit(0) == 0.5  # sanity of the helper used for P(alive)
