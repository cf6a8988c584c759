"""Property-based tests (hypothesis) of cxlib.metrics: invariances, bounds and reference formulas.

Each property holds for every input hypothesis draws, not just for the hand-picked
examples of ``tests/test_metrics.py``:

* the row order of the data never changes a result;
* duplicating the data doubles ``n``, keeps the estimate and narrows the interval;
* NPS lies in [-100, 100], shares in [0, 1], ``ci_lower <= estimate <= ci_upper``;
* the numbers agree with independent reference implementations (statsmodels'
  ``proportion_confint`` and ``DescrStatsW``, scipy's t quantiles);
* a segment with one respondent gives a result row (and a ``SmallSampleWarning``
  where no interval exists),
  junk scores give a ``DataContractError``, never a traceback from inside pandas.

The profile is derandomized (``derandomize=True``, no example database), so CI
draws the same examples on every run.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.weightstats import DescrStatsW

from cxlib.errors import DataContractError, SmallSampleWarning
from cxlib.metrics import (
    METRIC_COLUMNS,
    by_segment,
    ces,
    churn_from_counts,
    csat,
    median_interval,
    nps,
    nps_interval,
    recode_nps,
    retention_from_counts,
    score_distribution,
    wilson_interval,
)

#: Fixed, derandomized profile: same examples on every run, no .hypothesis database, no deadline flakiness.
PROPERTY = settings(derandomize=True, max_examples=60, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

NPS_SCORES = st.lists(st.integers(0, 10), min_size=2, max_size=120)
CSAT_SCORES = st.lists(st.integers(1, 5), min_size=1, max_size=120)
CES_SCORES = st.lists(st.integers(1, 7), min_size=2, max_size=120)
ALPHAS = st.sampled_from([0.01, 0.05, 0.1, 0.2])
TOL = 1e-9


def _values(result) -> tuple[float, ...]:
    return (result.estimate, result.ci_lower, result.ci_upper, result.se, result.n)


# ---------------------------------------------------------------- row order

@PROPERTY
@given(scores=NPS_SCORES, data=st.data())
def test_nps_csat_ces_ignore_row_order(scores: list[int], data) -> None:
    shuffled = data.draw(st.permutations(scores))
    assert _values(nps(scores)) == pytest.approx(_values(nps(shuffled)), abs=TOL)
    ces_scores = [1 + s % 7 for s in scores]
    assert _values(ces(ces_scores)) == pytest.approx(_values(ces([1 + s % 7 for s in shuffled])), abs=TOL)
    csat_scores = [1 + s % 5 for s in scores]
    assert _values(csat(csat_scores)) == pytest.approx(_values(csat([1 + s % 5 for s in shuffled])), abs=TOL)


@PROPERTY
@given(rows=st.lists(st.tuples(st.sampled_from(["bronze", "silver", "gold"]), st.integers(0, 10)),
                     min_size=6, max_size=80),
       data=st.data())
def test_grouped_nps_ignores_row_order(rows: list[tuple[str, int]], data) -> None:
    df = pd.DataFrame(rows, columns=["tier", "nps"])
    df = df[df.groupby("tier")["nps"].transform("size") >= 2]  # groups of one are tested below
    if df.empty:
        df = pd.DataFrame({"tier": ["gold", "gold"], "nps": [10, 3]})
    order = data.draw(st.permutations(list(range(len(df)))))
    a = by_segment(nps, df, segment="tier")
    b = by_segment(nps, df.iloc[order].reset_index(drop=True), segment="tier")
    assert list(a.columns) == list(METRIC_COLUMNS)
    pd.testing.assert_frame_equal(a, b, check_exact=False, atol=TOL)


# ---------------------------------------------------------------- duplicated data

@PROPERTY
@given(scores=NPS_SCORES)
def test_nps_duplicated_data_doubles_n_keeps_estimate_narrows_ci(scores: list[int]) -> None:
    one, two = nps(scores), nps(scores * 2)
    assert two.n == 2 * one.n
    assert two.estimate == pytest.approx(one.estimate, abs=TOL)
    assert two.ci_upper - two.ci_lower <= one.ci_upper - one.ci_lower + TOL
    assert two.se < one.se


@PROPERTY
@given(scores=CSAT_SCORES)
def test_csat_duplicated_data_doubles_n_keeps_estimate_narrows_ci(scores: list[int]) -> None:
    one, two = csat(scores), csat(scores * 2)
    assert two.n == 2 * one.n and two.estimate == pytest.approx(one.estimate, abs=TOL)
    assert two.ci_upper - two.ci_lower < one.ci_upper - one.ci_lower


@PROPERTY
@given(scores=CES_SCORES)
def test_ces_duplicated_data_doubles_n_keeps_estimate_narrows_ci(scores: list[int]) -> None:
    one, two = ces(scores), ces(scores * 2)
    assert two.n == 2 * one.n and two.estimate == pytest.approx(one.estimate, abs=TOL)
    if one.se > 0:
        assert two.ci_upper - two.ci_lower < one.ci_upper - one.ci_lower
    else:  # every score equal: zero-width interval at the estimate
        assert two.ci_lower == two.ci_upper == two.estimate


# ---------------------------------------------------------------- bounds

@PROPERTY
@given(scores=NPS_SCORES, alpha=ALPHAS, method=st.sampled_from(["adjusted_wald", "wald"]))
def test_nps_bounds(scores: list[int], alpha: float, method: str) -> None:
    r = nps(scores, alpha=alpha, method=method)
    assert -100 <= r.ci_lower <= r.estimate + TOL and r.estimate - TOL <= r.ci_upper <= 100
    assert r.se >= 0 and r.ci_level == pytest.approx(1 - alpha) and r.n == len(scores)


@PROPERTY
@given(n=st.integers(1, 400), data=st.data(), alpha=ALPHAS)
def test_wilson_and_nps_intervals_stay_on_their_scales(n: int, data, alpha: float) -> None:
    x = data.draw(st.integers(0, n))
    lo, hi = wilson_interval(x, n, alpha=alpha)
    assert 0 - TOL <= lo <= x / n + TOL and x / n - TOL <= hi <= 1 + TOL
    promoters = data.draw(st.integers(0, n))
    detractors = data.draw(st.integers(0, n - promoters))
    se, lo, hi = nps_interval(promoters, detractors, n, alpha=alpha)
    assert -1 <= lo <= (promoters - detractors) / n <= hi <= 1 and se > 0


@PROPERTY
@given(scores=CSAT_SCORES, top_box=st.integers(1, 4))
def test_csat_share_and_interval_in_unit_interval(scores: list[int], top_box: int) -> None:
    r = csat(scores, top_box=top_box)
    assert 0 <= r.ci_lower <= r.estimate <= r.ci_upper <= 1
    assert r.estimate == pytest.approx(np.mean(np.array(scores) >= 6 - top_box))


@PROPERTY
@given(scores=st.lists(st.integers(1, 7), min_size=1, max_size=120))
def test_score_distribution_shares_sum_to_one(scores: list[int]) -> None:
    d = score_distribution(scores, scale=(1, 7))
    assert d.shape == (7, 10) and d["count"].sum() == len(scores)
    assert d["share"].sum() == pytest.approx(1.0)
    assert ((d["ci_lower"] <= d["share"] + TOL) & (d["share"] - TOL <= d["ci_upper"])).all()
    assert ((d["ci_lower"] >= -TOL) & (d["ci_upper"] <= 1 + TOL)).all()


@PROPERTY
@given(start=st.integers(1, 5000), data=st.data())
def test_churn_and_retention_from_counts_are_complements(start: int, data) -> None:
    retained = data.draw(st.integers(0, start))
    acquired = data.draw(st.integers(0, 5000))
    end = retained + acquired
    churn = churn_from_counts(start=start, end=end, acquired=acquired)
    keep = retention_from_counts(start=start, end=end, acquired=acquired)
    assert churn.estimate + keep.estimate == pytest.approx(1.0)
    assert 0 <= churn.ci_lower <= churn.estimate <= churn.ci_upper <= 1
    assert churn.ci_lower == pytest.approx(1 - keep.ci_upper) and churn.n == keep.n == start


@PROPERTY
@given(values=st.lists(st.floats(0, 1e4, allow_nan=False), min_size=1, max_size=150), data=st.data())
def test_median_interval_brackets_the_median_and_ignores_order(values: list[float], data) -> None:
    lo, hi = median_interval(np.array(values))
    shuffled = data.draw(st.permutations(values))
    assert median_interval(np.array(shuffled)) == (lo, hi) or (math.isnan(lo) and len(values) < 6)
    if not math.isnan(lo):
        assert lo <= float(np.median(values)) <= hi


# ---------------------------------------------------------------- reference formulas

@PROPERTY
@given(scores=NPS_SCORES, alpha=ALPHAS)
def test_nps_agrees_with_weighted_mean_of_recoded_scores(scores: list[int], alpha: float) -> None:
    """NPS is the mean of the +100/0/-100 recoding; Rocks' adjusted Wald adds weights 3/4, 3/2, 3/4.

    Reference: statsmodels ``DescrStatsW`` (weighted mean and ddof-0 variance) on the recoded scores
    with the three pseudo-respondents appended as weighted rows, z from scipy; the adjusted interval
    is widened to contain the sample NPS (``nps_interval`` Notes).
    """
    z = stats.norm.ppf(1 - alpha / 2)
    recoded = recode_nps(scores)
    wald = DescrStatsW(recoded, ddof=0)
    adjusted = DescrStatsW(np.r_[recoded, 100.0, 0.0, -100.0], weights=np.r_[np.ones(len(scores)), 0.75, 1.5, 0.75],
                           ddof=0)
    r_wald, r_adj = nps(scores, alpha=alpha, method="wald"), nps(scores, alpha=alpha)
    assert r_adj.estimate == pytest.approx(wald.mean, abs=1e-9)
    se = math.sqrt(wald._var / wald.sum_weights)
    assert (r_wald.se, r_wald.ci_lower, r_wald.ci_upper) == pytest.approx(
        (se, max(-100, wald.mean - z * se), min(100, wald.mean + z * se)), abs=1e-9)
    se = math.sqrt(adjusted._var / adjusted.sum_weights)
    assert (r_adj.se, r_adj.ci_lower, r_adj.ci_upper) == pytest.approx(
        (se, max(-100, min(adjusted.mean - z * se, wald.mean)), min(100, max(adjusted.mean + z * se, wald.mean))),
        abs=1e-9)


@PROPERTY
@given(scores=CSAT_SCORES, alpha=ALPHAS)
def test_csat_agrees_with_statsmodels_wilson(scores: list[int], alpha: float) -> None:
    x, n = int(np.sum(np.array(scores) >= 4)), len(scores)
    r = csat(scores, alpha=alpha)
    lo, hi = proportion_confint(x, n, alpha=alpha, method="wilson")
    assert (r.estimate, r.ci_lower, r.ci_upper) == pytest.approx((x / n, lo, hi), abs=1e-12)


@PROPERTY
@given(scores=CES_SCORES, alpha=ALPHAS)
def test_ces_agrees_with_statsmodels_t_interval(scores: list[int], alpha: float) -> None:
    r = ces(scores, alpha=alpha)
    ref = DescrStatsW(np.asarray(scores, dtype=float))
    lo, hi = ref.tconfint_mean(alpha=alpha)
    assert (r.estimate, r.se) == pytest.approx((ref.mean, ref.std_mean), abs=1e-12)
    assert (r.ci_lower, r.ci_upper) == pytest.approx((lo, hi), abs=1e-9)


# ---------------------------------------------------------------- tiny segments and junk

def test_a_ces_segment_with_one_respondent_warns_and_keeps_its_row() -> None:
    df = pd.DataFrame({"segment": ["solo"] + ["crowd"] * 30, "ces": [3] + [1, 2, 3, 4, 5, 6] * 5})
    with pytest.warns(SmallSampleWarning, match=r"ces \[solo\] rests on n = 1 observations"):
        out = by_segment(ces, df, segment="segment")
    assert out.shape == (2, len(METRIC_COLUMNS)) and out.index.tolist() == ["crowd", "solo"]
    solo = out.loc["solo"]
    assert (solo["n"], solo["estimate"]) == (1, 3.0)
    assert math.isnan(solo["ci_lower"]) and math.isnan(solo["ci_upper"]) and math.isnan(solo["se"])
    assert out.loc["crowd", "ci_lower"] < out.loc["crowd", "estimate"] == 3.5 < out.loc["crowd", "ci_upper"]


def test_an_nps_segment_with_one_respondent_gets_a_wide_interval_containing_it() -> None:
    # Rocks' adjusted Wald alone gives -48.5..98.5 for a lone promoter (NPS 100); widened to contain it.
    df = pd.DataFrame({"segment": ["solo"] + ["crowd"] * 30, "nps": [10] + [0, 5, 7, 8, 9, 10] * 5})
    out = by_segment(nps, df, segment="segment")
    solo = out.loc["solo"]
    assert (solo["n"], solo["estimate"], solo["ci_upper"]) == (1, 100.0, 100.0)
    assert solo["ci_lower"] == pytest.approx(-48.4986494, abs=1e-6)
    assert out.loc["crowd", "estimate"] == 0.0  # 10 promoters (9, 10) and 10 detractors (0, 5) of 30


def test_a_csat_segment_with_one_respondent_has_a_wilson_interval() -> None:
    # Wilson's interval is defined at n = 1 and contains the share: no warning needed.
    out = by_segment(csat, pd.DataFrame({"segment": ["solo", "crowd", "crowd"], "csat": [5, 1, 4]}), segment="segment")
    assert out.loc["solo", "estimate"] == 1.0 and out.loc["solo", "ci_upper"] == 1.0
    assert out.loc["solo", "ci_lower"] == pytest.approx(proportion_confint(1, 1, method="wilson")[0])


JUNK = st.one_of(st.integers(-3, 14), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=3),
                 st.none(), st.sampled_from(["9", "ten", "", " ", "N/A"]))


@PROPERTY
@given(values=st.lists(JUNK, min_size=0, max_size=30))
def test_junk_scores_give_a_result_or_a_data_contract_error(values: list) -> None:
    """Text, out-of-range, fractional or infinite scores: a DataContractError naming the column, or a result."""
    frame = pd.DataFrame({"nps": pd.Series(values, dtype=object)})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            r = nps(frame)
        except DataContractError as exc:
            assert exc.column == "nps" and exc.rule == "scale" and "'nps'" in str(exc)
            return
    numeric = pd.to_numeric(frame["nps"], errors="coerce").dropna()
    assert r.n == len(numeric) and numeric.between(0, 10).all() and (numeric == numeric.round()).all()
    if r.n == 0:
        assert [w.category for w in caught] == [SmallSampleWarning] and math.isnan(r.estimate)
    else:
        assert caught == [] and -100 <= r.ci_lower <= r.estimate <= r.ci_upper <= 100


def test_missing_column_is_a_data_contract_error() -> None:
    with pytest.raises(DataContractError, match=r"Column 'nps' is missing; the frame has \['NPS'\]"):
        nps(pd.DataFrame({"NPS": [10, 9]}))
