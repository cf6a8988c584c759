"""Tests of cxlib.voc.themes: taxonomy tagging, shares and trends with intervals, changes, NMF topics."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint, proportions_ztest

from cxlib.errors import DataContractError, ParameterError
from cxlib.voc._demo import DEMO_THEME_SHARES, demo_responses
from cxlib.voc.themes import (CHANGE_COLUMNS, DEFAULT_TAXONOMY, THEME_COLUMNS, TOPIC_COLUMNS, Taxonomy,
                              discover_topics, match_topics, tag_themes, theme_change, theme_shares, theme_trend)


@pytest.fixture(scope="module")
def demo():
    r, c, truth = demo_responses(1200, rng=np.random.default_rng(7))
    return r, c, truth


def test_default_taxonomy_has_the_eight_cx_themes():
    assert DEFAULT_TAXONOMY.names == ["sizing", "waiting_time", "staff", "price", "delivery", "returns", "app",
                                      "stock"]


@pytest.mark.parametrize("text, themes", [
    ("The sizes run small", {"sizing"}),
    ("Waited 20 minutes in the queue", {"waiting_time"}),
    ("Delivered late; the courier was rude", {"delivery", "staff"}),
    ("Overpriced and my refund never came", {"price", "returns"}),
    ("The APP crashed at checkout", {"app"}),
    ("My size was out of stock again", {"stock"}),  # exclusion: availability, not sizing
    ("Still waiting for my refund", {"returns"}),  # exclusion: a refund, not a queue
    ("Lovely shop", set()),
    ("appetite for apples", set()),  # whole words only
])
def test_tagging_examples(text, themes):
    row = tag_themes(pd.Series([text])).iloc[0]
    assert set(row[row].index) == themes


def test_taxonomy_is_configurable_and_validated():
    t = DEFAULT_TAXONOMY.extend({"sustainability": ["recycl*", "eco friendly", "sustainab*"], "price": "pricy"})
    tags = t.tag(["Love the recycled packaging", "Bit pricy", "eco   friendly bags"])
    assert tags["sustainability"].tolist() == [True, False, True]
    assert tags["price"].tolist() == [False, True, False]
    assert "pricy" in t.themes["price"] and "pricy" not in DEFAULT_TAXONOMY.themes["price"]
    with pytest.raises(ParameterError, match="at least one theme"):
        Taxonomy({})
    with pytest.raises(ParameterError, match="'x'"):
        Taxonomy({"x": ["-only exclusions"]})


def test_tagging_recovers_planted_themes_of_demo(demo):
    r, _, truth = demo
    tags = tag_themes(r)
    for theme in truth["theme_shares"]:
        planted = (r["true_theme"] == theme).to_numpy()
        assert (tags[theme].to_numpy() == planted).all(), theme


def test_theme_shares_match_wilson_and_t(demo):
    r, _, _ = demo
    out = theme_shares(r, tags=tag_themes(r))
    assert out.columns.tolist() == list(THEME_COLUMNS)
    assert out["theme"].tolist() == DEFAULT_TAXONOMY.names and (out["n"] == 1200).all()
    row = out.set_index("theme").loc["price"]
    lo, hi = proportion_confint(row.mentions, row.n, method="wilson")
    assert (row.ci_lower, row.ci_upper) == (pytest.approx(lo), pytest.approx(hi))
    scores = r.loc[r["true_theme"] == "price", "nps"]
    assert row.mean_score == pytest.approx(scores.mean()) and row.n_scored == len(scores)
    # every planted share lies inside its 95% interval for this seed
    truth = pd.Series(DEMO_THEME_SHARES)
    inside = (out.set_index("theme")["ci_lower"] <= truth) & (truth <= out.set_index("theme")["ci_upper"])
    assert inside.sum() >= 7


def test_theme_shares_by_group_and_blank_comments():
    d = pd.DataFrame({"comment": ["late parcel", None, "rude staff", "  ", "parcel ok"],
                      "tier": ["gold", "gold", "gold", "bronze", "bronze"], "nps": [3, 9, 2, 8, None]})
    out = theme_shares(d, tags=tag_themes(d), segment="tier").set_index(["segment", "theme"])
    assert out.loc[("gold", "delivery"), ["n", "mentions", "share"]].tolist() == [2, 1, 0.5]
    assert out.loc[("bronze", "delivery"), ["n", "mentions", "n_scored"]].tolist() == [1, 1, 0]
    assert np.isnan(out.loc[("bronze", "delivery"), "mean_score"])
    with pytest.raises(DataContractError, match="region"):
        theme_shares(d, tags=tag_themes(d), segment="region")
    with pytest.raises(ParameterError, match="same index"):
        theme_shares(d, tags=tag_themes(d).iloc[:2])


def test_trend_and_change_agree_with_statsmodels(demo):
    r, _, _ = demo
    tags = tag_themes(r)
    trend = theme_trend(r, tags=tags)
    assert sorted(trend["segment"].unique()) == ["2025Q1", "2025Q2", "2025Q3", "2025Q4"]
    change = theme_change(r, tags=tags, period="2025Q4", comparison_period="2025Q3")
    assert change.columns.tolist() == list(CHANGE_COLUMNS)
    row = change.set_index("theme").loc["sizing"]
    t = trend.set_index(["segment", "theme"])
    a, b = t.loc[("2025Q4", "sizing")], t.loc[("2025Q3", "sizing")]
    lo, hi = confint_proportions_2indep(a.mentions, a.n, b.mentions, b.n, method="newcomb", compare="diff")
    _, p = proportions_ztest([a.mentions, b.mentions], [a.n, b.n])
    assert row.difference == pytest.approx(a.share - b.share)
    assert (row.ci_lower, row.ci_upper, row.p_value) == (pytest.approx(lo), pytest.approx(hi), pytest.approx(p))
    with pytest.raises(ParameterError, match="2024Q1"):
        theme_change(r, tags=tags, period="2024Q1", comparison_period="2025Q3")


def test_topics_are_deterministic_and_match_known_themes():
    texts = pd.Series(["late parcel delivery courier", "parcel delivery slow courier", "delivery parcel lost",
                       "rude staff member", "staff rude assistant", "helpful staff assistant",
                       "app crashes login", "app login fails", "app crashes again"] * 4)
    a = discover_topics(texts, n_topics=3, rng=np.random.default_rng(3), min_df=2)
    b = discover_topics(texts, n_topics=3, rng=np.random.default_rng(3), min_df=2)
    assert a.terms.equals(b.terms) and a.assignments.equals(b.assignments) and a.random_state == b.random_state
    frame = a.to_frame()
    assert frame.columns.tolist() == list(TOPIC_COLUMNS)
    assert frame["documents"].sum() == 36 and frame["share"].sum() == pytest.approx(1)
    matched = match_topics(a, tag_themes(texts)).sort_values("theme")
    assert matched["theme"].tolist() == ["app", "delivery", "staff"]
    assert (matched["jaccard"] == 1.0).all()


def test_topics_ignore_redaction_placeholders_and_numbers():
    texts = pd.Series(["refund late [NAME] [NAME] 0207946", "refund missing [EMAIL] 0207946",
                       "queue long [PHONE]", "queue slow [NAME]"] * 5)
    tm = discover_topics(texts, n_topics=2, rng=np.random.default_rng(0), min_df=2)
    assert not set(tm.terms["term"]) & {"name", "email", "phone", "0207946"}


def test_topics_check_their_parameters():
    with pytest.raises(ParameterError, match="n_topics=5"):
        discover_topics(pd.Series(["a b", "c d"]), n_topics=5, rng=np.random.default_rng(0))
    with pytest.raises(ParameterError, match="vocabulary"):
        discover_topics(pd.Series(["the and", "of to", "a an"]), n_topics=1, rng=np.random.default_rng(0))


def _segmented(demo):
    r, _, _ = demo
    d = r.assign(tier=np.where(np.arange(len(r)) % 3 == 0, "gold", "silver"))
    return d, tag_themes(d)


def test_theme_trend_by_segment_equals_the_trend_of_each_segment(demo):
    d, tags = _segmented(demo)
    out = theme_trend(d, tags=tags, segment="tier")
    assert out.columns.tolist() == ["tier", *THEME_COLUMNS]
    for tier in ("gold", "silver"):
        sub = d[d.tier == tier]
        own = theme_trend(sub, tags=tags.loc[sub.index])
        pd.testing.assert_frame_equal(out[out.tier == tier].drop(columns="tier").reset_index(drop=True), own)


def test_theme_change_by_segment_equals_the_change_of_each_segment(demo):
    d, tags = _segmented(demo)
    periods = sorted(theme_trend(d, tags=tags, score_col=None)["segment"].unique())
    out = theme_change(d, tags=tags, period=periods[-1], comparison_period=periods[-2], segment="tier")
    assert out.columns.tolist() == ["tier", *CHANGE_COLUMNS] and len(out) == 2 * len(DEFAULT_TAXONOMY.themes)
    sub = d[d.tier == "gold"]
    own = theme_change(sub, tags=tags.loc[sub.index], period=periods[-1], comparison_period=periods[-2])
    pd.testing.assert_frame_equal(out[out.tier == "gold"].drop(columns="tier").reset_index(drop=True), own)
    with pytest.raises(DataContractError, match="rfm_segment"):
        theme_change(d, tags=tags, period=periods[-1], comparison_period=periods[-2], segment="rfm_segment")
