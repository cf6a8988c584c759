"""Tests of cxlib.sections.clv (the CLV notebook's glue)."""
from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from cxlib.clv import BetaGeo, GammaGamma, customer_clv, value_at_stake
from cxlib.clv import stake
from cxlib.sections import clv as cr
from cxlib.errors import ParameterError
from cxlib.privacy import pseudonymize_frame

PLANTED_BG = dict(r=0.8, alpha=8.0, a=0.6, b=2.5)  # the synthetic world's BG/NBD (weeks)


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(11)
    h = BetaGeo.simulate(PLANTED_BG, T=rng.uniform(20, 60, 1500), rng=rng)
    nu = rng.gamma(4.0, 1 / 30.0, len(h))  # Gamma-Gamma p=6, q=4, gamma=30: mean spend 60
    x = h["frequency"].to_numpy()
    h["monetary_value"] = np.where(x > 0, rng.gamma(6.0 * np.maximum(x, 1), 1 / (nu * np.maximum(x, 1))), np.nan)
    h.index = pd.Index([f"C{i:07d}" for i in range(len(h))], name="customer_id")
    bg = BetaGeo().fit(h, time_unit="week")
    gg = GammaGamma().fit(h[h["frequency"] > 0])
    sample = customer_clv(bg, gg, h, horizon=52, annual_discount_rate=0.1, margin=0.3, step=4)
    return h, bg, gg, sample


def test_customer_clv_is_margin_times_spend_times_discounted_purchases(fitted):
    h, bg, gg, sample = fitted
    direct = bg.predict_clv(h, spend=gg.predict_spend(h), horizon=52, step=4, annual_discount_rate=0.1, margin=0.3)
    np.testing.assert_allclose(sample.clv.to_numpy(), direct.to_numpy(), rtol=1e-12)
    assert sample.derivatives.shape == (7, len(h)) and sample.cov_log.shape == (7, 7)
    assert np.allclose(sample.cov_log[:4, 4:], 0.0)  # separately fitted models


def test_delta_interval_of_a_linear_statistic_matches_the_closed_form(fitted):
    _, _, _, sample = fitted
    est, se, lo, hi = sample.interval(lambda v: float(v.sum()))
    g = sample.derivatives.sum(axis=1)
    assert est == pytest.approx(sample.clv.sum())
    assert se == pytest.approx(float(np.sqrt(g @ sample.cov_log @ g)), rel=1e-6)
    assert lo < est < hi and hi / est == pytest.approx(est / lo, rel=1e-9)  # symmetric on the log scale
    with pytest.raises(ParameterError):
        sample.interval(np.sum, alpha=1.5)


def test_delta_interval_agrees_with_a_parametric_simulation(fitted):
    """Monte-Carlo check: draw log-parameters from the asymptotic normal and recompute the total CLV."""
    h, bg, gg, sample = fitted
    _, se, _, _ = sample.interval(lambda v: float(v.sum()))
    rng = np.random.default_rng(3)
    lb, lg = np.log(bg.params_.to_numpy()), np.log(gg.params_.to_numpy())
    draws = rng.multivariate_normal(np.r_[lb, lg], sample.cov_log, size=60)
    totals = []
    for d in draws:
        b = stake._with_params(bg, d[:4])
        g = stake._with_params(gg, d[4:])
        totals.append(b.predict_clv(h, spend=g.predict_spend(h), horizon=52, step=4, annual_discount_rate=0.1,
                                    margin=0.3).sum())
    assert np.std(totals, ddof=1) == pytest.approx(se, rel=0.3)


def test_customer_clv_rejects_a_margin_outside_0_1(fitted):
    h, bg, gg, _ = fitted
    with pytest.raises(ParameterError, match="margin"):
        customer_clv(bg, gg, h, horizon=52, annual_discount_rate=0.1, margin=30)


def test_segment_clv_overall_row_and_totals(fitted):
    h, _, _, sample = fitted
    seg = pd.DataFrame({"customer_id": h.index, "tier": np.where(np.arange(len(h)) % 3 == 0, "gold", "bronze")})
    t = cr.segment_clv(sample, seg, segment=["tier"])
    assert list(t.columns) == list(cr.SEGMENT_COLUMNS)
    assert t["segment"].tolist() == ["all", "bronze", "gold"] and t["n"].tolist() == [1500, 1000, 500]
    assert t.loc[0, "total_clv"] == pytest.approx(sample.clv.sum())
    assert t["total_clv"].iloc[1:].sum() == pytest.approx(sample.clv.sum())
    assert (t["ci_lower"] < t["mean_clv"]).all() and (t["mean_clv"] < t["ci_upper"]).all()
    with pytest.raises(ParameterError, match="region"):
        cr.segment_clv(sample, seg, segment=["region"])
    # the old argument name and the old type (a frame indexed by customer id) still work, with warnings
    with pytest.warns(DeprecationWarning, match=r"segment_clv\(segment_columns=\.\.\.\)"), \
            pytest.warns(DeprecationWarning, match="indexed by customer id.*rename_axis\\('customer_id'\\)"):
        old = cr.segment_clv(sample, seg.set_index("customer_id"), segment_columns=["tier"])
    pd.testing.assert_frame_equal(old, t)


def test_holdout_check_buckets_and_totals():
    rng = np.random.default_rng(5)
    cal = BetaGeo.simulate(PLANTED_BG, T=np.full(3000, 30.0), rng=rng)
    bg = BetaGeo().fit(cal, time_unit="week")
    # a holdout drawn from the fitted model itself: predicted and observed agree on average
    cal["frequency_holdout"] = rng.poisson(bg.predict_purchases(cal, t=20.0).to_numpy())
    cal["duration_holdout"] = 20.0
    check = cr.holdout_check(bg, cal)
    assert check["frequency_bucket"].tolist()[-1] == "all" and check["n"].iloc[-1] == 3000
    assert check["n"].iloc[:-1].sum() == 3000
    assert check["observed"].iloc[-1] == pytest.approx(check["predicted"].iloc[-1], rel=0.05)
    with pytest.raises(ParameterError, match="calibration_end"):
        cr.holdout_check(bg, cal.drop(columns=["frequency_holdout"]))


def test_value_at_stake_and_pseudonymized_top(fitted, monkeypatch):
    h, _, _, sample = fitted
    risk = pd.DataFrame({"churn_probability": [0.5, 0.1, 0.2, 0.9]}, index=[10, 11, 12, 13])
    ids = pd.Series([h.index[0], h.index[1], h.index[2], "C9999999"], index=[10, 11, 12, 13])  # last: no purchases
    stake, total = value_at_stake(sample, risk, customer_ids=ids)
    expected = 0.5 * sample.clv.iloc[0] + 0.1 * sample.clv.iloc[1] + 0.2 * sample.clv.iloc[2]
    assert total[0] == pytest.approx(expected) and total[2] < total[0] < total[3]
    assert stake["value_at_stake"].iloc[:3].is_monotonic_decreasing and np.isnan(stake["clv"].iloc[-1])
    monkeypatch.setenv("CX_PSEUDONYM_KEY", "test-secret")
    top, note = cr.top_at_risk(stake, n=2, pseudonymize=pseudonymize_frame)
    assert len(top) == 2 and top["customer"].str.match(r"^P[0-9a-f]{16}$").all()
    assert not set(top["customer"]) & set(h.index) and note.endswith("pseudonyms.")
    monkeypatch.delenv("CX_PSEUDONYM_KEY")
    _, note = cr.top_at_risk(stake, n=2, pseudonymize=pseudonymize_frame)  # warning turned into a note
    assert "public demo key" in note
    assert os.environ.get("CX_PSEUDONYM_KEY") is None


def test_clv_findings_keys_units_and_parameters(fitted):
    h, bg, gg, sample = fitted
    seg = cr.segment_clv(sample, pd.DataFrame({"customer_id": h.index}), segment=[])
    found = cr.clv_findings(sample=sample, segment_table=seg, total_at_stake=(10.0, 1.0, 8.0, 12.0), n_at_risk=4,
                            risk_horizon_days=90, bg=bg, gg=gg, period="2025Q4")
    keys = [f.key for f in found]
    assert keys[:3] == ["clv_median", "clv_total", "clv_at_risk"] and len(keys) == 10
    assert {f.unit for f in found[:3]} == {"EUR"}
    assert found[0].estimate == pytest.approx(float(np.median(sample.clv)))
    params = {f.key: f for f in found[3:]}
    for name, value in PLANTED_BG.items():
        f = params[f"clv_param_betageo_{name}"]
        assert f.ci_lower < value < f.ci_upper, (name, f)
    assert cr.clv_findings(sample=sample, segment_table=seg, total_at_stake=(10.0, 1.0, 8.0, 12.0), n_at_risk=4,
                           risk_horizon_days=90, period="2025Q4")[-1].key == "clv_at_risk"


@pytest.mark.parametrize("name", ["ClvSample", "customer_clv", "value_at_stake"])
def test_the_moved_analyses_warn_at_their_glue_names(name):
    import cxlib.clv
    import cxlib.sections.clv as glue

    with pytest.warns(DeprecationWarning, match=f"cxlib.clv.{name}"):
        old = getattr(glue, name)
    assert old is getattr(cxlib.clv, name)
