"""Tests of cxlib.survival.cox and cxlib.survival.scoring on the Rossi recidivism data."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines.datasets import load_rossi
from lifelines.statistics import proportional_hazard_test

from cxlib.errors import ConvergenceError, ParameterError
from cxlib.survival import check_proportional_hazards, churn_risk, fit_cox, fit_weibull_aft, holdout_validation
from cxlib.survival.cox import COEF_COLUMNS

# R 4.x: coxph(Surv(week, arrest) ~ fin + age + race + wexp + mar + paro + prio, data = rossi)  (Efron ties)
# (Fox & Weisberg, "Cox proportional-hazards regression for survival data in R", appendix)
R_COXPH = {"fin": (-0.37942, 0.19138), "age": (-0.05744, 0.02200), "race": (0.31390, 0.30799),
           "wexp": (-0.14980, 0.21222), "mar": (-0.43370, 0.38187), "paro": (-0.08487, 0.19576),
           "prio": (0.09150, 0.02865)}
FORMULA = "fin + age + race + wexp + mar + paro + prio"


def test_cox_reproduces_r_coxph():
    res = fit_cox(load_rossi(), duration_col="week", event_col="arrest", formula=FORMULA)
    t = res.table.set_index("term")
    assert list(res.table.columns) == list(COEF_COLUMNS)
    for term, (coef, se) in R_COXPH.items():
        assert t.loc[term, "coef"] == pytest.approx(coef, abs=6e-5), term
        assert t.loc[term, "se"] == pytest.approx(se, abs=6e-5), term
    # R: exp(coef) of fin 0.684, 95% CI 0.470-0.996, p = 0.0474
    assert t.loc["fin", "ratio"] == pytest.approx(0.684, abs=5e-4)
    assert t.loc["fin", "ratio_ci_lower"] == pytest.approx(0.470, abs=5e-4)
    assert t.loc["fin", "ratio_ci_upper"] == pytest.approx(0.996, abs=5e-4)
    assert t.loc["fin", "p_value"] == pytest.approx(0.0474, abs=1e-4)
    assert res.table["events"].iloc[0] == 114 and res.table["n"].iloc[0] == 432
    assert 0.63 < res.concordance < 0.65


def test_ph_check_matches_lifelines_and_names_the_offenders():
    r = load_rossi()
    res = fit_cox(r, duration_col="week", event_col="arrest", formula=FORMULA)
    ph = check_proportional_hazards(res, r, rng=np.random.default_rng(0))
    ref = proportional_hazard_test(res.model, r, time_transform="rank").summary
    np.testing.assert_allclose(ph.table.set_index("term").loc[ref.index, "p_value"], ref["p"], rtol=1e-10)
    assert ph.table.query("violates")["term"].tolist() == ["age", "wexp"]
    assert "age, wexp" in ph.verdict and "stratify" in ph.verdict
    assert ph.n_used == 432


def test_ph_check_subsamples_with_a_seed():
    r = load_rossi()
    res = fit_cox(r, duration_col="week", event_col="arrest", formula=FORMULA)
    a = check_proportional_hazards(res, r, rng=np.random.default_rng(5), max_rows=300)
    b = check_proportional_hazards(res, r, rng=np.random.default_rng(5), max_rows=300)
    assert a.n_used == 300 and "subsample of 300 of 432" in a.verdict
    pd.testing.assert_frame_equal(a.table, b.table)


def test_weibull_aft_reproduces_r_survreg():
    # R: survreg(Surv(week, arrest) ~ fin + age + race + wexp + mar + paro + prio, data = rossi, dist = "weibull")
    # fin 0.2722, age 0.0407, prio -0.0658, scale 0.712 (rho = 1 / scale = 1.404)
    res = fit_weibull_aft(load_rossi(), duration_col="week", event_col="arrest", formula=FORMULA)
    t = res.table.set_index("term")
    assert t.loc["fin", "coef"] == pytest.approx(0.2722, abs=2e-4)
    assert t.loc["age", "coef"] == pytest.approx(0.0407, abs=2e-4)
    assert t.loc["prio", "coef"] == pytest.approx(-0.0658, abs=2e-4)
    assert res.shape == pytest.approx(1 / 0.712, abs=3e-3)
    assert (res.table["ratio_kind"] == "time ratio").all()


def test_weibull_aft_by_segment_is_the_fit_on_each_segment():
    r = load_rossi().assign(group=lambda d: np.where(d["wexp"] == 1, "experienced", "novice"))
    res = fit_weibull_aft(r, duration_col="week", event_col="arrest", formula="fin + age + prio",
                          segment="group")
    assert res.table.columns[0] == "segment" and res.model is None and np.isnan(res.shape)
    assert sorted(res.segments) == ["experienced", "novice"]
    for level in ("experienced", "novice"):
        own = fit_weibull_aft(r[r.group == level], duration_col="week", event_col="arrest",
                              formula="fin + age + prio")
        mine = res.table[res.table.segment == level].drop(columns="segment").reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, own.table)
        assert res.shapes[level] == pytest.approx(own.shape)
    assert res.log_likelihood == pytest.approx(sum(x.log_likelihood for x in res.segments.values()))
    with pytest.raises(ParameterError, match="segment='region'"):
        fit_weibull_aft(r, duration_col="week", event_col="arrest", segment="region")
    tiny = pd.concat([r, r.head(2).assign(group="new", arrest=0)], ignore_index=True)
    with pytest.raises((ParameterError, ConvergenceError), match="segment group='new' \\(2 rows"):
        fit_weibull_aft(tiny, duration_col="week", event_col="arrest", formula="fin + age + prio",
                        segment="group")


def test_convergence_failure_has_a_checklist():
    r = load_rossi().assign(copy=lambda d: d["fin"])
    with pytest.raises(ConvergenceError, match="collinear"):
        fit_cox(r, duration_col="week", event_col="arrest", formula="fin + copy")


def test_churn_risk_is_conditional_on_tenure_and_ranked():
    r = load_rossi()
    res = fit_cox(r, duration_col="week", event_col="arrest", formula=FORMULA)
    current = r[r.arrest == 0].head(20).assign(week=20)
    risk = churn_risk(res, current, horizon=10, tenure_col="week")
    assert risk["rank"].tolist() == list(range(1, 21))
    assert risk["churn_probability"].is_monotonic_decreasing
    row = risk.iloc[0]
    assert row["churn_probability"] == pytest.approx(1 - row["survival_at_horizon"] / row["survival_now"])
    sf = res.model.predict_survival_function(current.loc[[risk.index[0]]], times=[20, 30]).to_numpy().ravel()
    assert row["churn_probability"] == pytest.approx(1 - sf[1] / sf[0])


def test_holdout_concordance_and_calibration():
    r = load_rossi()
    rng = np.random.default_rng(3)
    test_idx = rng.choice(len(r), 150, replace=False)
    train = r.drop(r.index[test_idx])
    hold = r.iloc[test_idx]
    res = fit_cox(train, duration_col="week", event_col="arrest", formula=FORMULA)
    c, cal = holdout_validation(res, hold, horizon=52, groups=3)
    assert 0.5 < c < 0.8
    assert cal["n"].sum() == 150 and len(cal) == 3
    assert cal["predicted_churn"].is_monotonic_increasing
    # observed churn in each risk third lies within its CI by construction; predicted within the CI
    assert ((cal["predicted_churn"] > cal["ci_lower"] - 0.05) & (cal["predicted_churn"] < cal["ci_upper"] + 0.05)).all()
