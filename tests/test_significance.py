"""Tests of cxlib.significance: against statsmodels/scipy, hand formulas and vectorised simulations."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW, ttest_ind

from cxlib.errors import ParameterError, SmallSampleWarning
from cxlib.findings import FINDING_COLUMNS
from cxlib.sections.metrics import scorecard_display, scorecard_findings, sidecar_trends
from cxlib.significance import (
    COMPARISON_COLUMNS,
    POWER_COLUMNS,
    SCORECARD_COLUMNS,
    SEQUENCE_COLUMNS,
    TREND_COLUMNS,
    ComparisonResult,
    adjust_pvalues,
    cluster_mean_difference,
    compare_adjusted,
    compare_ces,
    compare_csat,
    compare_means,
    compare_nps,
    compare_proportions,
    confidence_sequence,
    cs_radius,
    margin_of_error,
    metric_trends,
    minimum_detectable_effect,
    newcombe_interval,
    nps_difference,
    nps_sd,
    pairwise,
    pooled_z_test,
    recent_periods,
    respondent_sd,
    sample_size,
    scorecard,
    segment_comparisons,
    slope_test,
    survey_power,
    trend_test,
    welch,
)

Z95 = stats.norm.ppf(0.975)
NPS_P = np.array([0.45, 0.30, 0.25])  # promoters, passives, detractors: NPS 20


def _survey(groups: dict[str, list[int]], col: str = "nps", group: str = "g") -> pd.DataFrame:
    return pd.DataFrame({group: np.concatenate([[k] * len(v) for k, v in groups.items()]),
                         col: np.concatenate(list(groups.values()))})


# ---------------------------------------------------------------- Welch, proportions: against statsmodels/scipy
def test_welch_matches_statsmodels_and_scipy() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(3.0, 1.0, 40), rng.normal(3.4, 2.0, 55)
    r = welch(a.mean(), a.var(ddof=1), a.size, b.mean(), b.var(ddof=1), b.size)
    t_sm, p_sm, dof_sm = ttest_ind(a, b, usevar="unequal")  # statsmodels 0.15
    lo, hi = CompareMeans(DescrStatsW(a), DescrStatsW(b)).tconfint_diff(usevar="unequal")
    ref = stats.ttest_ind(a, b, equal_var=False)  # scipy 1.17
    assert float(r["statistic"]) == pytest.approx(t_sm) == pytest.approx(ref.statistic)
    assert float(r["p_value"]) == pytest.approx(p_sm) and float(r["dof"]) == pytest.approx(dof_sm)
    assert (float(r["ci_lower"]), float(r["ci_upper"])) == pytest.approx((lo, hi))
    one = welch(a.mean(), a.var(ddof=1), a.size, b.mean(), b.var(ddof=1), b.size, alternative="less")
    assert float(one["p_value"]) == pytest.approx(stats.ttest_ind(a, b, equal_var=False, alternative="less").pvalue)
    assert math.isinf(float(one["ci_lower"]))


@pytest.mark.parametrize("xa, na, xb, nb", [(56, 70, 48, 80), (5, 40, 0, 35), (300, 410, 280, 400)])
def test_newcombe_matches_statsmodels(xa: int, na: int, xb: int, nb: int) -> None:
    lo, hi = newcombe_interval(xa, na, xb, nb)
    ref = confint_proportions_2indep(xa, na, xb, nb, method="newcomb", compare="diff")  # statsmodels 0.15
    assert (float(lo), float(hi)) == pytest.approx(ref, abs=1e-10)
    z, p = pooled_z_test(xa, na, xb, nb)
    z_ref, p_ref = proportions_ztest([xa, xb], [na, nb])  # pooled variance
    assert (float(z), float(p)) == pytest.approx((z_ref, p_ref))


def test_compare_csat_reads_top2_box() -> None:
    df = _survey({"Q4": [5] * 56 + [2] * 14, "Q3": [4] * 48 + [3] * 32}, col="csat", group="q")
    r = compare_csat(df, group="q", a="Q4", b="Q3")
    assert (r.estimate_a, r.estimate_b, r.difference) == pytest.approx((0.8, 0.6, 0.2))
    assert r.p_value == pytest.approx(proportions_ztest([56, 48], [70, 80])[1])
    assert r.effect_size == pytest.approx(2 * math.asin(math.sqrt(0.8)) - 2 * math.asin(math.sqrt(0.6)))  # Cohen's h
    assert "20 percentage points higher in Q4" in r.reading and "significant at alpha = 0.05" in r.reading


# ---------------------------------------------------------------- NPS
def test_nps_difference_adjusted_wald_by_hand() -> None:
    # Rocks (2016) adjusted Wald for a difference, 1.5 pseudo-respondents per group (3/8 promoter, 3/8 detractor).
    r = compare_nps(_survey({"a": [10] * 60 + [8] * 20 + [3] * 20, "b": [10] * 45 + [8] * 30 + [3] * 25}),
                    group="g", a="a", b="b")
    pa, da = (60 + 0.375) / 101.5, (20 + 0.375) / 101.5
    pb, db = (45 + 0.375) / 101.5, (25 + 0.375) / 101.5
    se = math.sqrt((pa + da - (pa - da) ** 2) / 101.5 + (pb + db - (pb - db) ** 2) / 101.5)
    centre = (pa - da) - (pb - db)
    assert r.difference == pytest.approx(20.0) and (r.estimate_a, r.estimate_b) == (40.0, 20.0)
    assert (r.ci_lower, r.ci_upper) == pytest.approx((100 * (centre - Z95 * se), 100 * (centre + Z95 * se)))
    assert r.statistic == pytest.approx(centre / se)
    assert r.p_value == pytest.approx(2 * stats.norm.sf(centre / se))
    assert (r.n_a, r.n_b) == (100, 100) and r.comparison == "g: a vs b"


def test_nps_welch_option_is_scipy_welch_on_the_recoded_scores() -> None:
    rng = np.random.default_rng(3)
    xa, xb = rng.integers(0, 11, 150), rng.integers(3, 11, 120)
    r = compare_nps(_survey({"a": xa, "b": xb}), group="g", a="a", b="b", method="welch")
    recode = lambda x: np.where(x >= 9, 100.0, np.where(x <= 6, -100.0, 0.0))  # noqa: E731
    ref = stats.ttest_ind(recode(xa), recode(xb), equal_var=False)
    assert r.statistic == pytest.approx(ref.statistic) and r.p_value == pytest.approx(ref.pvalue)
    assert r.difference == pytest.approx(recode(xa).mean() - recode(xb).mean())


def test_rest_comparison_and_unknown_group() -> None:
    df = _survey({"gold": [10] * 30, "silver": [8] * 30, "bronze": [2] * 30})
    r = compare_nps(df, group="g", a="gold")
    assert r.group_b == "rest" and r.n_b == 60 and r.estimate_b == pytest.approx(-50.0)
    with pytest.raises(ParameterError, match="platinum"):
        compare_nps(df, group="g", a="platinum")
    with pytest.raises(ParameterError, match="two-sided"):
        compare_nps(df, group="g", a="gold", alternative="bigger")


def _nps_sim(rng: np.random.Generator, n: int, p_a: np.ndarray, p_b: np.ndarray, reps: int) -> dict:
    ca = rng.multinomial(n, p_a, size=reps)
    cb = rng.multinomial(n, p_b, size=reps)
    return nps_difference(ca[:, 0], ca[:, 2], n, cb[:, 0], cb[:, 2], n)


def test_nps_difference_coverage_by_simulation() -> None:
    # 2,000 pairs of surveys (n = 150 each) with a true difference of 15 points: coverage 93-97%.
    rng = np.random.default_rng(20261123)
    p_b = np.array([0.35, 0.35, 0.30])  # NPS 5
    r = _nps_sim(rng, 150, NPS_P, p_b, 2000)
    truth = 0.20 - 0.05
    coverage = np.mean((r["ci_lower"] <= truth) & (truth <= r["ci_upper"]))
    assert 0.93 <= coverage <= 0.97, coverage


def test_nps_difference_false_positive_rate_by_simulation() -> None:
    # 4,000 pairs with no difference: the share called significant at alpha = 0.05 must be 4-6%.
    rng = np.random.default_rng(99)
    r = _nps_sim(rng, 200, NPS_P, NPS_P, 4000)
    fpr = np.mean(r["p_value"] < 0.05)
    assert 0.04 <= fpr <= 0.06, fpr
    assert np.array_equal(r["p_value"] < 0.05, (r["ci_lower"] > 0) | (r["ci_upper"] < 0))  # CI and test agree


def test_csat_difference_coverage_and_false_positive_rate_by_simulation() -> None:
    rng = np.random.default_rng(5)
    xa, xb = rng.binomial(180, 0.78, 4000), rng.binomial(160, 0.70, 4000)
    lo, hi = newcombe_interval(xa, 180, xb, 160)
    assert 0.93 <= np.mean((lo <= 0.08) & (0.08 <= hi)) <= 0.97
    x0a, x0b = rng.binomial(180, 0.75, 4000), rng.binomial(160, 0.75, 4000)
    _, p = pooled_z_test(x0a, 180, x0b, 160)
    assert 0.04 <= np.mean(p < 0.05) <= 0.06


def test_ces_welch_false_positive_rate_by_simulation() -> None:
    rng = np.random.default_rng(8)
    pmf = [0.25, 0.3, 0.2, 0.1, 0.07, 0.05, 0.03]
    a = rng.choice(np.arange(1, 8), p=pmf, size=(4000, 120))
    b = rng.choice(np.arange(1, 8), p=pmf, size=(4000, 90))
    r = welch(a.mean(1), a.var(1, ddof=1), 120, b.mean(1), b.var(1, ddof=1), 90)
    assert 0.04 <= np.mean(r["p_value"] < 0.05) <= 0.06


# ---------------------------------------------------------------- CES rank tests
def test_ces_rank_tests_match_scipy() -> None:
    rng = np.random.default_rng(4)
    xa, xb = rng.integers(1, 6, 80), rng.integers(2, 8, 70)
    df = _survey({"a": xa, "b": xb}, col="ces")
    mw = compare_ces(df, group="g", a="a", b="b", method="mannwhitney")
    ref = stats.mannwhitneyu(xa, xb, method="asymptotic")
    assert mw.statistic == pytest.approx(ref.statistic) and mw.p_value == pytest.approx(ref.pvalue)
    assert mw.effect_size == pytest.approx(2 * ref.statistic / (80 * 70) - 1)  # rank-biserial
    assert math.isnan(mw.ci_lower)
    bm = compare_ces(df, group="g", a="a", b="b", method="brunnermunzel")
    ref_bm = stats.brunnermunzel(xa, xb)
    assert bm.statistic == pytest.approx(-ref_bm.statistic) and bm.p_value == pytest.approx(ref_bm.pvalue)
    assert 2 * stats.t.sf(abs(bm.statistic), bm.dof) == pytest.approx(ref_bm.pvalue)  # our dof is scipy's
    welch_r = compare_ces(df, group="g", a="a", b="b")
    assert welch_r.p_value == pytest.approx(stats.ttest_ind(xa, xb, equal_var=False).pvalue)
    assert bm.effect_size < 0.5 and welch_r.difference < 0


# ---------------------------------------------------------------- multiple testing
@pytest.mark.parametrize("method", ["holm", "fdr_bh", "bonferroni"])
def test_adjust_pvalues_matches_multipletests_and_ignores_nans(method: str) -> None:
    p = np.array([0.01, 0.04, 0.03, 0.20, 0.002, 0.049])
    ref = multipletests(p, method=method)[1]  # statsmodels 0.15
    assert adjust_pvalues(p, method=method) == pytest.approx(ref)
    with_nan = np.insert(p, 2, np.nan)
    out = adjust_pvalues(with_nan, method=method)
    assert math.isnan(out[2]) and np.delete(out, 2) == pytest.approx(ref)
    assert adjust_pvalues([np.nan, np.nan], method=method) == pytest.approx([np.nan, np.nan], nan_ok=True)


def test_adjust_pvalues_rejects_bad_input() -> None:
    with pytest.raises(ParameterError, match="holm"):
        adjust_pvalues([0.1], method="sidak")
    with pytest.raises(ParameterError, match=r"\[0, 1\]"):
        adjust_pvalues([1.2])


def test_pairwise_against_rest_with_a_tiny_segment() -> None:
    rng = np.random.default_rng(6)
    df = _survey({"bronze": rng.integers(0, 11, 300), "silver": rng.integers(2, 11, 300),
                  "gold": rng.integers(5, 11, 300), "vip": [10]})
    with pytest.warns(SmallSampleWarning, match="vip"):
        out = pairwise(df, metric="nps", group="g", padjust="holm")
    assert list(out.columns) == list(COMPARISON_COLUMNS) and len(out) == 4
    vip = out.set_index("group_a").loc["vip"]
    assert math.isnan(vip["p_value"]) and math.isnan(vip["p_adjusted"])
    ok = out["p_value"].notna()
    holm = multipletests(out.loc[ok, "p_value"], method="holm")[1]  # statsmodels 0.15
    assert out.loc[ok, "p_adjusted"].to_numpy() == pytest.approx(holm)
    assert (out.set_index("group_a").loc["gold", "p_adjusted"] < 0.001)


@pytest.mark.parametrize("metric, method", [("nps", None), ("nps", "welch"), ("csat", None), ("ces", None),
                                            ("ces", "mannwhitney"), ("ces", "brunnermunzel")])
def test_pairwise_has_the_same_columns_for_every_test(metric: str, method: str | None) -> None:
    rng = np.random.default_rng(2)
    hi = {"nps": 11, "csat": 6, "ces": 8}[metric]
    lo = 0 if metric == "nps" else 1
    df = _survey({k: rng.integers(lo, hi, 50) for k in ("a", "b", "c")}, col=metric)
    out = pairwise(df, metric=metric, group="g", against="all", method=method, padjust="fdr_bh")
    assert list(out.columns) == list(COMPARISON_COLUMNS) and len(out) == 3
    assert out[["group_a", "group_b"]].values.tolist() == [["a", "b"], ["a", "c"], ["b", "c"]]
    base = pairwise(df, metric=metric, group="g", against="baseline", baseline="a", method=method)
    assert base["group_b"].tolist() == ["a", "a"]


def test_pairwise_baseline_is_required() -> None:
    with pytest.raises(ParameterError, match="baseline"):
        pairwise(_survey({"a": [1, 2], "b": [3, 4]}), metric="nps", group="g", against="baseline")


# ---------------------------------------------------------------- trend
def test_slope_test_matches_statsmodels_hc1() -> None:
    rng = np.random.default_rng(12)
    x = np.repeat(np.arange(4.0), 50)
    y = 0.3 * x + rng.normal(0, 1 + 0.3 * x)
    b, se, dof = slope_test(x, y)
    fit = sm.OLS(y, sm.add_constant(x)).fit(cov_type="HC1", use_t=True)  # statsmodels 0.15
    assert float(b) == pytest.approx(fit.params[1]) and float(se) == pytest.approx(fit.bse[1])
    assert float(dof) == fit.df_resid


def test_trend_test_detects_a_rising_nps_and_not_a_flat_one() -> None:
    rng = np.random.default_rng(21)
    quarters = ["2025Q1", "2025Q2", "2025Q3", "2025Q4"]
    rising = [rng.multinomial(1, [0.35 + 0.05 * i, 0.35, 0.30 - 0.05 * i], 400).argmax(1) for i in range(4)]
    to_score = np.array([10, 8, 3])
    df = pd.DataFrame({"quarter": np.repeat(quarters, 400), "nps": to_score[np.concatenate(rising)]})
    r = trend_test(df, metric="nps", period_col="quarter")
    assert r.difference == pytest.approx(10.0, abs=4.0) and r.p_value < 0.001
    assert (r.group_a, r.group_b, r.n_a, r.n_b) == ("2025Q1", "2025Q4", 400, 400)
    assert "rising" in r.reading
    with pytest.raises(ParameterError, match="3 periods"):
        trend_test(df[df.quarter.isin(quarters[:2])], metric="nps", period_col="quarter")


def test_trend_false_positive_rate_by_simulation() -> None:
    rng = np.random.default_rng(31)
    x = np.repeat(np.arange(4.0), 150)
    y = rng.choice([100.0, 0.0, -100.0], p=NPS_P, size=(4000, x.size))
    b, se, dof = slope_test(x, y)
    p = 2 * stats.t.sf(np.abs(b / se), dof)
    assert 0.04 <= np.mean(p < 0.05) <= 0.06


# ---------------------------------------------------------------- power
def test_sample_size_matches_statsmodels_normal_power() -> None:
    sd = nps_sd(0.45, 0.25)
    r = sample_size(sd=sd, difference=10.0, metric="nps")
    ref = NormalIndPower().solve_power(effect_size=10.0 / sd, alpha=0.05, power=0.8, ratio=1.0)
    assert r.n_a == math.ceil(ref) == r.n_b  # statsmodels adds the negligible far tail: same whole number
    margin = sample_size(sd=sd, margin=5.0)
    assert margin.n_a == math.ceil((Z95 * sd / 5.0) ** 2)
    assert list(r.to_frame().columns) == list(POWER_COLUMNS)
    with pytest.raises(ParameterError, match="exactly one"):
        sample_size(sd=sd, margin=5.0, difference=10.0)


def test_mde_inverts_sample_size_and_margin_of_error() -> None:
    r = sample_size(sd=80.0, difference=10.0)
    assert minimum_detectable_effect(sd=80.0, n_a=r.n_a, n_b=r.n_b).difference == pytest.approx(10.0, rel=0.01)
    assert margin_of_error(sd=80.0, n=sample_size(sd=80.0, margin=5.0).n_a).margin <= 5.0
    assert "undetected" in minimum_detectable_effect(sd=80.0, n_a=400, n_b=400).reading


def test_sample_size_gives_the_promised_power_by_simulation() -> None:
    # NPS 20 vs 30: with the computed n per group, 80% +- 3% of 4,000 simulated studies detect the change.
    p_b = NPS_P
    p_a = np.array([0.50, 0.30, 0.20])
    sd = max(nps_sd(0.45, 0.25), nps_sd(0.50, 0.20))
    n = int(sample_size(sd=sd, difference=10.0).n_a)
    r = _nps_sim(np.random.default_rng(17), n, p_a, p_b, 4000)
    assert 0.77 <= np.mean(r["p_value"] < 0.05) <= 0.86  # the larger SD makes it slightly conservative


def test_respondent_sd_matches_formula() -> None:
    x = [10] * 45 + [8] * 30 + [3] * 25
    assert respondent_sd(x, metric="nps") == pytest.approx(nps_sd(0.45, 0.25) * math.sqrt(100 / 99))
    assert respondent_sd([5, 4, 1, 2], metric="csat") == pytest.approx(np.std([1, 1, 0, 0], ddof=1))


# ---------------------------------------------------------------- CUPED
def test_cuped_matches_regression_adjustment_and_reduces_variance() -> None:
    rng = np.random.default_rng(40)
    n, rho = 600, 0.8
    pre = rng.normal(0, 1, n)
    post = rho * pre + math.sqrt(1 - rho**2) * rng.normal(0, 1, n) + np.repeat([0.15, 0.0], n // 2)
    df = pd.DataFrame({"g": np.repeat(["t", "c"], n // 2), "pre": pre, "post": post})
    r = compare_adjusted(df, col="post", covariate="pre", group="g", a="t", b="c")
    fit = sm.OLS(post, sm.add_constant(np.c_[np.repeat([1.0, 0.0], n // 2), pre])).fit()
    assert r.difference == pytest.approx(fit.params[1], abs=0.01)
    raw = compare_means(post[: n // 2], post[n // 2:])
    width, raw_width = r.ci_upper - r.ci_lower, raw.ci_upper - raw.ci_lower
    assert width / raw_width == pytest.approx(math.sqrt(1 - rho**2), abs=0.06)  # 0.6 expected
    assert "variance of the difference reduced by" in r.method
    with pytest.raises(ParameterError, match="at least 3"):
        compare_adjusted(df.head(4), col="post", covariate="pre", group="g", a="t", b="c")


# ---------------------------------------------------------------- cluster-robust tests (repeat respondents)
def _clustered_sample(rng: np.random.Generator, customers: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    m = 1 + rng.poisson(1.0, customers)  # answers per customer
    cid = np.repeat(np.arange(customers), m)
    y = np.repeat(rng.normal(0, 1, customers), m) + rng.normal(0, 1, cid.size)  # ICC 0.5
    return cid, y, np.repeat(rng.random(customers) < 0.5, m)


def test_cluster_mean_difference_matches_statsmodels_cluster_ols() -> None:
    cid, y, grp = _clustered_sample(np.random.default_rng(9), 300)
    grp[:6] = ~grp[:6]  # a few customers answer in both groups: shared clusters
    r = cluster_mean_difference(y[grp], cid[grp], y[~grp], cid[~grp])
    fit = sm.OLS(y, sm.add_constant(grp.astype(float))).fit(cov_type="cluster", cov_kwds={"groups": cid},
                                                            use_t=True)  # statsmodels 0.15, CR1
    assert float(r["difference"]) == pytest.approx(fit.params[1])
    assert float(r["se"]) == pytest.approx(fit.bse[1])
    assert float(r["p_value"]) == pytest.approx(fit.pvalues[1])
    assert (float(r["ci_lower"]), float(r["ci_upper"])) == pytest.approx(tuple(fit.conf_int()[1]))


def test_clustered_false_positive_rate_by_simulation() -> None:
    # 4,000 null studies of 200 customers answering 1 + Poisson(1) times (ICC 0.5): the cluster-robust test
    # keeps 4-6% false positives; Welch on the answers, ignoring the clustering, does not.
    rng = np.random.default_rng(3)
    rej_cluster = rej_naive = 0
    for _ in range(4000):
        cid, y, grp = _clustered_sample(rng, 200)
        rej_cluster += cluster_mean_difference(y[grp], cid[grp], y[~grp], cid[~grp])["p_value"] < 0.05
        a, b = y[grp], y[~grp]
        rej_naive += welch(a.mean(), a.var(ddof=1), a.size, b.mean(), b.var(ddof=1), b.size)["p_value"] < 0.05
    assert 0.04 <= rej_cluster / 4000 <= 0.06 and rej_naive / 4000 > 0.10


def test_cluster_option_of_the_survey_comparisons() -> None:
    rng = np.random.default_rng(10)
    df = pd.DataFrame({"customer_id": np.repeat(np.arange(200), 3), "g": np.tile(["a", "b", "b"], 200),
                       "nps": rng.integers(0, 11, 600), "csat": rng.integers(1, 6, 600),
                       "ces": rng.integers(1, 8, 600)})
    r = compare_nps(df, group="g", a="a", b="b", cluster="customer_id")
    rec = np.where(df.nps >= 9, 100.0, np.where(df.nps <= 6, -100.0, 0.0))
    ref = cluster_mean_difference(rec[df.g == "a"], df.customer_id[df.g == "a"], rec[df.g == "b"],
                                  df.customer_id[df.g == "b"])
    assert r.p_value == pytest.approx(float(ref["p_value"])) and r.dof == 199 and "cluster-robust" in r.method
    c = compare_csat(df, group="g", a="a", b="b", cluster="customer_id")
    assert c.difference == pytest.approx((df.csat[df.g == "a"] >= 4).mean() - (df.csat[df.g == "b"] >= 4).mean())
    assert compare_ces(df, group="g", a="a", b="b", cluster="customer_id").dof == 199
    with pytest.raises(ParameterError, match="cluster"):
        compare_ces(df, group="g", a="a", b="b", cluster="customer_id", method="mannwhitney")
    out = pairwise(df, metric="csat", group="g", cluster="customer_id")
    assert list(out.columns) == list(COMPARISON_COLUMNS) and (out["dof"] == 199).all()
    x = np.repeat(np.arange(3.0), 200)
    b, se, dof = slope_test(x, rec, np.tile(np.arange(200), 3))
    fit = sm.OLS(rec, sm.add_constant(x)).fit(cov_type="cluster", cov_kwds={"groups": np.tile(np.arange(200), 3)})
    assert float(se) == pytest.approx(fit.bse[1]) and float(dof) == 199


# ---------------------------------------------------------------- sequential
def test_confidence_sequence_is_valid_under_weekly_peeking_by_simulation() -> None:
    # 2,000 running surveys, 40 weekly looks of 25 responses: the sequence must miss the true NPS (20) in at
    # most ~5% of surveys over ALL looks, where the repeated fixed-n 95% interval misses far more often.
    rng = np.random.default_rng(55)
    y = rng.choice([100.0, 0.0, -100.0], p=NPS_P, size=(2000, 1000))
    looks = np.arange(25, 1001, 25)
    n = looks.astype(float)
    csum, csum2 = np.cumsum(y, 1)[:, looks - 1], np.cumsum(y**2, 1)[:, looks - 1]
    mean = csum / n
    sd = np.sqrt((csum2 - n * mean**2) / (n - 1))
    miss_cs = np.any(np.abs(mean - 20.0) > cs_radius(n, sd, t_opt=1000), axis=1).mean()
    miss_naive = np.any(np.abs(mean - 20.0) > Z95 * sd / np.sqrt(n), axis=1).mean()
    assert miss_cs <= 0.05 and miss_naive >= 0.15, (miss_cs, miss_naive)


def test_confidence_sequence_frame() -> None:
    rng = np.random.default_rng(7)
    df = pd.DataFrame({"at": pd.date_range("2025-10-06", periods=70, freq="D").repeat(10),
                       "nps": rng.integers(0, 11, 700)})
    cs = confidence_sequence(df, metric="nps", time_col="at")
    assert list(cs.columns) == list(SEQUENCE_COLUMNS) and len(cs) == 10
    assert cs["n"].tolist() == list(range(70, 701, 70))
    last = cs.iloc[-1]
    assert last["estimate"] == pytest.approx(np.mean(np.where(df.nps >= 9, 100, np.where(df.nps <= 6, -100, 0))))
    fixed_half = Z95 * np.std(np.where(df.nps >= 9, 100, np.where(df.nps <= 6, -100, 0)), ddof=1) / math.sqrt(700)
    assert (last["ci_upper"] - last["ci_lower"]) / 2 > fixed_half  # the price of peeking


# ---------------------------------------------------------------- scorecard and trends
def _world(rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    n = 3000
    at = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    up = (at >= pd.Timestamp("2025-10-01")).astype(int)
    survey = pd.DataFrame({"responded_at": at, "nps": np.clip(rng.integers(4, 11, n) + up, 0, 10),
                           "csat": rng.integers(1, 6, n), "ces": rng.integers(1, 8, n)})
    opened = pd.Timestamp("2025-07-01") + pd.to_timedelta(rng.integers(0, 180 * 24, 500), unit="h")
    tickets = pd.DataFrame({"opened_at": opened,
                            "first_response_at": opened + pd.to_timedelta(rng.exponential(8, 500), unit="min"),
                            "resolved_at": opened + pd.to_timedelta(rng.exponential(20, 500), unit="h")})
    return {"survey_responses": survey, "tickets": tickets}


def test_scorecard_rows_and_significance() -> None:
    card = scorecard(_world(np.random.default_rng(1)), period="2025Q4", comparison_period="2025Q3")
    assert list(card.columns) == list(SCORECARD_COLUMNS)
    assert card["key"].tolist() == ["nps", "csat", "ces", "resolved_within", "sla_share"]
    nps_row = card.set_index("key").loc["nps"]
    assert nps_row["significant"] and nps_row["marker"] == "▲" and nps_row["change"] > 0
    assert card["change"].to_numpy() == pytest.approx((card["estimate"] - card["estimate_comparison"]).to_numpy())
    assert card.set_index("key").loc["sla_share", "estimate"] == pytest.approx(1 - math.exp(-10 / 8), abs=0.08)
    within = card.set_index("key").loc["resolved_within"]  # Exp(20 h) resolution: P(<= 24 h) = 0.699
    assert within["ci_lower"] - 0.02 <= 1 - math.exp(-24 / 20) <= within["ci_upper"] + 0.02


def test_metric_trends_and_recent_periods() -> None:
    periods = recent_periods("2025Q4", count=4)
    assert periods == ["2025Q1", "2025Q2", "2025Q3", "2025Q4"]
    trends = metric_trends(_world(np.random.default_rng(1)), periods=periods)
    assert list(trends.columns) == list(TREND_COLUMNS)
    assert trends.groupby("key").size().to_dict() == {"ces": 4, "csat": 4, "nps": 4, "resolved_within": 2,
                                                      "sla_share": 2}
    assert (trends["ci_lower"] <= trends["estimate"]).all() and (trends["estimate"] <= trends["ci_upper"]).all()


def test_comparison_result_round_trip() -> None:
    r = compare_proportions(30, 50, 20, 50, group_a="x", group_b="y")
    assert isinstance(r, ComparisonResult) and r.significant() is True
    assert r.to_frame().shape == (1, len(COMPARISON_COLUMNS)) and str(r) == r.reading
    assert set(FINDING_COLUMNS) >= {"estimate", "ci_lower", "ci_upper", "p_value", "n"}


# ---------------------------------------------------------------- the synthetic world (cxlib.synth)
@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, dict]:
    """40,000 customers (about 44,000 responses): enough power for the planted quarter contrasts."""
    synth = pytest.importorskip("cxlib.synth", reason="cxlib.synth (the synthetic world) is not installed")
    out = tmp_path_factory.mktemp("world")
    truth = synth.generate(out, n_customers=40_000, seed=20261123)
    survey = pd.read_parquet(out / "survey_responses.parquet")
    customers = pd.read_parquet(out / "customers.parquet", columns=["customer_id", "loyalty_tier", "region"])
    survey = survey.merge(customers, on="customer_id", how="left")
    survey["quarter"] = survey["responded_at"].dt.to_period("Q").astype(str)
    return survey, truth["surveys"]["contrasts"]


_PLANTED = {"nps": "nps", "csat": "csat_top2", "ces": "ces_mean"}


@pytest.mark.parametrize("contrast", ["loyalty_tier", "touchpoint", "quarter"])
@pytest.mark.parametrize("metric", ["nps", "csat", "ces"])
def test_planted_differences_are_detected(world, contrast: str, metric: str) -> None:
    # Every pair whose planted difference (truth.json) the design detects with >= 99.9% power even under
    # Bonferroni (|planted| > (z_{1 - 0.05/2m} + z_0.999) se) must be significant after Holm, with the planted
    # sign; and no significant pair may have the wrong sign.
    survey, truth = world
    out = pairwise(survey, metric=metric, group=contrast, against="all", padjust="holm", cluster="customer_id")
    planted = {g: v[_PLANTED[metric]] for g, v in truth[contrast].items() if v[_PLANTED[metric]] is not None}
    diff = np.array([planted[a] - planted[b] for a, b in zip(out.group_a, out.group_b)])
    se = (out["ci_upper"] - out["ci_lower"]).to_numpy() / (2 * Z95)
    needed = stats.norm.ppf(1 - 0.05 / (2 * len(out))) + stats.norm.ppf(0.999)
    strong = np.abs(diff) > needed * se
    significant = (out["p_adjusted"] < 0.05).to_numpy()
    assert significant[strong].all(), out.loc[strong & ~significant, ["group_a", "group_b", "difference"]]
    assert (np.sign(out["difference"].to_numpy()[significant]) == np.sign(diff[significant])).all()
    if contrast != "quarter":  # tiers and touchpoints plant differences that large; quarters plant smaller ones
        assert strong.sum() >= 1


@pytest.mark.parametrize("metric", ["nps", "csat", "ces"])
def test_planted_zero_region_difference_is_not_detected(world, metric: str) -> None:
    survey, truth = world
    assert all(v["latent_effect"] == 0.0 for v in truth["region"].values())  # the planted zero
    # Customers answer up to a dozen times and share a customer effect (truth: customer_share of the latent
    # variance), so the tests must be clustered by customer; treating answers as independent would not be honest.
    for against in ("rest", "all"):
        out = pairwise(survey, metric=metric, group="region", against=against, padjust="holm", cluster="customer_id")
        assert (out["p_adjusted"] >= 0.05).all(), out[["group_a", "group_b", "difference", "p_adjusted"]]


def test_repeat_respondents_make_naive_tests_overconfident_on_the_synthetic_world(world) -> None:
    survey, _ = world
    assert survey.groupby("customer_id").size().max() > 5  # repeat respondents exist
    naive = compare_nps(survey, group="region", a="North", b="South", method="welch")
    clustered = compare_nps(survey, group="region", a="North", b="South", cluster="customer_id")
    assert clustered.difference == pytest.approx(naive.difference)
    design_effect = ((clustered.ci_upper - clustered.ci_lower) / (naive.ci_upper - naive.ci_lower)) ** 2
    assert 1.05 < design_effect < 3.0, design_effect


def test_quarter_change_and_trend_on_the_synthetic_world(world) -> None:
    survey, truth = world
    r = compare_nps(survey, group="quarter", a="2025Q4", b="2025Q2", cluster="customer_id")
    planted = truth["quarter"]["2025Q4"]["nps"] - truth["quarter"]["2025Q2"]["nps"]
    assert r.ci_lower <= planted <= r.ci_upper and r.p_value < 0.001 and r.difference < 0
    last = trend_test(survey, metric="nps", period_col="quarter", cluster="customer_id",
                      order=["2025Q1", "2025Q2", "2025Q3", "2025Q4"])
    assert last.difference < 0 and last.p_value < 0.01  # the planted 2025 decline (shock) is a falling trend


# ---------------------------------------------------------------- sidecar helpers
def test_scorecard_findings_and_sidecar_trends_use_display_units(tmp_path) -> None:
    from cxlib import findings

    world = _world(np.random.default_rng(1))
    card = scorecard(world, period="2025Q4", comparison_period="2025Q3")
    recorded = [findings.record(tmp_path / "10_metrics.json", f) for f in scorecard_findings(card)]
    back = findings.to_frame(findings.read(tmp_path / "10_metrics.json"))
    assert back["key"].tolist() == [f.key for f in recorded] == [
        "nps", "nps_change", "csat", "csat_change", "ces", "ces_change", "resolved_within", "resolved_within_change",
        "sla_share", "sla_share_change"]
    row = card.set_index("key").loc["csat"]
    csat_level, csat_change = back.set_index("key").loc["csat"], back.set_index("key").loc["csat_change"]
    assert csat_level["estimate"] == pytest.approx(100 * row["estimate"]) and csat_level["unit"] == "%"
    assert csat_change["estimate"] == pytest.approx(100 * row["change"]) and csat_change["unit"] == "pp"
    assert csat_change["p_value"] == pytest.approx(row["p_value"]) and csat_change["comparison"] == "2025Q3"
    assert csat_change["n"] == row["n"] + row["n_comparison"] and math.isnan(csat_level["p_value"])
    trends = sidecar_trends(metric_trends(world, periods=["2025Q3", "2025Q4"]))
    assert set(trends["key"]) == set(back["key"]) and list(trends.columns) == list(TREND_COLUMNS)
    here = trends[(trends.key == "csat_change") & (trends.period == "2025Q4")]["estimate"].iloc[0]
    assert here == pytest.approx(100 * row["estimate"])
    display = scorecard_display(card)
    assert display.loc[1, "this period"] == pytest.approx(100 * row["estimate"]) and display.shape == (5, 15)


def test_survey_power_and_segment_comparisons() -> None:
    world = _world(np.random.default_rng(2))
    mde = survey_power(world, period="2025Q4", comparison_period="2025Q3")
    assert mde["metric"].tolist() == ["nps", "csat", "ces"] and list(mde.columns) == list(POWER_COLUMNS)
    survey = world["survey_responses"]
    q4 = survey[survey.responded_at >= "2025-10-01"]
    q3 = survey[(survey.responded_at >= "2025-07-01") & (survey.responded_at < "2025-10-01")]
    sd = respondent_sd(pd.concat([q4.nps, q3.nps]), metric="nps")
    expected = (Z95 + stats.norm.ppf(0.8)) * sd * math.sqrt(1 / len(q4) + 1 / len(q3))
    assert mde.loc[0, "difference"] == pytest.approx(expected)
    csat_sd = 100 * respondent_sd(pd.concat([q4.csat, q3.csat]), metric="csat")  # in percentage points
    assert mde.loc[1, "sd"] == pytest.approx(csat_sd)
    tagged = survey.assign(tier=np.where(np.arange(len(survey)) % 3 == 0, "gold", "bronze"))
    seg = segment_comparisons(tagged, segment=["tier"], metrics=("nps", "ces"))
    assert seg[["metric", "segment_column", "group_a"]].values.tolist() == [
        ["nps", "tier", "bronze"], ["nps", "tier", "gold"], ["ces", "tier", "bronze"], ["ces", "tier", "gold"]]
    assert seg.columns[0] == "segment_column" and list(seg.columns[1:]) == list(COMPARISON_COLUMNS)


# ---------------------------------------------------------------- the metrics notebook
NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "10_metrics.ipynb"


def test_notebook_follows_the_conventions() -> None:
    nbformat = pytest.importorskip("nbformat", reason="nbformat is needed to read the notebook")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert nb.metadata["kernelspec"] == {"name": "cxlib", "display_name": "Python (cxlib workbook)",
                                         "language": "python"}
    assert nb.cells[0].cell_type == "raw" and nb.cells[0].source.startswith('---\ntitle: "')
    params = nb.cells[1]
    assert params.metadata.get("tags") == ["parameters"]
    names = {line.split("=")[0].strip() for line in params.source.splitlines() if "=" in line}
    assert names >= {"data_dir", "findings_path", "period", "comparison_period", "alpha", "seed", "segment_columns",
                     "sla_minutes", "padjust"}
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)  # committed clean
    assert all("matplotlib.use" not in c.source for c in code)
    labels = [line.split(":", 1)[1].strip() for c in code for line in c.source.splitlines()
              if line.startswith("#| label:")]
    assert "tbl-scorecard" in labels and "tbl-segments" in labels and "fig-metric-trends" in labels
    assert len(labels) == len(set(labels))


@pytest.mark.slow
@pytest.mark.pipeline
def test_notebook_runs_and_records_findings(tmp_path) -> None:
    papermill = pytest.importorskip("papermill", reason="papermill runs the notebook")
    synth = pytest.importorskip("cxlib.synth", reason="cxlib.synth (the synthetic world) is not installed")
    from jupyter_client.kernelspec import KernelSpecManager

    if "cxlib" not in KernelSpecManager().find_kernel_specs():
        pytest.skip("the 'cxlib' Jupyter kernel is not registered (run `make setup`)")
    from cxlib import findings

    synth.generate(tmp_path / "data", n_customers=3000, seed=20261123)
    sidecar = tmp_path / "findings" / "10_metrics.json"
    papermill.execute_notebook(str(NOTEBOOK), str(tmp_path / "out.ipynb"), kernel_name="cxlib",
                               cwd=str(NOTEBOOK.parent),
                               parameters={"data_dir": str(tmp_path / "data"), "findings_path": str(sidecar)},
                               progress_bar=False)
    keys = [f.key for f in findings.read(sidecar)]
    # 6 metrics x (level, change); the conversion rate's headline belongs to the journeys section
    assert keys[:2] == ["nps", "nps_change"] and len(keys) == 12 and "conversion_rate" not in keys
    trends = pd.read_csv(sidecar.with_suffix(".trends.csv"))
    assert list(trends.columns) == list(TREND_COLUMNS)
    assert set(trends["key"]) == set(keys) | {"conversion_rate", "conversion_rate_change"}
    assert trends.groupby("key").size().max() == 6  # trend_quarters = 6
