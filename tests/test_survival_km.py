"""Tests of cxlib.survival.km (Kaplan-Meier, median, retention, RMST) and cxlib.survival.logrank."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter
from lifelines.datasets import load_rossi
from lifelines.utils import restricted_mean_survival_time

from cxlib.errors import ParameterError
from cxlib.survival import (
    ESTIMATE_COLUMNS,
    SURVIVAL_TEST_COLUMNS,
    kaplan_meier,
    logrank_test,
)


def rossi_km():
    return kaplan_meier(load_rossi(), duration_col="week", event_col="arrest", segment="fin", time_unit="week")


@pytest.mark.parametrize("fin", [0, 1])
def test_km_matches_lifelines_on_rossi(fin):
    r = load_rossi()
    ref = KaplanMeierFitter().fit(r.week[r.fin == fin], r.arrest[r.fin == fin])
    curves = rossi_km().curves
    c = curves[curves["segment"] == str(fin)]
    np.testing.assert_allclose(c["survival"], ref.survival_function_.iloc[:, 0], rtol=1e-12)
    np.testing.assert_allclose(c["ci_lower"], ref.confidence_interval_.iloc[:, 0], rtol=1e-10)
    np.testing.assert_allclose(c["ci_upper"], ref.confidence_interval_.iloc[:, 1], rtol=1e-10)
    np.testing.assert_array_equal(c["at_risk"].iloc[1:], ref.event_table["at_risk"].iloc[1:])
    assert c["at_risk"].iloc[0] == 216 and c["events"].sum() == (66 if fin == 0 else 48)


def test_survival_at_horizons_and_beyond_follow_up():
    est = rossi_km().survival_at([26, 52, 60])
    assert list(est.columns) == list(ESTIMATE_COLUMNS)
    # R: summary(survfit(Surv(week, arrest) ~ fin, data = rossi), times = 52): 0.694 (fin=0), 0.778 (fin=1)
    np.testing.assert_allclose(est.query("horizon == 52")["estimate"], [150 / 216, 168 / 216], rtol=1e-12)
    assert est.query("horizon == 60")["estimate"].isna().all()  # follow-up ends at week 52
    assert (est["ci_lower"].dropna() < est["estimate"].dropna()).all()


def test_median_and_its_interval():
    d = pd.DataFrame({"duration": [1, 2, 2, 3, 4, 5, 6, 7], "event": [1, 1, 0, 1, 1, 0, 1, 1]})
    m = kaplan_meier(d).median()
    # S: 7/8, 6/8, (censor), 6/8*4/5=0.6, 0.45 at t=4 -> median 4
    assert m["estimate"].iloc[0] == 4.0
    assert m["ci_lower"].iloc[0] <= 4.0 <= m["ci_upper"].iloc[0] or np.isnan(m["ci_upper"].iloc[0])
    assert rossi_km().median()["estimate"].isna().all()  # fewer than half re-arrested in a year


def test_rmst_point_estimate_matches_lifelines():
    r = load_rossi()
    ref = KaplanMeierFitter().fit(r.week[r.fin == 0], r.arrest[r.fin == 0])
    got = rossi_km().rmst(52).set_index("segment")
    assert got.loc["0", "estimate"] == pytest.approx(restricted_mean_survival_time(ref, 52), rel=1e-10)


def test_rmst_variance_by_hand_on_a_tiny_sample():
    # times 1,2(c),3,4 events 1,0,1,1; tau = 4. S = 0.75 on [1,3), 0.375 on [3,4)
    d = pd.DataFrame({"duration": [1.0, 2.0, 3.0, 4.0], "event": [1, 0, 1, 1]})
    r = kaplan_meier(d).rmst(4.0).iloc[0]
    assert r["estimate"] == pytest.approx(1 + 0.75 * 2 + 0.375 * 1)
    # event at t=1: A = 0.75*2 + 0.375 = 1.875, d/(Y(Y-d)) = 1/(4*3); at t=3: A = 0.375, 1/(2*1);
    # at t=4 Y = d: term 0 (survRM2 convention)
    assert r["se"] ** 2 == pytest.approx(1.875 ** 2 / 12 + 0.375 ** 2 / 2)


def test_rmst_variance_agrees_with_the_bootstrap():
    r = load_rossi()
    g = r[r.fin == 0]
    analytic = kaplan_meier(g, duration_col="week", event_col="arrest").rmst(52)["se"].iloc[0]
    rng = np.random.default_rng(2026)
    boot = []
    for _ in range(400):
        s = g.iloc[rng.integers(0, len(g), len(g))]
        if s.week.max() >= 52:
            boot.append(kaplan_meier(s, duration_col="week", event_col="arrest").rmst(52)["estimate"].iloc[0])
    assert np.std(boot, ddof=1) == pytest.approx(analytic, rel=0.12)  # 400 replicates: MC error ~ 4%


def test_rmst_interval_coverage_by_simulation():
    # exponential(0.1) lifetimes, uniform(0, 30) censoring, tau = 10: true RMST = (1 - e^-1) / 0.1
    rng = np.random.default_rng(7)
    truth = (1 - np.exp(-1.0)) / 0.1
    hits = 0
    reps = 600
    for _ in range(reps):
        t = rng.exponential(10.0, 120)
        c = rng.uniform(0, 30, 120)
        d = pd.DataFrame({"duration": np.minimum(t, c), "event": (t <= c).astype(int)})
        r = kaplan_meier(d).rmst(10.0).iloc[0]
        hits += r["ci_lower"] <= truth <= r["ci_upper"]
    assert 0.925 <= hits / reps <= 0.97


def test_rmst_difference_is_a_z_test():
    res = rossi_km().rmst_difference(52, treatment="1", control="0")
    frame = res.to_frame()
    assert list(frame.columns) == list(SURVIVAL_TEST_COLUMNS)
    est = rossi_km().rmst(52).set_index("segment")
    assert res.difference == pytest.approx(est.loc["1", "estimate"] - est.loc["0", "estimate"])
    assert (res.group_a, res.group_b) == ("1", "0") and frame.loc[0, "group_a"] == "1"
    with pytest.warns(DeprecationWarning, match=r"SurvivalTest\.estimate is deprecated.*SurvivalTest\.difference"):
        assert res.estimate == res.difference
    assert res.se == pytest.approx(np.hypot(est.loc["1", "se"], est.loc["0", "se"]))
    assert 0.05 < res.p_value < 0.15  # financial aid: +2.0 weeks arrest-free in the first year, p = 0.09
    with pytest.raises(ParameterError, match="tau"):
        rossi_km().rmst(60)
    with pytest.raises(ParameterError, match="segment"):
        rossi_km().rmst_difference(52, treatment="x", control="0")


def _logrank_by_hand(t, e, g):
    o_minus_e, var = 0.0, 0.0
    for u in np.unique(t[e == 1]):
        at = t >= u
        n, n1 = at.sum(), (at & g).sum()
        d, d1 = ((t == u) & (e == 1)).sum(), ((t == u) & (e == 1) & g).sum()
        o_minus_e += d1 - d * n1 / n
        var += d * (n1 / n) * (1 - n1 / n) * (n - d) / max(n - 1, 1)
    return o_minus_e ** 2 / var


def test_logrank_on_rossi():
    # R: survdiff(Surv(week, arrest) ~ fin, data = rossi) -> Chisq = 3.8 on 1 df, p = 0.05
    r = load_rossi()
    res = logrank_test(r, segment="fin", duration_col="week", event_col="arrest")
    by_hand = _logrank_by_hand(r.week.to_numpy(), r.arrest.to_numpy(), r.fin.to_numpy() == 1)
    assert res.statistic == pytest.approx(by_hand, rel=1e-10)
    assert res.statistic == pytest.approx(3.84, abs=0.01) and res.p_value == pytest.approx(0.0501, abs=2e-4)
    assert res.dof == 1


def test_multivariate_logrank_has_k_minus_one_dof():
    r = load_rossi().assign(prio_band=lambda d: pd.cut(d.prio, [-1, 1, 4, 100]).astype(str))
    res = logrank_test(r, segment="prio_band", duration_col="week", event_col="arrest")
    assert res.dof == 2 and res.p_value < 0.01
    with pytest.raises(ParameterError, match="at least 2"):
        logrank_test(r.assign(one=1), segment="one", duration_col="week", event_col="arrest")


def test_rmst_difference_reproduces_survrm2_vignette_on_pbc():
    # survRM2 vignette (Uno et al., survRM2 1.0-4): D <- rmst2.sample.data(); rmst2(D$time, D$status, D$arm, tau = 10)
    # prints "RMST (arm=1)-(arm=0) -0.137" (years; arm 1 = D-penicillamine, 0 = placebo, the first 312 pbc rows,
    # time / 365.25, status == 2 is death).  tests/data/pbc_survrm2.csv is that extract of R's survival::pbc.
    pbc = pd.read_csv(Path(__file__).parent / "data" / "pbc_survrm2.csv")
    assert len(pbc) == 312 and (pbc["status"] == 2).sum() == 125
    d = pd.DataFrame({"duration": pbc["time"] / 365.25, "event": (pbc["status"] == 2).astype(int),
                      "arm": np.where(pbc["trt"] == 1, "1", "0")})
    res = kaplan_meier(d, segment="arm", time_unit="year").rmst_difference(10, treatment="1", control="0")
    assert round(res.difference, 3) == -0.137
