"""Audit: every public function of the analysis modules accepts a segment column, or says why not.

The table is the introspected signatures: a function *accepts a segment* when one of its parameters is one
of :data:`SEGMENT_PARAMS`.  Functions where a segment makes no sense are in :data:`NOT_APPLICABLE` with the
reason; functions where it makes sense but is still missing are in :data:`KNOWN_GAPS` with what is needed
(issue 11).  A new public function that is in none of the three fails the test; a gap that gets closed must
leave :data:`KNOWN_GAPS` (the test fails until it does).
"""
from __future__ import annotations

import importlib
import inspect

import pytest

MODULES = ("metrics", "significance", "journey", "survival", "clv", "evaluation", "voc", "actions", "segments")
SEGMENT_PARAMS = {"by", "segment", "segment_col", "segment_columns", "segments", "group", "group_col", "groups",
                  "strata", "dimensions"}

_COUNTS = "works on counts, summary statistics or arrays; call it per segment from a by= result"
_RESULT = "result or frozen dataclass; the segment is a column of its table"
_PLOT = "display or formatting of a result that already carries its segment rows"
NOT_APPLICABLE = {
    **{f"metrics.{n}": _COUNTS for n in ("wilson_interval", "nps_interval", "t_interval_mean", "median_interval",
                                          "nps_counts", "recode_nps", "churn_from_counts", "retention_from_counts",
                                          "durations")},
    **{f"metrics.{n}": "period arithmetic, no data rows" for n in ("period_bounds", "period_labels")},
    "metrics.in_period": "row filter by time; the segment column passes through untouched",
    "metrics.MetricResult": _RESULT,
    **{f"significance.{n}": _COUNTS for n in ("compare_proportions", "compare_means", "slope_test", "cuped_theta",
                                               "cs_radius", "nps_sd", "adjust_pvalues", "cluster_mean_difference",
                                               "newcombe_interval", "nps_difference", "pooled_z_test", "welch",
                                               "z_test")},
    **{f"significance.{n}": "planning calculation from assumed SDs and effects, no data rows"
       for n in ("sample_size", "minimum_detectable_effect", "margin_of_error")},
    **{f"significance.{n}": _RESULT for n in ("ComparisonResult", "PowerResult")},
    "significance.recent_periods": "period arithmetic, no data rows",
    **{f"journey.{n}": _RESULT for n in ("Journeys", "PathTable", "FunnelComparison", "TransitionMatrix",
                                          "DirectlyFollows", "Attribution", "TimeToConvert", "FailPoints",
                                          "BySegment")},
    "journey.compare_funnels": "compares two segments of a by= funnel result (a, b are its segment levels)",
    "journey.removal_effects": "matrix algebra on a fitted transition matrix",
    "journey.aalen_johansen": _COUNTS,
    "journey.journeyize": "builds journeys from events; extra columns (segments) are kept for funnel(by=)",
    "journey.from_paths": "builds journeys from aggregated paths",
    **{f"survival.{n}": _RESULT for n in ("SurvivalTest", "KaplanMeier", "CoxResult", "PHCheck", "AFTResult")},
    "survival.check_proportional_hazards": "diagnostic of a fitted model (segments enter as covariates/strata)",
    "survival.churn_risk": "scores customers of a fitted model; the segment column passes through",
    "survival.landmark": "row filter at a landmark time",
    "survival.covariates_as_of": "joins covariates as of a date; segments are covariates it can join",
    "survival.survival_table": "builds the duration table; join segments onto it by customer_id",
    **{f"clv.{n}": _COUNTS for n in ("discount_factors", "discounted_purchases", "clv_from_survival")},
    **{f"clv.{n}": "diagnostic or grid of one fitted model" for n in ("calibration_holdout", "tracking",
                                                                      "frequency_recency_grid")},
    "clv.repeat_buyers": "row filter of an RFM table; the segment column passes through",
    "clv.rfm_summary": "builds per-customer RFM; merge= carries segment columns",
    **{f"clv.{n}": _RESULT for n in ("ClvModels", "ClvSample", "StakeParameters", "ValueAtStake")},
    "survival.ChurnModel": _RESULT,
    **{f"clv.{n}": "one value per customer; join segments on customer_id and sum per segment"
       for n in ("customer_clv", "value_at_stake", "value_at_stake_pipeline")},
    "clv.stake_interval": "interval of a sum over the customers given; pass one segment's churn probabilities",
    "clv.fit_clv_models": "one model fitted on all customers; segments are summarised from its per-customer values",
    "survival.cox_design": "builds the covariate matrix; segments enter as covariates",
    **{f"evaluation.{n}": "program evaluation of units over time: the design is per unit, not per customer segment; "
       "run it on the segment's panel (build_panel of the segment's customers)"
       for n in ("before_after", "did", "staggered_did", "event_study", "its", "structural_counterfactual",
                 "synthetic_control")},
    **{f"evaluation.{n}": _RESULT for n in ("EffectResult", "EventStudyResult", "Verdict")},
    **{f"evaluation.{n}": _PLOT for n in ("verdict", "verdict_table")},
    **{f"voc.{n}": "row-level text processing; the segment column passes through"
       for n in ("score_sentiment", "tag_themes")},
    **{f"voc.{n}": _RESULT for n in ("SentimentAgreement", "Taxonomy", "TopicModel", "DriverResult")},
    "voc.match_topics": "compares two fitted models",
    "voc.discover_topics": "topics are fitted on the whole corpus so that they mean the same in every segment "
                           "(per-segment fits give incomparable topics); tabulate its assignments by segment",
    "voc.relative_weights": _COUNTS,
    "voc.theme_sentiment_drivers": "builds driver columns from tags",
    "voc.impact_performance": _PLOT,
    "voc.sentiment_agreement": "validates the lexicon against scores (a method check, not a CX finding)",
    **{f"actions.{n}": _RESULT for n in ("AlertBoard", "FdrSimulation", "ActionList", "DashboardFdr")},
    **{f"actions.{n}": "simulation of the alert rule, no data rows"
       for n in ("simulate_alert_fdr", "simulate_dashboard_fdr")},
    "actions.alert_findings": _PLOT,
    "actions.apply_id_policy": "pseudonymizes ids",
    "actions.write_action_lists": "writes CSV files",
    **{f"segments.{n}": "builds segments" for n in ("customer_features", "rfm_scores", "rfm_segments",
                                                    "rule_segments", "attribute_segments", "BehaviouralSegments",
                                                    "standardize", "stability")},
    "segments.StabilityResult": _RESULT,
    "segments.profile_segments": "takes the segment labels as labels=",
    "segments.describe_segments": _PLOT,
}
#: Public functions where a segment makes sense but is not accepted yet: what is needed, and who owns it.
KNOWN_GAPS = {
}


def _public():
    for mod in MODULES:
        m = importlib.import_module(f"cxlib.{mod}")
        for name in m.__all__:
            obj = getattr(m, name)
            if not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            if inspect.isclass(obj) and issubclass(obj, BaseException):
                continue  # warnings and errors
            target = obj.fit if inspect.isclass(obj) and hasattr(obj, "fit") else obj
            try:
                params = set(inspect.signature(target).parameters)
            except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
                params = set()
            yield f"{mod}.{name}", sorted(params & SEGMENT_PARAMS)


AUDIT = dict(_public())


def audit_table():
    """(function, accepts segment?, parameter names, note) for the report."""
    rows = []
    for name, seg in sorted(AUDIT.items()):
        note = NOT_APPLICABLE.get(name) or KNOWN_GAPS.get(name) or ""
        rows.append((name, bool(seg), ", ".join(seg), note))
    return rows


@pytest.mark.parametrize("name", sorted(AUDIT))
def test_every_public_function_accepts_a_segment_or_says_why_not(name):
    seg = AUDIT[name]
    if seg:
        assert name not in KNOWN_GAPS, f"{name} accepts {seg}: remove it from KNOWN_GAPS"
        return
    assert name in NOT_APPLICABLE or name in KNOWN_GAPS, (
        f"{name} has no segment parameter ({sorted(SEGMENT_PARAMS)}); add one or list it with a reason")


def test_lists_name_only_existing_functions_and_do_not_overlap():
    assert not set(NOT_APPLICABLE) & set(KNOWN_GAPS)
    assert set(NOT_APPLICABLE) | set(KNOWN_GAPS) <= set(AUDIT)


def test_the_headline_families_accept_segments():
    """The issue's named flows: metrics (scorecard metrics), journey funnels, survival curves, alerts."""
    for name in ("metrics.nps", "metrics.csat", "metrics.ces", "metrics.churn_rate", "metrics.sla_share",
                 "metrics.conversion_rate", "journey.funnel", "survival.kaplan_meier", "survival.fit_cox",
                 "significance.pairwise", "actions.metric_alerts", "actions.dashboard_alerts",
                 "actions.family_outcomes"):
        assert AUDIT[name], name
