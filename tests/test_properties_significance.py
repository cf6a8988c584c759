"""Property-based tests (hypothesis) of cxlib.significance: invariances, bounds and reference formulas.

For every drawn pair of samples:

* row order never changes a comparison; swapping ``a`` and ``b`` negates the
  difference and its interval and keeps the two-sided p-value;
* duplicating both samples doubles ``n_a`` and ``n_b``, keeps the estimates and
  narrows the interval;
* p-values (raw and adjusted) lie in [0, 1], ``ci_lower <= difference <= ci_upper``,
  and a two-sided interval excludes 0 exactly when ``p < alpha``;
* the numbers agree with scipy and statsmodels (Welch t, pooled z, Newcombe,
  Mann-Whitney, Holm/BH/Bonferroni, HC1 slope);
* a segment with one respondent gives a NaN row and a ``SmallSampleWarning``,
  never a traceback.

Derandomized profile: the same examples on every run (see ``PROPERTY``).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from cxlib.errors import SmallSampleWarning
from cxlib.significance import (
    COMPARISON_COLUMNS,
    adjust_pvalues,
    compare_ces,
    compare_csat,
    compare_means,
    compare_nps,
    compare_proportions,
    pairwise,
    slope_test,
    trend_test,
)

PROPERTY = settings(derandomize=True, max_examples=50, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
TOL = 1e-9
NPS = st.lists(st.integers(0, 10), min_size=2, max_size=80)
CSAT = st.lists(st.integers(1, 5), min_size=1, max_size=80)
CES = st.lists(st.integers(1, 7), min_size=2, max_size=80)
ALPHAS = st.sampled_from([0.01, 0.05, 0.1, 0.2])
KEY = ("estimate_a", "estimate_b", "difference", "ci_lower", "ci_upper", "statistic", "dof", "p_value",
       "effect_size", "n_a", "n_b")


def _frame(a: list, b: list, col: str) -> pd.DataFrame:
    return pd.DataFrame({"g": ["a"] * len(a) + ["b"] * len(b), col: a + b})


def _nums(r) -> list[float]:
    return [float(getattr(r, k)) for k in KEY]


COMPARE = {"nps": (compare_nps, NPS), "csat": (compare_csat, CSAT), "ces": (compare_ces, CES)}


def _samples(metric: str):
    return st.tuples(COMPARE[metric][1], COMPARE[metric][1])


# ---------------------------------------------------------------- row order, swapping groups

@PROPERTY
@given(metric=st.sampled_from(list(COMPARE)), data=st.data())
def test_comparisons_ignore_row_order(metric: str, data) -> None:
    a, b = data.draw(_samples(metric))
    df = _frame(a, b, metric)
    order = data.draw(st.permutations(list(range(len(df)))))
    fn = COMPARE[metric][0]
    one = fn(df, group="g", a="a", b="b")
    two = fn(df.iloc[order].reset_index(drop=True), group="g", a="a", b="b")
    assert _nums(two) == pytest.approx(_nums(one), abs=TOL, nan_ok=True)
    assert two.reading == one.reading


@PROPERTY
@given(metric=st.sampled_from(list(COMPARE)), data=st.data())
def test_swapping_groups_negates_the_difference(metric: str, data) -> None:
    a, b = data.draw(_samples(metric))
    fn = COMPARE[metric][0]
    df = _frame(a, b, metric)
    ab, ba = fn(df, group="g", a="a", b="b"), fn(df, group="g", a="b", b="a")
    assert ba.difference == pytest.approx(-ab.difference, abs=TOL)
    assert (ba.ci_lower, ba.ci_upper) == pytest.approx((-ab.ci_upper, -ab.ci_lower), abs=TOL, nan_ok=True)
    assert ba.p_value == pytest.approx(ab.p_value, abs=TOL, nan_ok=True)
    assert (ba.n_a, ba.n_b) == (ab.n_b, ab.n_a)


# ---------------------------------------------------------------- duplicated data

@PROPERTY
@given(metric=st.sampled_from(list(COMPARE)), data=st.data())
def test_duplicated_data_doubles_n_keeps_estimates_narrows_ci(metric: str, data) -> None:
    a, b = data.draw(_samples(metric))
    fn = COMPARE[metric][0]
    one = fn(_frame(a, b, metric), group="g", a="a", b="b")
    two = fn(_frame(a * 2, b * 2, metric), group="g", a="a", b="b")
    assert (two.n_a, two.n_b) == (2 * one.n_a, 2 * one.n_b)
    assert (two.estimate_a, two.estimate_b, two.difference) == pytest.approx(
        (one.estimate_a, one.estimate_b, one.difference), abs=TOL)
    assume(not math.isnan(one.ci_lower))  # zero variance in both groups (CES): nothing to narrow
    assert two.ci_upper - two.ci_lower <= one.ci_upper - one.ci_lower + TOL
    if abs(one.statistic) > 0:  # same difference, more data: at least as significant
        assert two.p_value <= one.p_value + TOL


# ---------------------------------------------------------------- bounds and the p / CI duality

@PROPERTY
@given(metric=st.sampled_from(list(COMPARE)), alpha=ALPHAS, data=st.data(),
       alternative=st.sampled_from(["two-sided", "greater", "less"]))
def test_p_values_and_intervals_are_consistent(metric: str, alpha: float, data, alternative: str) -> None:
    a, b = data.draw(_samples(metric))
    r = COMPARE[metric][0](_frame(a, b, metric), group="g", a="a", b="b", alpha=alpha, alternative=alternative)
    assert list(r.to_frame().columns) == list(COMPARISON_COLUMNS)
    assume(not math.isnan(r.p_value))  # CES with zero variance in both groups
    assert 0 <= r.p_value <= 1 and r.ci_level == pytest.approx(1 - alpha)
    assert r.ci_lower <= r.ci_upper
    if alternative == "two-sided" and not (metric == "nps" and min(r.n_a, r.n_b) < 2):
        # the interval and the p-value come from one statistic: 0 is outside exactly when p < alpha
        outside = r.ci_lower > 0 or r.ci_upper < 0
        margin = min(abs(r.p_value - alpha), abs(r.ci_lower), abs(r.ci_upper))
        assume(margin > 1e-9)
        if metric != "csat":  # Newcombe's interval and the pooled z test are two different statistics
            assert outside == (r.p_value < alpha)


@PROPERTY
@given(metric=st.sampled_from(list(COMPARE)), alpha=ALPHAS, data=st.data())
def test_the_interval_contains_the_observed_difference(metric: str, alpha: float, data) -> None:
    a, b = data.draw(_samples(metric))
    r = COMPARE[metric][0](_frame(a, b, metric), group="g", a="a", b="b", alpha=alpha)
    assume(not math.isnan(r.ci_lower))
    assert r.ci_lower - TOL <= r.difference <= r.ci_upper + TOL


@PROPERTY
@given(p=st.lists(st.one_of(st.floats(0, 1), st.just(math.nan)), min_size=1, max_size=30),
       method=st.sampled_from(["holm", "fdr_bh", "bonferroni"]))
def test_adjusted_p_values_agree_with_statsmodels_and_keep_order(p: list[float], method: str) -> None:
    raw = np.array(p)
    adj = adjust_pvalues(raw, method=method)
    ok = ~np.isnan(raw)
    assert np.array_equal(np.isnan(adj), ~ok)
    if ok.any():
        assert adj[ok] == pytest.approx(multipletests(raw[ok], method=method)[1], abs=1e-12)  # statsmodels 0.15
        assert np.all((adj[ok] >= raw[ok] - 1e-15) & (adj[ok] <= 1))
        order = np.argsort(raw[ok], kind="stable")
        assert np.all(np.diff(adj[ok][order]) >= -1e-15)  # adjusting never reorders the tests


# ---------------------------------------------------------------- reference formulas

@PROPERTY
@given(a=st.lists(st.integers(-8000, 8000), min_size=2, max_size=60),
       b=st.lists(st.integers(-8000, 8000), min_size=2, max_size=60), alpha=ALPHAS)
def test_compare_means_is_scipy_and_statsmodels_welch(a: list[int], b: list[int], alpha: float) -> None:
    xa, xb = np.array(a) / 8, np.array(b) / 8  # durations in eighths: exact in binary, no cancellation noise
    assume(xa.var() > 0 and xb.var() > 0)
    r = compare_means(xa, xb, alpha=alpha)
    ref = stats.ttest_ind(xa, xb, equal_var=False)  # scipy 1.17
    lo, hi = CompareMeans(DescrStatsW(xa), DescrStatsW(xb)).tconfint_diff(alpha=alpha, usevar="unequal")
    assert (r.statistic, r.p_value) == pytest.approx((ref.statistic, ref.pvalue), rel=1e-7, abs=1e-10)
    assert (r.ci_lower, r.ci_upper) == pytest.approx((lo, hi), rel=1e-7, abs=1e-7)
    assert r.difference == pytest.approx(xa.mean() - xb.mean(), abs=1e-9)


@PROPERTY
@given(na=st.integers(1, 500), nb=st.integers(1, 500), data=st.data(), alpha=ALPHAS)
def test_compare_proportions_is_statsmodels_newcombe_and_pooled_z(na: int, nb: int, data, alpha: float) -> None:
    xa, xb = data.draw(st.integers(0, na)), data.draw(st.integers(0, nb))
    assume(0 < xa + xb < na + nb)  # the pooled z test needs some successes and some failures
    r = compare_proportions(xa, na, xb, nb, alpha=alpha)
    z, p = proportions_ztest([xa, xb], [na, nb])  # statsmodels 0.15, pooled variance
    lo, hi = confint_proportions_2indep(xa, na, xb, nb, method="newcomb", compare="diff", alpha=alpha)
    assert (r.statistic, r.p_value) == pytest.approx((z, p), rel=1e-9, abs=1e-12)
    assert (r.ci_lower, r.ci_upper) == pytest.approx((lo, hi), abs=1e-9)
    assert -1 <= r.ci_lower <= r.difference <= r.ci_upper <= 1


@PROPERTY
@given(a=CES, b=CES)
def test_mann_whitney_option_is_scipy(a: list[int], b: list[int]) -> None:
    assume(len(set(a + b)) > 1)
    r = compare_ces(_frame(a, b, "ces"), group="g", a="a", b="b", method="mannwhitney")
    ref = stats.mannwhitneyu(a, b, method="asymptotic")  # scipy 1.17, tie-corrected, continuity-corrected
    assert (r.statistic, r.p_value) == pytest.approx((ref.statistic, ref.pvalue), abs=1e-12)
    assert -1 <= r.effect_size <= 1


@PROPERTY
@given(y=st.lists(st.floats(-100, 100), min_size=8, max_size=60), k=st.integers(3, 6))
def test_slope_test_is_statsmodels_ols_hc1(y: list[float], k: int) -> None:
    yy = np.array(y)
    x = np.arange(yy.size, dtype=float) % k
    fit = sm.OLS(yy, sm.add_constant(x)).fit(cov_type="HC1")  # statsmodels 0.15
    b, se, dof = slope_test(x, yy)
    assert float(b) == pytest.approx(fit.params[1], abs=1e-8)
    assert float(se) == pytest.approx(fit.bse[1], rel=1e-7, abs=1e-10) and float(dof) == yy.size - 2


@PROPERTY
@given(rows=st.lists(st.tuples(st.sampled_from(["2025Q1", "2025Q2", "2025Q3"]), st.integers(1, 5)),
                     min_size=6, max_size=90), data=st.data())
def test_trend_test_ignores_row_order_and_keeps_p_in_range(rows: list[tuple[str, int]], data) -> None:
    df = pd.DataFrame(rows, columns=["q", "csat"])
    assume(df["q"].nunique() == 3)
    one = trend_test(df, metric="csat", period_col="q")
    order = data.draw(st.permutations(list(range(len(df)))))
    two = trend_test(df.iloc[order], metric="csat", period_col="q")
    assert _nums(two) == pytest.approx(_nums(one), abs=TOL, nan_ok=True)
    assert math.isnan(one.p_value) or 0 <= one.p_value <= 1


# ---------------------------------------------------------------- tiny segments

def _with_a_solo_segment(metric: str, score: int) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    high = {"nps": 11, "csat": 6, "ces": 8}[metric]
    low = 0 if metric == "nps" else 1
    return pd.DataFrame({"seg": ["solo"] + ["x"] * 60 + ["y"] * 60, metric: np.r_[score, rng.integers(low, high, 120)]})


@pytest.mark.parametrize("metric, score", [("nps", 10), ("ces", 2)])
def test_a_segment_with_one_respondent_is_reported_not_crashed(metric: str, score: int) -> None:
    with pytest.warns(SmallSampleWarning, match=r"1 comparison\(s\) had too few responses .*solo \(n = 1\)"):
        out = pairwise(_with_a_solo_segment(metric, score), metric=metric, group="seg")
    assert list(out.columns) == list(COMPARISON_COLUMNS) and out["group_a"].tolist() == ["solo", "x", "y"]
    solo = out.iloc[0]
    assert (solo["n_a"], solo["n_b"], solo["estimate_a"]) == (1, 120, 100.0 if metric == "nps" else 2.0)
    assert math.isnan(solo["p_value"]) and math.isnan(solo["p_adjusted"]) and math.isnan(solo["difference"])
    assert "could not be compared (too few observations)" in solo["reading"]
    rest = out.iloc[1:]
    assert rest["p_value"].between(0, 1).all() and (rest["p_adjusted"] >= rest["p_value"]).all()
    assert "Holm adjustment over 2 tests" in rest["method"].iloc[0]


def test_a_csat_segment_with_one_respondent_is_compared_by_newcombe() -> None:
    # Newcombe's interval and the pooled z test are defined for n = 1: a (very wide) result, no warning.
    out = pairwise(_with_a_solo_segment("csat", 5), metric="csat", group="seg")
    solo = out.iloc[0]
    assert (solo["n_a"], solo["estimate_a"]) == (1, 1.0) and 0 < solo["p_value"] <= 1
    assert solo["ci_lower"] < 0 < solo["difference"] < solo["ci_upper"] and solo["ci_upper"] - solo["ci_lower"] > 0.7


def test_one_respondent_in_a_two_group_comparison_warns() -> None:
    with pytest.warns(SmallSampleWarning, match=r"nps: a \(n = 1\) vs b \(n = 3\) needs at least 2"):
        r = compare_nps(_frame([10], [0, 5, 9], "nps"), group="g", a="a", b="b")
    assert (r.estimate_a, r.estimate_b, r.n_a, r.n_b) == (100.0, -100 / 3, 1, 3)
    assert math.isnan(r.difference) and math.isnan(r.p_value)
