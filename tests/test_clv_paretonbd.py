"""Tests of cxlib.clv.paretonbd.ParetoNBD: CDNOW estimates, lifetimes oracle, extreme histories,
the analytic gradient and P(X(t) = n)."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special

from cxlib.clv import ParetoNBD, rfm_summary
from cxlib.clv._hyp2f1 import hyp2f1_1bc
from cxlib.clv.paretonbd import _log_a0_part
from cxlib.errors import NotFittedError, ParameterError

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


# ---------------------------------------------------------------- analytic gradient
# parameter sets cover alpha < beta, alpha > beta, alpha = beta, and z > 0.9 at y = 0 (scipy fallback rows)
GRAD_PARAMS = [(0.55, 10.6, 0.61, 11.7), (0.55, 30.0, 0.61, 2.0), (2.0, 1.0, 3.0, 50.0), (0.3, 5.0, 0.5, 5.0),
               (0.5, 100.0, 0.6, 1.0), (0.05, 1.0, 0.1, 300.0)]
# histories: no repeat, light, heavy (hundreds to thousands of purchases), last purchase at T, tiny recency
HISTORIES = (np.array([0, 0, 1, 3, 250, 900, 5000, 2, 7, 40]), np.array([0, 0, 5, 20, 37, 5, 38.8, 38.9, 38.9, 0.01]),
             np.array([38.9, 2.0, 38.9, 38.9, 38.9, 38.9, 38.9, 38.9, 38.9, 38.9]))


@pytest.mark.parametrize("params", GRAD_PARAMS)
def test_analytic_gradient_matches_finite_differences(params):
    m = ParetoNBD()
    x, tx, T = (np.asarray(v, dtype=float) for v in HISTORIES)
    w = np.arange(1.0, len(x) + 1)
    logp = np.log(params)
    f, g = m._negll(logp, (x, tx, T), w)
    assert np.isfinite(f) and np.all(np.isfinite(g))
    num = np.empty(4)
    for i in range(4):  # central differences of the exact log-likelihood, step 1e-6 on the log scale
        e = np.zeros(4)
        e[i] = 1e-6
        num[i] = (m._negll(logp + e, (x, tx, T), w)[0] - m._negll(logp - e, (x, tx, T), w)[0]) / 2e-6
    np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-5 * abs(f) * 1e-3)


@pytest.mark.parametrize("params", GRAD_PARAMS)
def test_gradient_of_each_history_term(params):
    # per-row check (weights = one-hot) so that a wrong light-history term cannot hide behind a heavy one
    m = ParetoNBD()
    x, tx, T = (np.asarray(v, dtype=float) for v in HISTORIES)
    logp = np.log(params)
    for i in range(len(x)):
        w = np.zeros(len(x))
        w[i] = 1.0
        g = m._negll(logp, (x, tx, T), w)[1]
        num = m._numeric_grad(logp, (x, tx, T), w)
        np.testing.assert_allclose(g, num, rtol=2e-5, atol=2e-5, err_msg=f"history {i}")


@pytest.mark.parametrize("B, C, z", [(0.5, 2.1, 0.0), (0.55, 2.16, 0.094), (5000.3, 5001.9, 0.5), (1.6, 2.2, 0.8999),
                                     (1.6, 2.2, 0.9001), (0.01, 1.02, 0.85), (3.2, 9.0, 0.95), (0.5, 1.7, 0.999)])
def test_hyp2f1_series_and_derivatives(B, C, z):
    F, fB, fC, fz = (v[0] for v in hyp2f1_1bc(np.array([B]), np.array([C]), np.array([z])))
    assert F == pytest.approx(special.hyp2f1(1.0, B, C, z), rel=1e-13)
    h = 1e-5 * max(1.0, B)
    lf = lambda b, c, zz: np.log(special.hyp2f1(1.0, b, c, zz))  # noqa: E731  scipy is the reference here
    assert fB == pytest.approx((lf(B + h, C, z) - lf(B - h, C, z)) / (2 * h), rel=1e-5, abs=1e-12)
    hc = 1e-5 * max(1.0, C)
    assert fC == pytest.approx((lf(B, C + hc, z) - lf(B, C - hc, z)) / (2 * hc), rel=1e-5, abs=1e-12)
    hz = 1e-7
    lo = max(z - hz, 0.0)
    assert fz == pytest.approx((lf(B, C, z + hz) - lf(B, C, lo)) / (z + hz - lo), rel=1e-5)


def test_compression_and_weights_give_identical_fit():
    rfm = cdnow_rfm()
    full = fitted()
    agg = rfm.groupby(["frequency", "recency", "T"]).size().rename("n").reset_index()
    agg.attrs["time_unit"] = "week"
    weighted = ParetoNBD().fit(agg, weights_col="n")
    np.testing.assert_allclose(weighted.params_, full.params_, rtol=1e-7)
    assert weighted.log_likelihood_ == pytest.approx(full.log_likelihood_, rel=1e-12)
    assert full.n_unique_ == len(agg) == 1016


def test_cdnow_optimum_is_at_least_as_good_as_the_pymc_marketing_constants():
    # pymc-marketing's tests use r=0.5534, alpha=10.5802, s=0.6061, beta=11.6562 for CDNOW
    # (tests/clv/models/test_pareto_nbd.py); that point is 2.5e-5 log-likelihood units below our MLE,
    # whose beta (11.669) agrees with lifetimes 0.11.3 (11.667) and Fader-Hardie-Lee 2005 (11.67).
    m = fitted()
    rfm = cdnow_rfm()
    data = tuple(rfm[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    ll_pymc = -m._negll(np.log([0.5534, 10.5802, 0.6061, 11.6562]), data, np.ones(len(rfm)))[0]
    assert ll_pymc < m.log_likelihood_ < ll_pymc + 1e-4
    assert m.log_likelihood_ == pytest.approx(-9594.98, abs=0.005)  # Fader & Hardie's -9594.98
    np.testing.assert_allclose(m.params_.to_numpy(), [0.5534, 10.5802, 0.6061, 11.6562], rtol=2e-3)
    # the gradient is zero at the optimum (to BFGS tolerance) and the Hessian is positive definite
    assert np.max(np.abs(m._negll(np.log(m.params_.to_numpy()), data, np.ones(len(rfm)))[1])) < 1e-3
    assert np.all(np.linalg.eigvalsh(m.variance_matrix_.to_numpy()) > 0)


# ---------------------------------------------------------------- P(X(t) = n)
PMF_PARAMS = [(0.5533, 10.578, 0.6062, 11.669), (0.5533, 12.0, 0.6062, 8.0), (2.0, 1.0, 3.0, 50.0),
              (0.3, 5.0, 1.0, 5.0)]


def with_params(params) -> ParetoNBD:
    m = ParetoNBD()
    m.params_ = pd.Series(dict(zip(("r", "alpha", "s", "beta"), params)))
    m.time_unit = "week"
    return m


@pytest.mark.parametrize("params, t, n_max", [(PMF_PARAMS[0], 0.5, 50), (PMF_PARAMS[0], 39.0, 300),
                                              (PMF_PARAMS[0], 500.0, 1200), (PMF_PARAMS[1], 39.0, 300),
                                              (PMF_PARAMS[2], 0.5, 100), (PMF_PARAMS[3], 39.0, 400)])
def test_probability_of_purchases_is_a_distribution_with_the_right_mean(params, t, n_max):
    # n_max is where P(X(t) > n_max) < 1e-12 for these parameters (about 1 ms per count)
    m = with_params(params)
    n = np.arange(0, n_max + 1)
    p = m.probability_of_purchases(t, n)
    assert np.all(np.isfinite(p)) and np.all(p >= 0)
    assert p.sum() == pytest.approx(1.0, abs=1e-10)
    assert (n * p).sum() == pytest.approx(m.expected_purchases_new(t), rel=1e-8)


def test_probability_of_purchases_matches_lifetimes_limit():
    # lifetimes 0.11.3 has no unconditional Pareto/NBD pmf; its conditional pmf (Fader & Hardie 2006 note
    # 028, eq. 16) for a customer just born (frequency 0, recency 0, T = 1e-9) is the unconditional one:
    #   m = ParetoNBDFitter(); m.params_ = pd.Series(dict(r=0.5533, alpha=10.578, s=0.6062, beta=11.669))
    #   [m.conditional_probability_of_n_purchases_up_to_time(n, 39, 0, 0, 1e-9) for n in (0, 1, 2, 3, 10)]
    lt = {(0.5533, 10.578, 0.6062, 11.669): [0.5935151703501426, 0.16558952383350314, 0.0825079734445196,
                                             0.04905508611020687, 0.004195660111653034],
          (0.5533, 12.0, 0.6062, 8.0): [0.6483110144272828, 0.15698838336206164, 0.07265748198285794,
                                        0.04107537157828448, 0.0027904131084942217]}
    for params, ref in lt.items():
        np.testing.assert_allclose(with_params(params).probability_of_purchases(39, [0, 1, 2, 3, 10]), ref,
                                   rtol=1e-8)


def test_probability_of_purchases_matches_simulation():
    params = dict(r=0.6, alpha=8.0, s=0.8, beta=12.0)
    rng = np.random.default_rng(20261123)
    sim = ParetoNBD.simulate(params, T=np.full(200_000, 26.0), rng=rng)["frequency"].to_numpy()
    n = np.arange(8)
    p = with_params(tuple(params.values())).probability_of_purchases(26.0, n)
    freq = np.array([(sim == k).mean() for k in n])
    se = np.sqrt(p * (1 - p) / len(sim))
    assert np.all(np.abs(freq - p) < 4 * se), (freq - p) / se


def test_probability_of_purchases_extreme_counts_and_errors():
    m = with_params(PMF_PARAMS[0])
    p = m.probability_of_purchases(39, [300, 1000, 5000])
    assert np.all(np.isfinite(p)) and p[0] > p[1] > p[2] >= 0  # 5000 purchases: exp(-800), underflows to 0
    for bad in (-1, 1.5, np.nan):
        with pytest.raises(ParameterError, match="non-negative integer"):
            m.probability_of_purchases(39, [0, bad])
    with pytest.raises(ParameterError, match="positive"):
        m.probability_of_purchases(0.0, 1)
    with pytest.raises(NotFittedError):
        ParetoNBD().probability_of_purchases(39, 1)
