"""Audit: every public function of the analysis modules splits by segment, or says why not.

The table is the introspected signatures: a function *accepts a segment* when one of its parameters is one
of :data:`SEGMENT_PARAMS` (``segment=`` the segment column(s) of the data, ``segments=`` a frame of labels keyed
by ``customer_id``; ``group=`` the column whose levels a two-group test compares, ``strata=`` Cox strata), or
*is split by* ``by_segment`` when its result is one object (:data:`SPLIT_BY` says which ``by_segment``).
Functions where a segment makes no sense are in :data:`NOT_APPLICABLE` with the reason; functions where it
makes sense but is still missing are in :data:`KNOWN_GAPS` with what is needed (issue 11).  A new public
function that is in none of these fails the test; a gap that gets closed must leave :data:`KNOWN_GAPS` (the
test fails until it does).  The old spellings of a segment (``by=``, ``segment_col=``, ``segment_columns=``,
``dimensions=``, ``group_col=``, ``customer_columns=``) must not appear in any public signature (issue 16);
they keep working for one release as deprecated aliases.
"""
from __future__ import annotations

import importlib
import inspect

import pytest

MODULES = ("metrics", "significance", "journey", "survival", "clv", "evaluation", "voc", "actions", "segments")
SEGMENT_PARAMS = {"segment", "segments", "group", "strata"}
#: The spellings of a segment before issue 16; deprecated aliases now, in no public signature.
OLD_SPELLINGS = {"by", "segment_col", "segment_columns", "dimensions", "group_col", "customer_columns"}
#: Where the split of an analysis whose result is one object lives (its decorator records the home).
SPLIT_BY = {"metrics": "cxlib.metrics", "significance": "cxlib.significance", "voc": "cxlib.voc",
            "journey": "cxlib.journey"}

_COUNTS = "works on counts, summary statistics or arrays; call it per segment from a by_segment result"
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
    "journey.compare_funnels": "compares two segments of a funnel split by segment= (a, b are its levels)",
    "journey.removal_effects": "matrix algebra on a fitted transition matrix",
    "journey.aalen_johansen": _COUNTS,
    "journey.time_between": "its by= groups the gaps by touchpoint (source, pair, none); per customer segment: "
                            "journey.by_segment(time_between, journeys, segment=..., segments=...)",
    "journey.journeyize": "builds journeys from events; extra columns (segments) are kept for funnel(segment=)",
    "journey.from_paths": "builds journeys from aggregated paths",
    **{f"survival.{n}": _RESULT for n in ("SurvivalTest", "KaplanMeier", "CoxResult", "PHCheck", "AFTResult")},
    "survival.check_proportional_hazards": "diagnostic of a fitted model (segments enter as covariates/strata)",
    "survival.churn_risk": "scores customers of a fitted model; the segment column passes through",
    "survival.holdout_validation": "checks a fitted model on held-out customers (groups= are risk deciles)",
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
            yield f"{mod}.{name}", params, getattr(obj, "splits_by_segment", None)


PUBLIC = list(_public())
AUDIT = {name: sorted(params & SEGMENT_PARAMS) for name, params, _ in PUBLIC}
#: Analyses whose split by segment is ``<home>.by_segment(analysis, data, segment=...)``.
SPLIT = {name: home for name, _, home in PUBLIC if home}


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
    if seg or name in SPLIT:
        assert name not in KNOWN_GAPS, f"{name} accepts {seg or 'by_segment'}: remove it from KNOWN_GAPS"
        assert not (seg and name in SPLIT), f"{name}: split by by_segment, so its signature shows no {seg}"
        return
    assert name in NOT_APPLICABLE or name in KNOWN_GAPS, (
        f"{name} has no segment parameter ({sorted(SEGMENT_PARAMS)}) and is not split by by_segment; add one "
        "or list it with a reason")


@pytest.mark.parametrize("name, params", [(n, p) for n, p, _ in PUBLIC])
def test_no_public_signature_uses_an_old_spelling_of_a_segment(name, params):
    if name == "journey.time_between":  # its by= is the grouping of the gaps (source, pair, none), not a segment
        params = params - {"by"}
    assert not params & OLD_SPELLINGS, f"{name} still takes {sorted(params & OLD_SPELLINGS)}: call it segment="


@pytest.mark.parametrize("name", sorted(SPLIT))
def test_split_analyses_name_the_by_segment_of_their_package(name):
    package = name.split(".")[0]
    assert SPLIT[name] == SPLIT_BY[package]
    home = importlib.import_module(SPLIT[name])
    assert "by_segment" in home.__all__ and "segment" in inspect.signature(home.by_segment).parameters


def test_lists_name_only_existing_functions_and_do_not_overlap():
    assert not set(NOT_APPLICABLE) & set(KNOWN_GAPS)
    assert set(NOT_APPLICABLE) | set(KNOWN_GAPS) <= set(AUDIT)


def test_the_headline_families_accept_segments():
    """The issue's named flows: metrics (scorecard metrics), journey funnels, survival curves, alerts."""
    for name in ("metrics.nps", "metrics.csat", "metrics.ces", "metrics.churn_rate", "metrics.sla_share",
                 "metrics.conversion_rate", "journey.top_paths", "significance.trend_test", "voc.key_drivers"):
        assert SPLIT[name], name
    for name in ("journey.funnel", "survival.kaplan_meier", "survival.fit_cox", "significance.pairwise",
                 "significance.scorecard", "actions.metric_alerts", "actions.dashboard_alerts",
                 "actions.family_outcomes", "actions.build_action_lists", "voc.theme_shares"):
        assert AUDIT[name], name
