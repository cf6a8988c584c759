"""Tests of cxlib.metrics: formulas against hand computations, statsmodels/scipy and simulation."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.rates import confint_poisson

from cxlib.errors import DataContractError, ParameterError, SmallSampleWarning
from cxlib.metrics import (
    DISTRIBUTION_COLUMNS,
    METRIC_COLUMNS,
    MetricResult,
    acquisition_rate,
    backlog,
    by_segment,
    bounce_rate,
    cart_abandonment_rate,
    ces,
    churn_from_counts,
    churn_rate,
    conversion_rate,
    csat,
    first_response_time,
    handle_time,
    hold_time,
    journey_table,
    median_interval,
    nps,
    nps_interval,
    period_bounds,
    period_labels,
    recode_nps,
    repeat_purchase_rate,
    resolution_time,
    resolved_within,
    retention_from_counts,
    retention_rate,
    score_distribution,
    sla_share,
    subscription_status,
    wilson_interval,
)

Z95 = stats.norm.ppf(0.975)


# ---------------------------------------------------------------- NPS
def _rocks_adjusted_wald(p: int, d: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Rocks (2016) adjusted Wald written out: add 3/4 promoter, 3/4 detractor, 3/2 passive."""
    n2 = n + 3
    pp, dd = (p + 0.75) / n2, (d + 0.75) / n2
    centre = pp - dd
    half = z * math.sqrt((pp + dd - centre**2) / n2)
    return 100 * (centre - half), 100 * (centre + half)


def test_nps_adjusted_wald_matches_rocks_formula() -> None:
    # 50 promoters, 30 passives, 20 detractors: NPS 30; interval per Rocks (2016), T = 3.
    scores = [10] * 25 + [9] * 25 + [8] * 15 + [7] * 15 + [6] * 10 + [0] * 10
    r = nps(scores)
    lo, hi = _rocks_adjusted_wald(50, 20, 100)
    assert r.estimate == pytest.approx(30.0)
    assert (r.ci_lower, r.ci_upper) == pytest.approx((lo, hi), abs=1e-10)
    assert (r.ci_lower, r.ci_upper) == pytest.approx((14.0511, 44.2013), abs=1e-4)  # hand-checked values
    assert r.n == 100 and r.ci_level == pytest.approx(0.95)
    assert "Rocks 2016" in r.method


def test_nps_wald_option_is_the_textbook_wald() -> None:
    r = nps([10] * 50 + [8] * 30 + [3] * 20, method="wald")
    se = math.sqrt((0.5 + 0.2 - 0.3**2) / 100)  # var of +1/0/-1 score: p + d - (p - d)^2
    assert r.se == pytest.approx(100 * se)
    assert (r.ci_lower, r.ci_upper) == pytest.approx((100 * (0.3 - Z95 * se), 100 * (0.3 + Z95 * se)))


def test_nps_all_promoters_adjusted_interval_has_width_wald_has_none() -> None:
    wald = nps([10] * 20, method="wald")
    adj = nps([10] * 20)
    assert wald.ci_lower == wald.ci_upper == 100.0
    assert adj.ci_upper == 100.0 and adj.ci_lower < 90.0


def test_nps_ignores_missing_and_rejects_bad_scores() -> None:
    df = pd.DataFrame({"nps": [10, np.nan, 0, 7]})
    assert nps(df).n == 3
    with pytest.raises(DataContractError, match="0, 10"):
        nps(pd.DataFrame({"nps": [10, 11]}))
    with pytest.raises(ParameterError, match="adjusted_wald"):
        nps([10], method="exact")
    with pytest.raises(ParameterError, match="alpha"):
        nps([10, 9], alpha=1.5)


def test_nps_grouped_returns_one_row_per_group_with_the_schema() -> None:
    df = pd.DataFrame({"tier": ["gold"] * 4 + ["bronze"] * 3, "region": ["N", "N", "S", "S", "N", "N", "N"],
                       "nps": [10, 10, 9, 0, 3, 8, 10]})
    out = by_segment(nps, df, segment="tier")
    assert list(out.columns) == list(METRIC_COLUMNS)
    assert out.index.tolist() == ["bronze", "gold"] and out.index.name == "tier"
    assert out.loc["gold", "estimate"] == pytest.approx(50.0)
    assert out.loc["bronze", "n"] == 3
    two = by_segment(nps, df, segment=["tier", "region"])
    assert two.shape == (3, len(METRIC_COLUMNS)) and two.index.names == ["tier", "region"]
    assert two["segment"].tolist() == ["bronze, N", "gold, N", "gold, S"]
    with pytest.raises(DataContractError, match="loyalty_tier"):
        by_segment(nps, df, segment="loyalty_tier")


def test_metric_results_stack_into_one_table() -> None:
    parts = [nps([10, 9, 3]).to_frame(), csat([5, 4, 1]).to_frame(), ces([1, 2, 3]).to_frame()]
    table = pd.concat(parts, ignore_index=True)
    assert list(table.columns) == list(METRIC_COLUMNS) and table.shape == (3, 9)
    assert table["metric"].tolist() == ["nps", "csat", "ces"]
    assert "n = 3" in str(nps([10, 9, 3]))


def test_recode_nps_mean_is_the_nps() -> None:
    x = np.array([10, 9, 8, 7, 6, 5, 0, 10])
    assert recode_nps(x).mean() == pytest.approx(nps(x).estimate)


@pytest.mark.parametrize("n, promoters, detractors", [(200, 0.45, 0.25), (60, 0.7, 0.1)])
def test_nps_adjusted_wald_coverage_by_simulation(n: int, promoters: float, detractors: float) -> None:
    # 4,000 surveys of n respondents from a known trinomial; the 95% interval should cover the true NPS 93-97%.
    rng = np.random.default_rng(20261123)
    counts = rng.multinomial(n, [promoters, 1 - promoters - detractors, detractors], size=4000)
    _, lo, hi = nps_interval(counts[:, 0], counts[:, 2], n)
    truth = promoters - detractors
    coverage = np.mean((lo <= truth) & (truth <= hi))
    assert 0.93 <= coverage <= 0.97, coverage


# ---------------------------------------------------------------- CSAT and CES
@pytest.mark.parametrize("x, n", [(40, 50), (0, 12), (260, 750), (999, 1000)])
def test_wilson_matches_statsmodels(x: int, n: int) -> None:
    lo, hi = wilson_interval(x, n)
    ref = proportion_confint(x, n, alpha=0.05, method="wilson")  # statsmodels 0.15
    assert (float(lo), float(hi)) == pytest.approx(ref, abs=1e-12)


def test_csat_is_top2box_share_with_wilson() -> None:
    r = csat(pd.DataFrame({"csat": [5, 5, 4, 3, 2, 1, np.nan, 4]}))
    assert r.estimate == pytest.approx(4 / 7) and r.n == 7
    assert (r.ci_lower, r.ci_upper) == pytest.approx(proportion_confint(4, 7, method="wilson"))
    assert csat([5, 4, 3], top_box=1).estimate == pytest.approx(1 / 3)
    with pytest.raises(ParameterError, match="top_box"):
        csat([5], top_box=0)
    with pytest.raises(DataContractError):
        csat([6, 5])


def test_csat_wilson_coverage_by_simulation() -> None:
    rng = np.random.default_rng(7)
    x = rng.binomial(120, 0.82, size=4000)
    lo, hi = wilson_interval(x, 120)
    assert 0.93 <= np.mean((lo <= 0.82) & (0.82 <= hi)) <= 0.97


def test_ces_mean_t_interval_matches_scipy() -> None:
    x = np.array([1, 2, 2, 3, 3, 3, 4, 4, 5, 7])
    r = ces(x)
    ref = stats.t.interval(0.95, df=9, loc=x.mean(), scale=stats.sem(x))
    assert r.estimate == pytest.approx(3.4)
    assert (r.ci_lower, r.ci_upper) == pytest.approx(ref)
    assert r.se == pytest.approx(stats.sem(x))


def test_ces_single_response_warns_and_has_no_interval() -> None:
    with pytest.warns(SmallSampleWarning, match="n = 1"):
        r = ces([3])
    assert r.estimate == 3.0 and math.isnan(r.ci_lower)


def test_score_distribution_covers_the_scale() -> None:
    df = pd.DataFrame({"ces": [1, 1, 2, 7, 7, 7], "seg": list("aaabbb")})
    out = score_distribution(df, segment="seg")
    assert list(out.columns) == list(DISTRIBUTION_COLUMNS) and out.shape == (14, 10)
    assert out.groupby("segment")["share"].sum().tolist() == pytest.approx([1.0, 1.0])
    b7 = out[(out.segment == "b") & (out.value == 7)].iloc[0]
    assert b7["count"] == 3 and b7["share"] == 1.0


# ---------------------------------------------------------------- churn and retention
def test_churn_textbook_example() -> None:
    # 750 customers at the start of the year, 600 at the end, 110 acquired: 260 lost, churn 34.7%.
    r = churn_from_counts(start=750, end=600, acquired=110)
    assert r.estimate * 750 == pytest.approx(260)
    assert round(100 * r.estimate, 1) == 34.7
    assert (r.ci_lower, r.ci_upper) == pytest.approx(proportion_confint(260, 750, method="wilson"))
    assert retention_from_counts(start=750, end=600, acquired=110).estimate == pytest.approx(490 / 750)


def test_churn_counts_are_checked() -> None:
    with pytest.raises(ParameterError, match="end >= acquired"):
        churn_from_counts(start=10, end=5, acquired=6)
    with pytest.raises(ParameterError, match="start=0"):
        churn_from_counts(start=0, end=5, acquired=5)
    with pytest.raises(ParameterError, match="non-negative"):
        churn_from_counts(start=10, end=-1, acquired=0)


def _textbook_subscriptions() -> pd.DataFrame:
    """Subscriptions reproducing the textbook counts over 2025: 750 at start, 110 acquired, 600 at end."""
    rows = []
    before, year = pd.Timestamp("2024-06-01"), pd.Timestamp("2025-01-01")
    for i in range(750):  # 490 stay, 260 leave during 2025
        rows.append((f"s{i}", before, year + pd.Timedelta(days=30 + i % 300) if i >= 490 else pd.NaT))
    for i in range(110):  # acquired in 2025; all stay
        rows.append((f"n{i}", year + pd.Timedelta(days=10 + i), pd.NaT))
    return pd.DataFrame(rows, columns=["customer_id", "start_date", "end_date"])


def test_churn_from_subscriptions_reproduces_the_textbook() -> None:
    subs = _textbook_subscriptions()
    status = subscription_status(subs, period="2025")
    assert status[["active_start", "active_end", "acquired"]].sum().tolist() == [750, 600, 110]
    text = churn_rate(subs, period="2025", definition="textbook")
    assert text.estimate == pytest.approx(260 / 750) and text.n == 750
    cohort = churn_rate(subs, period="2025")
    assert cohort.estimate == pytest.approx(260 / 750)
    assert cohort.estimate + retention_rate(subs, period="2025").estimate == pytest.approx(1.0)


def test_churn_cohort_and_textbook_differ_when_new_customers_leave() -> None:
    subs = pd.DataFrame({"customer_id": ["a", "b", "c", "d"],
                         "start_date": pd.to_datetime(["2024-01-01"] * 2 + ["2025-02-01", "2025-03-01"]),
                         "end_date": pd.to_datetime([None, "2025-05-01", "2025-06-01", None]),
                         "tier": ["gold", "gold", "gold", "bronze"]})
    assert churn_rate(subs, period="2025").estimate == pytest.approx(0.5)  # b of {a, b}
    assert churn_rate(subs, period="2025", definition="textbook").estimate == pytest.approx(1.0)  # (2+2-2)/2
    with pytest.warns(SmallSampleWarning, match="bronze"):  # d was acquired in 2025: nobody at the start
        by = by_segment(churn_rate, subs, period="2025", segment="tier")
    assert by.loc["gold", "n"] == 2 and math.isnan(by.loc["bronze", "estimate"])


def test_a_customer_with_two_subscriptions_counts_once() -> None:
    subs = pd.DataFrame({"customer_id": ["a", "a"], "start_date": pd.to_datetime(["2024-01-01", "2025-04-01"]),
                         "end_date": pd.to_datetime(["2025-03-31", None])})
    st = subscription_status(subs, period="2025")
    assert len(st) == 1 and bool(st.active_start.iloc[0]) and bool(st.active_end.iloc[0])
    assert churn_rate(subs, period="2025").estimate == 0.0


def test_repeat_purchase_and_acquisition_rates() -> None:
    tx = pd.DataFrame({"customer_id": list("aabcc") + ["d"],
                       "timestamp": pd.to_datetime(["2025-10-01", "2025-12-01", "2025-11-01", "2025-10-05",
                                                    "2025-10-06", "2025-01-01"])})
    r = repeat_purchase_rate(tx, period="2025Q4")
    assert r.estimate == pytest.approx(2 / 3) and r.n == 3
    cust = pd.DataFrame({"signup_date": pd.to_datetime(["2024-01-01"] * 40 + ["2025-03-01"] * 10)})
    a = acquisition_rate(cust, period="2025")
    ref = confint_poisson(10, 40, method="exact-c")  # statsmodels: Garwood exact interval for a rate
    assert a.estimate == pytest.approx(0.25)
    assert (a.ci_lower, a.ci_upper) == pytest.approx(ref, rel=1e-9)


# ---------------------------------------------------------------- support
def _tickets() -> pd.DataFrame:
    t0 = pd.Timestamp("2025-10-01 09:00")
    return pd.DataFrame({
        "ticket_id": list("abcde"), "channel": ["chat", "chat", "phone", "phone", "email"],
        "opened_at": [t0] * 5,
        "first_response_at": [t0 + pd.Timedelta(minutes=m) for m in (2, 10, 11, 30)] + [pd.NaT],
        "resolved_at": [t0 + pd.Timedelta(hours=h) for h in (1, 3, 8)] + [pd.NaT, pd.NaT],
        "hold_minutes": [0.0, 1.0, 5.0, np.nan, np.nan],
    })


def test_resolution_time_is_total_time_over_solved_tickets() -> None:
    r = resolution_time(_tickets())
    assert r.estimate == pytest.approx((1 + 3 + 8) / 3) and r.n == 3
    x = np.array([1.0, 3.0, 8.0])
    assert (r.ci_lower, r.ci_upper) == pytest.approx(stats.t.interval(0.95, 2, loc=x.mean(), scale=stats.sem(x)))
    assert resolution_time(_tickets(), unit="minutes").estimate == pytest.approx(240.0)
    with pytest.warns(SmallSampleWarning) as record:  # email: 0 solved, phone: 1 solved
        by = by_segment(resolution_time, _tickets(), segment="channel")
    assert sorted(str(w.message).split("]")[0] for w in record) == ["resolution_time [email", "resolution_time [phone"]
    assert by.loc["chat", "estimate"] == pytest.approx(2.0) and by.loc["email", "n"] == 0


def test_first_response_time_and_sla() -> None:
    t = _tickets()
    assert first_response_time(t).estimate == pytest.approx((2 + 10 + 11 + 30) / 4)
    sla = sla_share(t)  # 10-minute default: a (2) and b (10) of 5; the unanswered ticket misses
    assert sla.estimate == pytest.approx(2 / 5) and sla.n == 5
    assert sla_share(t, minutes=15).estimate == pytest.approx(3 / 5)
    with pytest.raises(ParameterError, match="minutes"):
        sla_share(t, minutes=0)


def test_median_resolution_interval_by_order_statistics() -> None:
    x = np.arange(1.0, 21.0)
    # n = 20: k = 6 since P(B <= 5) = 0.0207 <= 0.025 < P(B <= 6) = 0.0577 (Binomial(20, 1/2)), so [x_(6), x_(15)].
    assert median_interval(x) == (6.0, 15.0)
    assert stats.binom.cdf(5, 20, 0.5) <= 0.025 < stats.binom.cdf(6, 20, 0.5)
    assert median_interval(np.arange(5.0)) == (math.nan, math.nan) or all(math.isnan(v) for v in median_interval(
        np.arange(5.0)))
    r = resolution_time(_tickets(), statistic="median")
    assert r.estimate == 3.0 and "order-statistic" in r.method


def test_median_interval_coverage_by_simulation() -> None:
    rng = np.random.default_rng(11)
    sims = rng.exponential(1.0, size=(2000, 60))
    true_median = math.log(2)
    hits = [lo <= true_median <= hi for lo, hi in map(median_interval, sims)]
    assert 0.93 <= np.mean(hits) <= 0.99  # exact-binomial intervals are conservative by construction


def test_resolved_within_leaves_out_tickets_too_recent_to_know() -> None:
    t = _tickets()  # opened 09:00; resolved after 1 h, 3 h, 8 h, never, never
    r = resolved_within(t, hours=4, observed_until="2025-10-02")
    assert r.estimate == pytest.approx(2 / 5) and r.n == 5
    assert (r.ci_lower, r.ci_upper) == pytest.approx(proportion_confint(2, 5, method="wilson"))
    with pytest.warns(SmallSampleWarning):  # observed until 17:00 the same day: nobody is 24 h old yet
        young = resolved_within(t, hours=24)
    assert young.n == 0


def test_resolved_within_is_unbiased_where_the_mean_time_is_censored() -> None:
    # Tickets opened uniformly over 60 days with Exp(mean 20 h) resolution, observed until day 60: the mean over
    # solved tickets of the last 5 days is biased down; the 24-h share of tickets old enough is not.
    rng = np.random.default_rng(4)
    opened = pd.Timestamp("2025-10-01") + pd.to_timedelta(rng.uniform(0, 60 * 24, 6000), unit="h")
    took = pd.to_timedelta(rng.exponential(20, 6000), unit="h")
    end = pd.Timestamp("2025-10-01") + pd.Timedelta(days=60)
    resolved = pd.Series(opened + took).where(opened + took <= end)
    t = pd.DataFrame({"opened_at": opened, "resolved_at": resolved})
    late = t[t.opened_at >= end - pd.Timedelta(days=5)]
    assert resolution_time(late).ci_upper < 20.0  # truth 20 h: the censored mean is biased down
    r = resolved_within(late, hours=24, observed_until=end)
    assert r.ci_lower <= 1 - math.exp(-24 / 20) <= r.ci_upper


def test_backlog_hold_and_handle() -> None:
    t = _tickets()
    assert backlog(t, at="2025-10-01 12:00").estimate == 3.0  # c (8h), d, e still open at noon
    assert backlog(t, at="2025-10-02").estimate == 2.0
    assert hold_time(t).estimate == pytest.approx(2.0) and hold_time(t).n == 3
    with pytest.raises(DataContractError, match="handle_minutes"):
        handle_time(t)


# ---------------------------------------------------------------- journeys
def _events() -> pd.DataFrame:
    t = pd.Timestamp("2025-10-01 10:00")
    rows = [("a", 0, "homepage"), ("a", 5, "cart"), ("a", 9, "purchase"),  # converts
            ("a", 600, "product_page"),  # new journey after 10 h: bounce
            ("b", 0, "search"), ("b", 3, "cart"),  # abandons the cart
            ("c", 0, "purchase"), ("c", 1, "cart")]  # purchase before the cart: abandoned cart
    return pd.DataFrame({"customer_id": [r[0] for r in rows],
                         "timestamp": [t + pd.Timedelta(minutes=r[1]) for r in rows],
                         "touchpoint": [r[2] for r in rows]})


def test_journey_rates_by_hand() -> None:
    # journeys (cxlib.journey.sessions): a:1 homepage > cart > purchase (converted), a:2 product_page (its last
    # event is the last of the data: still open, censored), b:1 search > cart (abandoned), c:1 purchase
    # (converted; a purchase ends its journey), c:2 cart (abandoned)
    ev = _events()
    assert journey_table(ev)["outcome"].value_counts().to_dict() == {"conversion": 2, "abandonment": 2,
                                                                     "censored": 1}
    conv = conversion_rate(ev)
    assert conv.estimate == pytest.approx(2 / 4) and conv.n == 4  # the open journey a:2 is left out
    assert bounce_rate(ev).estimate == pytest.approx(3 / 5)  # a:2, c:1, c:2 over all five journeys
    cart = cart_abandonment_rate(ev)
    assert cart.estimate == pytest.approx(2 / 3) and cart.n == 3  # a:1 bought after the cart; b:1, c:2 did not
    # with a one-day gap every journey not converted ends within a day of the data's end: all open
    assert conversion_rate(ev, gap="1D").n == 2
    # given an end of observation a day later, a:2 is abandoned, not open
    assert conversion_rate(ev, observation_end="2025-10-02 20:00").n == 5


def test_explicit_journey_ids_are_used() -> None:
    # one explicit id for every event: one key, split only at the purchases (10:00 c, then 10:09 a)
    ev = _events().assign(journey_id=["j1"] * 8)
    assert journey_table(ev)["journey"].tolist() == ["j1", "j1#2", "j1#3"]
    assert conversion_rate(ev).n == 2  # j1#3 (a's product page at 20:00) still open
    # an id missing on one event: the gap rebuilds every journey
    partial = ev.assign(journey_id=["j1"] * 7 + [None])
    assert journey_table(partial)["journey"].tolist() == journey_table(_events())["journey"].tolist()
    with pytest.raises(ParameterError, match="gap"):
        conversion_rate(_events(), gap="soon")


# ---------------------------------------------------------------- periods
def test_period_helpers() -> None:
    assert period_bounds("2025Q4") == (pd.Timestamp("2025-10-01"), pd.Timestamp("2026-01-01"))
    assert period_bounds(("2025-01-01", "2025-02-01"))[1] == pd.Timestamp("2025-02-01")
    with pytest.raises(ParameterError, match="period"):
        period_bounds("last quarter")
    assert period_labels(pd.Series(pd.to_datetime(["2025-12-31 23:59"]))).tolist() == ["2025Q4"]


def test_metric_result_is_frozen() -> None:
    r = MetricResult(metric="x", estimate=1.0, method="m")
    with pytest.raises(AttributeError):
        r.estimate = 2.0  # type: ignore[misc]


# ---------------------------------------------------------------- the synthetic world (cxlib.synth)
@pytest.mark.parametrize("contrast", ["loyalty_tier", "touchpoint", "quarter", "region"])
def test_planted_survey_scores_lie_in_the_intervals(tmp_path, contrast: str) -> None:
    # truth.json holds each group's exact expected NPS / CSAT top-2 share / CES mean; the 99.9% intervals of
    # every group (about 3 x 6 groups x 3 metrics per world) should all contain them.
    synth = pytest.importorskip("cxlib.synth", reason="cxlib.synth (the synthetic world) is not installed")
    truth = synth.generate(tmp_path, n_customers=10_000, seed=20261123)["surveys"]["contrasts"][contrast]
    survey = pd.read_parquet(tmp_path / "survey_responses.parquet").merge(
        pd.read_parquet(tmp_path / "customers.parquet", columns=["customer_id", "loyalty_tier", "region"]),
        on="customer_id")
    survey["quarter"] = period_labels(survey["responded_at"])
    for fn, key in ((nps, "nps"), (csat, "csat_top2"), (ces, "ces_mean")):
        out = by_segment(fn, survey, segment=contrast, alpha=0.001)
        for group, row in out.iterrows():
            planted = truth[str(group)][key]
            assert row["ci_lower"] <= planted <= row["ci_upper"], (fn.__name__, group, planted, row["estimate"])
        assert out["n"].sum() == sum(v["n_" + key.split("_")[0]] for v in truth.values())


def test_empty_input_gives_nan_with_a_warning() -> None:
    with pytest.warns(SmallSampleWarning, match="n = 0"):
        r = nps(pd.DataFrame({"nps": [np.nan, np.nan]}))
    assert r.n == 0 and all(math.isnan(v) for v in (r.estimate, r.ci_lower, r.ci_upper, r.se))


# ---------------------------------------------------------------- one vocabulary for segments (issue 16)
SPLIT_METRICS = ("nps", "csat", "ces", "mean_score", "churn_rate", "retention_rate", "repeat_purchase_rate",
                 "acquisition_rate", "resolution_time", "first_response_time", "sla_share", "resolved_within",
                 "backlog", "hold_time", "handle_time", "conversion_rate", "bounce_rate", "cart_abandonment_rate")


@pytest.mark.parametrize("name", SPLIT_METRICS)
def test_every_metric_returns_its_result_and_splits_through_by_segment(name):
    import inspect

    import cxlib.metrics as m

    fn = getattr(m, name)
    params = inspect.signature(fn).parameters
    assert "segment" not in params and "by" not in params and fn.splits_by_segment == "cxlib.metrics"


@pytest.mark.parametrize("old", ["by", "segment"])
def test_the_old_split_of_a_metric_still_returns_the_frame_and_warns(old):
    df = pd.DataFrame({"tier": ["gold"] * 4 + ["bronze"] * 3, "nps": [10, 10, 9, 0, 3, 8, 10]})
    new = by_segment(nps, df, segment="tier", alpha=0.1)
    with pytest.warns(DeprecationWarning, match=rf"nps\({old}=\.\.\.\) is deprecated .*; use "
                                                r"cxlib\.metrics\.by_segment\(nps, data, segment=\.\.\.\) instead"):
        res = nps(df, **{old: "tier"}, alpha=0.1)
    pd.testing.assert_frame_equal(res, new)
    # the split equals the metric of each segment's own rows
    assert new.loc["gold", "estimate"] == nps(df[df.tier == "gold"], alpha=0.1).estimate == 50.0
    assert isinstance(nps(df), MetricResult) and nps(df, segment=None).segment == "all"


def test_metric_results_name_the_segment_and_keep_group_as_a_deprecated_alias():
    assert METRIC_COLUMNS[:2] == DISTRIBUTION_COLUMNS[:2] == ("metric", "segment")
    r = nps([10, 9, 3])
    assert r.segment == "all" and r.to_frame().columns.tolist() == list(METRIC_COLUMNS) and "[all]" in str(r)
    with pytest.warns(DeprecationWarning, match=r"MetricResult\.group .*MetricResult\.segment"):
        assert r.group == "all"
    with pytest.warns(DeprecationWarning, match=r"MetricResult\(group=\.\.\.\)"):
        assert MetricResult(metric="m", group="gold", estimate=1.0, method="x").segment == "gold"
