"""Tests of cxlib.stats, the statistics kernel, against SciPy and statsmodels as oracles.

Every oracle is the call written next to the assertion (SciPy 1.x, statsmodels 0.14).
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats as st
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportion_effectsize,
    proportions_ztest,
)

import cxlib.metrics
import cxlib.significance
import cxlib.stats
import cxlib.survival
from cxlib.errors import DataContractError, ParameterError
from cxlib.stats import (
    adjust_pvalues,
    bonferroni,
    check_alpha,
    check_alternative,
    attach_segment_labels,
    by_segment,
    check_by,
    check_segment,
    cluster_mean_difference,
    cohens_h,
    fdr_bh,
    group_index,
    holm,
    iter_groups,
    lead_columns,
    median_interval,
    median_rank_bounds,
    newcombe_interval,
    nps_difference,
    nps_interval,
    normalise_by,
    numeric_values,
    segment_keys,
    segment_labels,
    pooled_z_test,
    stack_groups,
    t_interval_mean,
    t_test,
    t_value,
    welch,
    wilson_interval,
    z_critical,
    z_test,
    z_value,
)

SUCCESSES = [(0, 10), (1, 10), (5, 10), (9, 10), (10, 10), (3, 7), (40, 50), (1, 1), (120, 1000)]


# --------------------------------------------------------------------------- checks and critical values

@pytest.mark.parametrize("alpha", [0.05, 0.2, 1e-6, np.float64(0.1), np.float32(0.1), 1 - 1e-9])
def test_check_alpha_accepts_numbers_strictly_inside(alpha):
    assert check_alpha(alpha) == pytest.approx(float(alpha)) and isinstance(check_alpha(alpha), float)


@pytest.mark.parametrize("alpha", [0, 1, 0.0, 1.0, -0.05, 1.5, math.nan, "0.05", None, True])
def test_check_alpha_rejects_and_names_the_value(alpha):
    with pytest.raises(ParameterError, match=rf"alpha={alpha!r} must lie strictly between 0 and 1"):
        check_alpha(alpha)


def test_check_alternative():
    assert check_alternative("less") == "less"
    with pytest.raises(ParameterError, match="alternative='bigger' is not allowed"):
        check_alternative("bigger")


@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.1, 0.32])
def test_critical_values_match_scipy(alpha):
    assert z_value(alpha) == st.norm.ppf(1 - alpha / 2)
    assert z_critical(alpha) == z_value(alpha)
    assert z_critical(alpha, "greater") == z_critical(alpha, "less") == st.norm.ppf(1 - alpha)
    for dof in (1, 4.5, 30):
        assert t_value(alpha, dof) == st.t.ppf(1 - alpha / 2, dof)
    assert t_value(alpha, math.inf) == z_value(alpha)


# --------------------------------------------------------------------------- intervals

@pytest.mark.parametrize("alpha", [0.05, 0.1, 0.01])
def test_wilson_matches_statsmodels(alpha):
    x, n = np.array(SUCCESSES).T
    lo, hi = wilson_interval(x, n, alpha=alpha)
    ref_lo, ref_hi = proportion_confint(x, n, alpha=alpha, method="wilson")
    assert np.allclose(lo, ref_lo, atol=1e-12) and np.allclose(hi, ref_hi, atol=1e-12)
    assert lo[0] == 0.0 and hi[4] == 1.0  # exact ends where rounding would leave them a hair inside


def test_wilson_empty_group_is_nan():
    lo, hi = wilson_interval(0, 0)
    assert np.isnan(lo) and np.isnan(hi)


@pytest.mark.parametrize("alpha", [0.05, 0.1])
def test_t_interval_matches_scipy(alpha):
    rng = np.random.default_rng(3)
    x = rng.normal(3.0, 2.0, size=37)
    se, lo, hi = t_interval_mean(x.mean(), x.std(ddof=1), x.size, alpha=alpha)
    ref = st.t.interval(1 - alpha, x.size - 1, loc=x.mean(), scale=st.sem(x))
    assert se == pytest.approx(st.sem(x), rel=1e-12)
    assert (float(lo), float(hi)) == pytest.approx(ref, rel=1e-12)
    assert np.isnan(t_interval_mean(1.0, 1.0, 1)[1])  # n < 2: no interval


def test_nps_wald_is_the_textbook_formula_and_adjusted_adds_three_pseudo_respondents():
    p, d, n = 50, 20, 100
    se, lo, hi = nps_interval(p, d, n, method="wald")
    ref_se = math.sqrt((0.5 + 0.2 - 0.3**2) / n)
    assert se == pytest.approx(ref_se) and (lo, hi) == pytest.approx((0.3 - 1.959964 * ref_se, 0.3 + 1.959964 * ref_se))
    se_a, lo_a, hi_a = nps_interval(p, d, n)
    pa, da = (p + 0.75) / 103, (d + 0.75) / 103
    assert se_a == pytest.approx(math.sqrt((pa + da - (pa - da) ** 2) / 103))
    assert (float(lo_a), float(hi_a)) == pytest.approx((0.1405, 0.442), abs=1e-4)  # Rocks (2016) adjusted Wald


def test_nps_interval_contains_the_sample_nps():
    _, lo, hi = nps_interval(199, 0, 199, alpha=0.2)
    assert lo <= 1.0 <= hi


@pytest.mark.parametrize("n", [6, 7, 10, 20, 51, 200])
def test_median_rank_bounds_cover_and_median_interval_takes_those_order_statistics(n):
    lo, up = median_rank_bounds(n)
    # coverage of [x_(l), x_(u)] is P(l <= B < u) for B ~ Binomial(n, 1/2) (Conover 1999, 3.2)
    coverage = st.binom.cdf(up - 1, n, 0.5) - st.binom.cdf(lo - 1, n, 0.5)
    assert coverage >= 0.95 and up == n - lo + 1
    x = np.random.default_rng(n).normal(size=n)
    assert median_interval(x) == (np.sort(x)[lo - 1], np.sort(x)[up - 1])


def test_median_interval_needs_enough_values():
    assert all(math.isnan(v) for v in median_interval(np.arange(5.0)))
    assert all(math.isnan(v) for v in median_interval(np.array([])))
    assert median_interval(np.arange(1.0, 21.0)) == (6.0, 15.0)


@pytest.mark.parametrize("counts", [(56, 70, 48, 80), (5, 10, 1, 12), (0, 20, 3, 20), (30, 30, 25, 30)])
def test_newcombe_matches_statsmodels(counts):
    x1, n1, x2, n2 = counts
    lo, hi = newcombe_interval(x1, n1, x2, n2)
    ref = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", compare="diff")
    assert (float(lo), float(hi)) == pytest.approx(ref, abs=1e-10)


# --------------------------------------------------------------------------- tests

@pytest.mark.parametrize("counts", [(56, 70, 48, 80), (5, 10, 1, 12), (0, 20, 3, 20)])
@pytest.mark.parametrize("alternative, sm_alt", [("two-sided", "two-sided"), ("greater", "larger"),
                                                 ("less", "smaller")])
def test_pooled_z_matches_statsmodels(counts, alternative, sm_alt):
    x1, n1, x2, n2 = counts
    z, p = pooled_z_test(x1, n1, x2, n2, alternative=alternative)
    ref_z, ref_p = proportions_ztest([x1, x2], [n1, n2], alternative=sm_alt)
    assert float(z) == pytest.approx(ref_z, rel=1e-10) and float(p) == pytest.approx(ref_p, rel=1e-10)


def test_pooled_z_zero_variance_conventions():
    with np.errstate(invalid="ignore"):
        z, p = pooled_z_test([0, 10, 3], [10, 10, 10], [0, 12, 4], [12, 12, 10])
    assert np.isnan(z[:2]).all() and np.isnan(p[:2]).all() and np.isfinite(z[2])
    z2, p2 = pooled_z_test([0, 10, 3], [10, 10, 10], [0, 12, 4], [12, 12, 10], zero_variance="no_difference")
    assert z2[:2].tolist() == [0.0, 0.0] and p2[:2].tolist() == [1.0, 1.0] and z2[2] == z[2]
    with pytest.raises(ParameterError, match="zero_variance"):
        pooled_z_test(1, 2, 1, 2, zero_variance="zero")


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_z_and_t_tests_match_scipy(alternative):
    est, se = np.array([-1.0, 0.3, 2.5]), np.array([0.5, 0.2, 1.0])
    z, p, lo, hi = z_test(est, se, alpha=0.1, alternative=alternative)
    sf = {"two-sided": 2 * st.norm.sf(np.abs(est / se)), "greater": st.norm.sf(est / se),
          "less": st.norm.cdf(est / se)}[alternative]
    assert np.allclose(z, est / se) and np.allclose(p, sf)
    _, pt, _, _ = t_test(est, se, 12, alternative=alternative)
    sft = {"two-sided": 2 * st.t.sf(np.abs(est / se), 12), "greater": st.t.sf(est / se, 12),
           "less": st.t.cdf(est / se, 12)}[alternative]
    assert np.allclose(pt, sft)
    if alternative == "greater":
        assert np.isinf(hi).all() and np.allclose(lo, est - st.norm.ppf(0.9) * se)


def test_welch_matches_scipy():
    r = welch(5.0, 4.0, 20, 4.0, 1.0, 25)
    ref = st.ttest_ind_from_stats(5.0, 2.0, 20, 4.0, 1.0, 25, equal_var=False)
    assert float(r["statistic"]) == pytest.approx(ref.statistic) and float(r["p_value"]) == pytest.approx(ref.pvalue)


def test_cluster_mean_difference_matches_statsmodels_cluster_ols():
    rng = np.random.default_rng(7)
    ya, yb = rng.normal(1, 1, 40), rng.normal(0.5, 1, 30)
    ca, cb = rng.integers(0, 15, 40), rng.integers(10, 25, 30)
    r = cluster_mean_difference(ya, ca, yb, cb)
    X = sm.add_constant(np.r_[np.ones(40), np.zeros(30)])
    fit = sm.OLS(np.r_[ya, yb], X).fit(cov_type="cluster", cov_kwds={"groups": np.r_[ca, cb]})
    assert float(r["difference"]) == pytest.approx(fit.params[1]) and float(r["se"]) == pytest.approx(fit.bse[1])


def test_nps_difference_interval_contains_the_raw_difference():
    r = nps_difference(2, 0, 2, 0, 2, 2, alpha=0.1)
    assert float(r["ci_lower"]) <= float(r["difference"]) == 2.0 <= float(r["ci_upper"])


def test_cohens_h_matches_statsmodels():
    assert float(cohens_h(0.8, 0.6)) == pytest.approx(proportion_effectsize(0.8, 0.6))
    assert float(cohens_h(1.2, 0.0)) == pytest.approx(math.pi)  # clipped to [0, 1]


# --------------------------------------------------------------------------- multiple testing

P_VALUES = np.array([0.01, np.nan, 0.04, 0.03, 0.5, 0.0, 1.0, 0.002, 0.04])


@pytest.mark.parametrize("method, function", [("holm", holm), ("fdr_bh", fdr_bh), ("bonferroni", bonferroni)])
def test_adjustments_match_statsmodels_multipletests(method, function):
    ok = ~np.isnan(P_VALUES)
    ref = multipletests(P_VALUES[ok], method=method)[1]
    for adjusted in (adjust_pvalues(P_VALUES, method=method), function(P_VALUES)):
        assert np.allclose(adjusted[ok], ref) and np.isnan(adjusted[~ok]).all()


def test_adjustment_edge_cases():
    assert holm(0.02).tolist() == [0.02]  # a scalar is a family of one
    assert adjust_pvalues([0.2, np.nan], method="none")[0] == 0.2
    with pytest.raises(ParameterError, match=r"must lie in \[0, 1\]"):
        adjust_pvalues([1.2])
    with pytest.raises(ParameterError, match="one-dimensional"):
        adjust_pvalues([[0.1]])


# --------------------------------------------------------------------------- grouping

@pytest.fixture
def frame():
    return pd.DataFrame({"tier": ["b", "a", "b", "a"], "region": ["N", "S", "N", "N"], "x": [1.0, 2.0, 3.0, 4.0]})


def test_check_segment_names_the_table_and_missing_column(frame):
    assert check_segment(frame, "tier") == ["tier"] and check_segment(frame, None) == []
    with pytest.raises(DataContractError, match="Table 'survey' lacks the segment column"):
        check_segment(frame, ["tier", "plan"], table="survey")


def test_old_grouping_names_warn_and_still_work(frame):
    with pytest.warns(DeprecationWarning, match=r"check_by\(\) is deprecated.*check_segment\(\)"):
        assert check_by(frame, "tier") == ["tier"]
    with pytest.warns(DeprecationWarning, match=r"normalise_by\(\) is deprecated.*segment_keys\(\)"):
        assert normalise_by(["tier", "region"]) == segment_keys(["tier", "region"]) == ["tier", "region"]


def test_iter_groups_stack_and_lead_columns(frame):
    groups = list(iter_groups(frame, ["tier", "region"]))
    assert [k for k, _ in groups] == [("a", "N"), ("a", "S"), ("b", "N")]
    parts = [pd.DataFrame({"n": [len(g)]}) for _, g in groups]
    out = stack_groups(parts, [k for k, _ in groups], ["tier", "region"], ["n"])
    assert out.index.names == ["tier", "region"] and out["n"].tolist() == [1, 1, 2]
    assert group_index(["tier"], [("a",), ("b",)]).tolist() == ["a", "b"]
    assert lead_columns(pd.DataFrame({"v": [1]}), ["tier"], ("a",)).columns.tolist() == ["tier", "v"]


def test_numeric_values_checks_the_scale():
    assert numeric_values(pd.DataFrame({"s": [1, None, 5]}), "s", low=1, high=5).tolist() == [1.0, 5.0]
    with pytest.raises(DataContractError, match="must hold integers in"):
        numeric_values(pd.DataFrame({"s": [1, 6]}), "s", low=1, high=5, integer=True)


# --------------------------------------------------------------------------- one home, old names still work

@pytest.mark.parametrize("name", ["wilson_interval", "nps_interval", "t_interval_mean", "median_interval",
                                  "NPS_PSEUDO_COUNT"])
def test_metrics_reexports_the_kernel(name):
    assert getattr(cxlib.metrics, name) is getattr(cxlib.stats, name)


@pytest.mark.parametrize("name", ["adjust_pvalues", "newcombe_interval", "pooled_z_test", "welch", "z_test",
                                  "cluster_mean_difference", "nps_difference", "ALTERNATIVES", "PADJUST_METHODS"])
def test_significance_reexports_the_kernel(name):
    assert getattr(cxlib.significance, name) is getattr(cxlib.stats, name)


@pytest.mark.parametrize("module, new", [(cxlib.significance, "COMPARISON_COLUMNS"),
                                         (cxlib.survival, "SURVIVAL_TEST_COLUMNS")])
def test_old_test_columns_name_warns(module, new):
    with pytest.warns(DeprecationWarning, match=new):
        old = module.TEST_COLUMNS
    assert old == getattr(module, new)


def test_the_test_schemas_share_the_names_of_shared_ideas():
    """Two-group comparisons, survival tests and funnel comparisons: the same name for the same idea."""
    from cxlib.journey.funnel import FUNNEL_COMPARISON_COLUMNS

    comparison, survival = cxlib.significance.COMPARISON_COLUMNS, cxlib.survival.SURVIVAL_TEST_COLUMNS
    shared = {"group_a", "group_b", "difference", "ci_lower", "ci_upper", "ci_level", "statistic", "dof", "p_value",
              "method"}
    assert shared <= set(comparison) and shared <= set(survival) and shared <= set(FUNNEL_COMPARISON_COLUMNS)
    assert {"estimate_a", "estimate_b", "p_adjusted", "n_a", "n_b"} <= set(comparison) & set(FUNNEL_COMPARISON_COLUMNS)
    # a log-rank test of k segments has no two sides' estimates; its n is the subjects of all segments
    assert {"se", "n"} <= set(survival) - set(comparison)
    old_names = {"estimate", "segment_a", "segment_b", "rate_a", "rate_b", "p_holm"}
    assert not old_names & (set(survival) | set(FUNNEL_COMPARISON_COLUMNS))
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        from cxlib.significance import COMPARISON_COLUMNS  # noqa: F401  (the new names do not warn)


# ---------------------------------------------------------------- splitting by segment (issue 16)
def test_by_segment_is_the_split_of_the_analysis_one_row_per_level(frame):
    df = pd.DataFrame({"nps": [10, 9, 3, 10, 8, 8, 0, 10], "tier": list("aaabbbbb"), "region": list("NSNNSSNN")})
    one = by_segment(cxlib.metrics.nps, df, segment="tier")
    assert one.index.name == "tier" and one["segment"].tolist() == ["a", "b"]
    for level, row in one.iterrows():
        own = cxlib.metrics.nps(df[df.tier == level])
        assert (row["estimate"], row["ci_lower"], row["n"]) == (own.estimate, own.ci_lower, own.n)
    two = by_segment(cxlib.metrics.nps, df, ["tier", "region"])  # segment may be positional
    assert two.index.names == ["tier", "region"] and two["segment"].tolist() == ["a, N", "a, S", "b, N", "b, S"]
    assert by_segment is cxlib.metrics.by_segment is cxlib.significance.by_segment


def test_by_segment_rejects_analyses_that_do_not_split_this_way_and_an_empty_segment():
    df = pd.DataFrame({"ces": [1, 2], "tier": ["a", "b"]})
    with pytest.raises(ParameterError, match="takes segment= itself"):
        by_segment(cxlib.metrics.score_distribution, df, segment="tier")
    with pytest.raises(ParameterError, match="needs segment="):
        by_segment(cxlib.metrics.ces, df, segment=[])
    with pytest.raises(DataContractError, match="'plan'"):
        by_segment(cxlib.metrics.ces, df, segment="plan")


def test_segment_labels_take_one_type_and_convert_the_old_ones_with_a_warning():
    frame = pd.DataFrame({"customer_id": ["C1", "C2"], "rfm": ["champions", "lost"]})
    assert segment_labels(frame, segment="rfm") is frame
    with pytest.warns(DeprecationWarning, match=r"indexed by customer id .*rename_axis\('customer_id'\)"):
        pd.testing.assert_frame_equal(segment_labels(frame.set_index("customer_id")), frame)
    with pytest.warns(DeprecationWarning, match=r"mapping of name to Series .*pd\.DataFrame\(mapping\)"):
        got = segment_labels({"rfm": frame.set_index("customer_id")["rfm"]})
    pd.testing.assert_frame_equal(got, frame.astype(object))
    with pytest.raises(DataContractError, match=r"lacks the segment column\(s\) \['tier'\]"):
        segment_labels(frame, segment="tier")
    with pytest.raises(DataContractError, match="repeated customer_id row"):
        segment_labels(pd.concat([frame, frame.head(1)]))
    with pytest.raises(ParameterError, match="DataFrame with a customer_id column"):
        segment_labels("customers")


def test_attach_segment_labels_joins_on_customer_id_and_fills_unassigned():
    rows = pd.DataFrame({"customer_id": ["C1", "C2", "C3"], "nps": [9, 3, 7]})
    labels = pd.DataFrame({"customer_id": ["C1", "C2"], "rfm": ["champions", None], "cluster": [2, 0]})
    out, names = attach_segment_labels(rows, labels)
    assert names == ["rfm", "cluster"]
    assert out[["rfm", "cluster"]].values.tolist() == [["champions", "2"], ["unassigned", "0"],
                                                        ["unassigned", "unassigned"]]
    with pytest.raises(DataContractError, match="customer_id"):
        attach_segment_labels(rows.drop(columns="customer_id"), labels)
