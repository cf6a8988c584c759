"""Integration: segments made by cxlib.segments flow by column name into every analysis (issue 11).

The only glue is the join of the segment labels to ``customers`` (and, for row-level survey and
subscription tables, of that column onto the rows by ``customer_id``).  Each by-segment result must equal
the same function run on the segment's own rows.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxlib import actions, clv, journey, metrics, segments, significance, survival
from cxlib.data import load
from cxlib.synth import generate

pytestmark = pytest.mark.slow
PERIOD, BEFORE = "2025Q4", "2025Q3"
STEPS = ["product_page", "cart", "checkout", "purchase"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("flow") / "w"
    generate(folder, n_customers=2000, seed=1)
    ds = load(folder)
    features = segments.customer_features(ds, observation_end="2025-12-31")
    rfm = segments.rfm_segments(features)["segment"].astype(str)
    cluster = segments.BehaviouralSegments(k=3).fit(features, rng=np.random.default_rng(1)).labels_.astype(str)
    labels = pd.DataFrame({"rfm_segment": rfm, "behavioural_segment": cluster})
    # the join: the only glue code
    customers = ds.customers.merge(labels, left_on="customer_id", right_index=True, how="left")
    tables = {**ds.tables, "customers": customers}
    return tables, labels


def _rows_of(tables, column, level):
    """Every table restricted, by hand, to the customers whose segment ``column`` is ``level``."""
    ids = set(tables["customers"].loc[tables["customers"][column] == level, "customer_id"])
    return {k: (v[v["customer_id"].isin(ids)] if "customer_id" in v.columns and k != "customers" else v)
            for k, v in tables.items()}


def _survey(tables):
    return tables["survey_responses"].merge(tables["customers"][["customer_id", "rfm_segment", "behavioural_segment"]],
                                            on="customer_id")


def test_nps_by_rfm_segment_is_the_nps_of_each_segment(world):
    tables, labels = world
    survey = _survey(tables)
    out = metrics.by_segment(metrics.nps, survey, segment="rfm_segment")
    assert set(out.index) <= set(labels["rfm_segment"]) and len(out) >= 5
    for level in out.index:
        own = metrics.nps(_rows_of(tables, "rfm_segment", level)["survey_responses"])
        assert out.loc[level, "estimate"] == pytest.approx(own.estimate)
        assert (out.loc[level, "ci_lower"], out.loc[level, "n"]) == (pytest.approx(own.ci_lower), own.n)


def test_scorecard_by_cluster_is_the_scorecard_of_each_cluster(world):
    tables, labels = world
    card = significance.scorecard(tables, period=PERIOD, comparison_period=BEFORE, segment="behavioural_segment")
    assert sorted(card["behavioural_segment"].unique()) == sorted(labels["behavioural_segment"].unique())
    for level in card["behavioural_segment"].unique():
        own = significance.scorecard(_rows_of(tables, "behavioural_segment", level), period=PERIOD,
                                     comparison_period=BEFORE).set_index("key")
        mine = card[card.behavioural_segment == level].set_index("key")
        for key in ("nps", "csat", "ces", "churn_rate", "sla_share", "conversion_rate"):
            assert mine.loc[key, "estimate"] == pytest.approx(own.loc[key, "estimate"], nan_ok=True), key
            assert mine.loc[key, "p_value"] == pytest.approx(own.loc[key, "p_value"], nan_ok=True), key
            assert mine.loc[key, "n"] == own.loc[key, "n"], key


def test_segment_comparisons_test_each_segment_against_the_rest(world):
    tables, _ = world
    survey = _survey(tables)
    q4 = metrics.in_period(survey, "responded_at", PERIOD)
    out = significance.segment_comparisons(q4, segment=["rfm_segment", "behavioural_segment"],
                                           metrics=("nps",))
    row = out[(out.segment_column == "rfm_segment") & (out.group_a == "champions")].iloc[0]
    own = metrics.nps(q4[q4.rfm_segment == "champions"])
    rest = metrics.nps(q4[q4.rfm_segment != "champions"])
    assert row["estimate_a"] == pytest.approx(own.estimate) and row["estimate_b"] == pytest.approx(rest.estimate)
    assert row["n_a"] == own.n and row["n_b"] == rest.n
    assert 0 <= row["p_value"] <= row["p_adjusted"] <= 1


def test_funnel_by_cluster_is_the_funnel_of_each_cluster(world):
    tables, _ = world
    seg = tables["customers"][["customer_id", "behavioural_segment"]]
    out = journey.funnel(journey.journeyize(tables["events"]), STEPS, segment="behavioural_segment",
                         segments=seg).to_frame()
    for level in sorted(seg["behavioural_segment"].unique()):
        events = _rows_of(tables, "behavioural_segment", level)["events"]
        own = journey.funnel(journey.journeyize(events), STEPS).to_frame()
        mine = out[out["segment"] == level]
        assert mine["n_reached"].tolist() == own["n_reached"].tolist()
        assert mine["overall_rate"].to_numpy() == pytest.approx(own["overall_rate"].to_numpy())


def test_kaplan_meier_by_rfm_segment_is_the_curve_of_each_segment(world):
    tables, _ = world
    table = survival.survival_table(tables["subscriptions"], observation_end="2025-12-31").merge(
        tables["customers"][["customer_id", "rfm_segment"]], on="customer_id")
    km = survival.kaplan_meier(table, segment="rfm_segment")
    curves = km.curves
    for level in ("champions", "hibernating"):
        own = survival.kaplan_meier(table[table.rfm_segment == level]).curves
        mine = curves[curves["segment"] == level]
        assert mine["survival"].to_numpy() == pytest.approx(own["survival"].to_numpy())
        assert mine["at_risk"].tolist() == own["at_risk"].tolist()


def test_bg_nbd_and_gamma_gamma_by_cluster_are_the_models_of_each_cluster(world):
    tables, labels = world
    rfm = clv.rfm_summary(tables["transactions"], observation_end="2025-12-31").merge(
        labels[["behavioural_segment"]], left_index=True, right_index=True)
    rfm = rfm[rfm["T"] > 0]  # first purchase on the last day: no history to fit
    assert len(rfm) > 0
    bg = clv.BetaGeo().fit(rfm, segment="behavioural_segment", time_unit="week")
    buyers = clv.repeat_buyers(rfm)
    gg = clv.GammaGamma().fit(buyers, segment="behavioural_segment")
    assert sorted(bg.segments_) == sorted(labels["behavioural_segment"].unique())
    for level in bg.segments_:
        own = clv.BetaGeo().fit(rfm[rfm.behavioural_segment == level], time_unit="week")
        mine = bg.params_by_segment_[bg.params_by_segment_.segment == level]
        assert mine["estimate"].to_numpy() == pytest.approx(own.params_.to_numpy(), rel=1e-6)
        own_gg = clv.GammaGamma().fit(buyers[buyers.behavioural_segment == level])
        assert gg.segments_[level].params_.to_numpy() == pytest.approx(own_gg.params_.to_numpy(), rel=1e-6)
    alive = bg.predict_by_segment("predict_alive", rfm)
    assert alive.index.equals(rfm.index) and alive.between(0, 1).all()


def test_top_paths_by_rfm_segment_are_the_paths_of_each_segment(world):
    tables, _ = world
    seg = tables["customers"][["customer_id", "rfm_segment"]]
    js = journey.journeyize(tables["events"])
    out = journey.by_segment(journey.top_paths, js, k=5, segment="rfm_segment", segments=seg)
    for level in ("champions", "hibernating"):
        events = _rows_of(tables, "rfm_segment", level)["events"]
        own = journey.top_paths(journey.journeyize(events, observation_end=js.observation_end), k=5).to_frame()
        pd.testing.assert_frame_equal(out[level].to_frame(), own)


def test_action_lists_carry_both_segments_into_the_crm_export(world, monkeypatch):
    monkeypatch.setenv("CX_PSEUDONYM_KEY", "flow-test")
    tables, labels = world
    lists = actions.build_action_lists(tables, period=PERIOD, ids="real", top=50,
                                       segments=labels.rename_axis("customer_id").reset_index())
    for name, item in lists.items():
        f = item.frame
        at = f.columns.get_loc("customer_id")
        assert f.columns[at + 1:at + 3].tolist() == ["rfm_segment", "behavioural_segment"], name
        known = f["customer_id"].isin(labels.index)
        assert (f.loc[known, "rfm_segment"] == labels["rfm_segment"].reindex(f.loc[known, "customer_id"]).to_numpy()
                ).all(), name
        assert (f.loc[~known, "rfm_segment"] == "unassigned").all(), name
    plain = actions.detractor_list(tables["survey_responses"], tables["customers"], period=PERIOD, ids="real")
    assert len(lists["detractors"].frame) == len(plain.frame) > 0
