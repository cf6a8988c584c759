"""Segments in cxlib/significance: every ``by=`` result equals the function on the segment's own rows."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxlib.errors import DataContractError, ParameterError
from cxlib.metrics import period_labels, resolved_within
from cxlib.significance import (
    COMPARISON_COLUMNS,
    POWER_COLUMNS,
    SCORECARD_COLUMNS,
    SEQUENCE_COLUMNS,
    TREND_COLUMNS,
    by_segment,
    confidence_sequence,
    metric_trends,
    respondent_sd,
    scorecard,
    survey_power,
    trend_test,
)

TIERS = ("bronze", "gold", "silver")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from cxlib.data import load
    from cxlib.synth import generate
    folder = tmp_path_factory.mktemp("sig_by") / "w"
    generate(folder, n_customers=2000, seed=1)
    return dict(load(folder, tables=["customers", "events", "subscriptions", "survey_responses", "tickets"]).tables)


def _only(tables, tier):
    """Each table restricted to the customers of one loyalty tier, by hand."""
    ids = set(tables["customers"].loc[tables["customers"]["loyalty_tier"] == tier, "customer_id"])
    return {k: (v[v["customer_id"].isin(ids)] if "customer_id" in v.columns and k != "customers" else v)
            for k, v in tables.items()}


def _observed_until(tickets):
    return max(pd.to_datetime(tickets[c]).max() for c in ("opened_at", "first_response_at", "resolved_at"))


def test_scorecard_without_by_keeps_its_shape(world):
    card = scorecard(world, period="2025Q4", comparison_period="2025Q3")
    assert card.columns.tolist() == list(SCORECARD_COLUMNS) and len(card) == 7


def test_scorecard_by_segment_equals_the_scorecard_of_each_segment(world):
    card = scorecard(world, period="2025Q4", comparison_period="2025Q3", segment="loyalty_tier")
    assert card.columns.tolist() == ["loyalty_tier", *SCORECARD_COLUMNS]
    assert card["loyalty_tier"].unique().tolist() == list(TIERS) and len(card) == 3 * 7
    until = _observed_until(world["tickets"])
    for tier in TIERS:
        mine = card[card.loyalty_tier == tier].drop(columns="loyalty_tier").set_index("key")
        own = scorecard(_only(world, tier), period="2025Q4", comparison_period="2025Q3").set_index("key")
        other = [k for k in own.index if k != "resolved_within"]
        pd.testing.assert_frame_equal(mine.loc[other], own.loc[other])
        # resolved within 24 h keeps the whole dataset's observation end (censoring), not the segment's last ticket
        tickets = _only(world, tier)["tickets"]
        q4 = tickets[(tickets.opened_at >= "2025-10-01") & (tickets.opened_at < "2026-01-01")]
        r = resolved_within(q4, hours=24.0, observed_until=until)
        assert mine.loc["resolved_within", "estimate"] == pytest.approx(r.estimate)
        assert mine.loc["resolved_within", "n"] == r.n


def test_scorecard_by_names_the_table_that_cannot_get_the_segment(world):
    with pytest.raises(DataContractError, match="rfm_segment") as err:
        scorecard(world, period="2025Q4", comparison_period="2025Q3", segment="rfm_segment")
    assert err.value.table in {"events", "subscriptions", "survey_responses", "tickets"}


def test_metric_trends_by_segment_equal_each_segment(world):
    periods = ["2025Q2", "2025Q3", "2025Q4"]
    out = metric_trends(world, periods=periods, segment="loyalty_tier")
    assert out.columns.tolist() == ["loyalty_tier", *TREND_COLUMNS]
    own = metric_trends(_only(world, "gold"), periods=periods)
    mine = out[out.loyalty_tier == "gold"].drop(columns="loyalty_tier")
    keep = mine["key"] != "resolved_within"
    pd.testing.assert_frame_equal(mine[keep].reset_index(drop=True),
                                  own[own["key"] != "resolved_within"].reset_index(drop=True))


def test_survey_power_by_segment_equals_each_segment(world):
    out = survey_power(world, period="2025Q4", comparison_period="2025Q3", segment="loyalty_tier")
    assert out.columns.tolist() == ["loyalty_tier", *POWER_COLUMNS] and len(out) == 9
    for tier in TIERS:
        own = survey_power(_only(world, tier), period="2025Q4", comparison_period="2025Q3")
        pd.testing.assert_frame_equal(out[out.loyalty_tier == tier].drop(columns="loyalty_tier")
                                      .reset_index(drop=True), own)
    # the smallest tier has the largest minimum detectable NPS change
    nps = out[out.metric == "nps"].set_index("loyalty_tier")["difference"]
    assert nps.idxmax() == "gold" and nps["gold"] > 1.5 * nps["bronze"]


@pytest.fixture(scope="module")
def survey(world):
    s = world["survey_responses"].merge(world["customers"][["customer_id", "loyalty_tier"]], on="customer_id")
    return s.assign(quarter=period_labels(s["responded_at"]))


def test_trend_test_by_segment_equals_each_segment(survey):
    out = by_segment(trend_test, survey, segment="loyalty_tier", metric="nps", period_col="quarter",
                     cluster="customer_id")
    assert out.columns.tolist() == list(COMPARISON_COLUMNS) and out.index.name == "loyalty_tier"
    assert out.index.tolist() == list(TIERS)
    for tier in TIERS:
        own = trend_test(survey[survey.loyalty_tier == tier], metric="nps", period_col="quarter",
                         cluster="customer_id")
        row = out.loc[tier]
        assert row["difference"] == own.difference and row["p_value"] == own.p_value
        assert (row["ci_lower"], row["ci_upper"], row["n_a"], row["n_b"]) == (own.ci_lower, own.ci_upper, own.n_a,
                                                                              own.n_b)


def test_trend_test_by_names_the_segment_with_too_few_periods(survey):
    few = survey[(survey.loyalty_tier != "gold") | (survey.quarter >= "2025Q3")]
    with pytest.raises(ParameterError, match="Segment 'gold'"):
        by_segment(trend_test, few, metric="csat", period_col="quarter", segment="loyalty_tier")


def test_confidence_sequence_by_segment_equals_each_segment(survey):
    q4 = survey[survey.quarter == "2025Q4"]
    out = confidence_sequence(q4, metric="csat", time_col="responded_at", segment="loyalty_tier")
    assert out.columns.tolist() == ["loyalty_tier", *SEQUENCE_COLUMNS]
    for tier in TIERS:
        own = confidence_sequence(q4[q4.loyalty_tier == tier], metric="csat", time_col="responded_at")
        pd.testing.assert_frame_equal(out[out.loyalty_tier == tier].drop(columns="loyalty_tier")
                                      .reset_index(drop=True), own)


def test_respondent_sd_by_segment_equals_each_segment(survey):
    out = by_segment(respondent_sd, survey, metric="nps", segment="loyalty_tier")
    assert out.name == "sd" and out.index.tolist() == list(TIERS)
    for tier in TIERS:
        scores = survey.loc[survey.loyalty_tier == tier, "nps"].dropna()
        recoded = np.where(scores >= 9, 100.0, np.where(scores <= 6, -100.0, 0.0))
        assert out[tier] == pytest.approx(np.std(recoded, ddof=1))
    two = by_segment(respondent_sd, survey, metric="ces", segment=["loyalty_tier", "touchpoint"])
    assert two.index.names == ["loyalty_tier", "touchpoint"]


@pytest.mark.parametrize("fn, kw", [(trend_test, {"metric": "nps", "period_col": "quarter"}),
                                    (respondent_sd, {"metric": "nps"})], ids=["trend_test", "respondent_sd"])
def test_the_old_by_keyword_still_splits_and_warns_that_the_split_moved_to_by_segment(survey, fn, kw):
    import inspect

    assert "by" not in inspect.signature(fn).parameters and "segment" not in inspect.signature(fn).parameters
    new = by_segment(fn, survey, segment="loyalty_tier", **kw)
    name = fn.__name__
    with pytest.warns(DeprecationWarning, match=rf"{name}\(by=\.\.\.\) is deprecated.*"
                                                rf"cxlib\.significance\.by_segment\({name}, data, segment=\.\.\.\)"):
        old = fn(survey, by="loyalty_tier", **kw)
    (pd.testing.assert_frame_equal if isinstance(new, pd.DataFrame) else pd.testing.assert_series_equal)(old, new)


def test_scorecard_old_by_keyword_warns_and_gives_the_same_table(world):
    new = scorecard(world, period="2025Q4", comparison_period="2025Q3", segment="loyalty_tier")
    with pytest.warns(DeprecationWarning, match=r"scorecard\(by=\.\.\.\) .*scorecard\(segment=\.\.\.\)"):
        old = scorecard(world, period="2025Q4", comparison_period="2025Q3", by="loyalty_tier")
    pd.testing.assert_frame_equal(old, new)
