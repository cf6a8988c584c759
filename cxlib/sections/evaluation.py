"""Glue for the program-evaluation notebook: panels, design runs with visible caveats, tables, findings.

The notebook ``40_evaluation.ipynb`` stays a few calls; the logic it needs lives here, tested:

- :func:`evaluation_panel`: :func:`~cxlib.evaluation.build_panel` plus the notebook's choices
  (common program start or the rollout table, pre/post window) and an explicit, reported rule
  for empty store-periods (the designs refuse missing outcomes);
- :func:`evaluate_metric`: every requested design on one metric, the event study, and each
  :class:`~cxlib.errors.CxWarning` (``PreTrendWarning``, ``SmallSampleWarning``) turned into a
  caveat sentence for the reader instead of a stderr traceback;
- :func:`cohort_synthetic_control` and :func:`cohort_counterfactual`: one treated pseudo-unit
  (the earliest rollout cohort's mean) against the never-treated stores;
- :func:`effect_table`, :func:`verdicts`, :func:`caveats_markdown`, :func:`evaluation_findings`:
  the report layer (rounding happens in ``show_table`` and ``verdict``, never here).
"""
from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..display import displayable
from ..errors import CxError, CxWarning, ParameterError, check_choice
from ..findings import Finding
from ..evaluation import EFFECT_COLUMNS, EffectResult, EventStudyResult
from ..evaluation.did import before_after, did
from ..evaluation.panel import PANEL_METRICS, build_panel, first_full_period
from ..evaluation.staggered import event_study, staggered_did
from ..evaluation.structural import structural_counterfactual
from ..evaluation.synthetic_control import synthetic_control
from ..evaluation.verdict import verdict_table

__all__ = ["rollout_summary", "REPORT_DESIGNS", "DESIGN_LABELS", "MetricEvaluation", "evaluation_panel", "evaluate_metric",
           "cohort_synthetic_control", "cohort_counterfactual", "effect_table", "verdicts", "caveats_markdown",
           "event_study_figure", "evaluation_findings", "evaluate_metrics", "ABSOLUTE_EFFECTS", "DECISION_COLUMNS", "decision_table",
           "design_reading", "pre_trend_reading"]

SECTION = "evaluation"
#: Designs the notebook can run per metric, in the order of the effect table.
REPORT_DESIGNS = ("naive", "2x2", "twfe", "staggered", "synthetic_control")
#: Short names of the designs for tables and findings (the long method stays in ``EffectResult.method``).
DESIGN_LABELS = {"naive": "naive before/after", "did_2x2": "2x2 DiD", "2x2": "2x2 DiD", "twfe": "TWFE DiD",
                 "staggered": "Callaway-Sant'Anna DiD", "synthetic_control": "synthetic control (cohort mean)",
                 "its": "interrupted time series", "structural": "structural time series"}
_COMPARISON = {"naive": "the same stores before the program", "did_2x2": "comparable stores",
               "twfe": "comparable stores", "staggered": "stores not yet or never in the program",
               "synthetic_control": "a synthetic control of never-treated stores"}
#: Short unit of each metric for axis labels (the long one is ``PANEL_METRICS[m].unit``).
SHORT_UNITS = {"complaint_rate": "per 1,000 customers", "purchase_frequency": "purchases per customer",
               "return_rate": "share of items", "out_of_stock_rate": "share of items", "nps": "NPS points",
               "csat": "share top-2-box", "resolution_time": "hours"}
KW = dict(outcome="value", unit="unit_id", time="period", first_treated="first_treated")
#: Metrics whose effect reads in their own unit rather than relative to a baseline: NPS in points (a relative
#: change of a score near zero means little), CSAT in percentage points of the top-2-box share.
ABSOLUTE_EFFECTS = {"nps": ("points", 1.0), "csat": ("pp", 100.0)}
ControlGroup = Literal["never_treated", "not_yet_treated"]


@displayable(tables={"results": lambda m: pd.concat([r.to_frame() for r in m.results])})
@dataclass(frozen=True)
class MetricEvaluation:
    """Every design's estimate for one metric, its event study and the caveats a reader must see.

    Attributes
    ----------
    metric, label, better : str
        Metric key, its label in sentences, and the good direction ("higher"/"lower").
    results : tuple of EffectResult
        One per design that applies, in the order of :data:`REPORT_DESIGNS`.
    event_study : EventStudyResult or None
        Callaway & Sant'Anna event study (None if it could not be estimated).
    caveats : tuple of str
        Plain sentences: warnings raised by the designs, designs that do not apply, panel trimming.
    """

    metric: str
    label: str
    better: str
    results: tuple[EffectResult, ...]
    event_study: EventStudyResult | None
    caveats: tuple[str, ...]

    def result(self, design: str) -> EffectResult | None:
        """The result of ``design`` (``"2x2"`` or ``"did_2x2"`` both accepted), or None if it did not run."""
        design = "did_2x2" if design == "2x2" else design
        return next((r for r in self.results if r.design == design), None)

    def to_frame(self) -> pd.DataFrame:
        """The stacked results (columns of :data:`~cxlib.evaluation.EFFECT_COLUMNS`; no rows when no design ran)."""
        if not self.results:
            return pd.DataFrame(columns=list(EFFECT_COLUMNS))
        return pd.concat([r.to_frame() for r in self.results], ignore_index=True)


def _none_if_empty(value):
    return None if value is None or (isinstance(value, str) and value.strip() == "") else value


def evaluation_panel(data, *, metric: str, freq: str = "month", program: str | None = None,
                     program_start=None, pre_start=None, post_end=None) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The balanced store x period panel of one metric, with the notes that explain any trimming.

    Parameters
    ----------
    data : cxlib.data.Dataset or mapping of str to DataFrame
        The contract tables.
    metric, freq, program
        As in :func:`~cxlib.evaluation.build_panel` (``program`` ``""`` or None: the only one).
    program_start : date-like, optional
        A common program start for every store in ``program_rollout`` (its first full period
        becomes each treated store's ``first_treated``); None or ``""``: the rollout table's dates.
    pre_start, post_end : date-like, optional
        First and last period kept (the pre window starts, the post window ends); None or ``""``: all.

    Returns
    -------
    (panel, notes) : (pandas.DataFrame, tuple of str)
        The panel (columns of :data:`~cxlib.evaluation.PANEL_COLUMNS`) without missing values, and
        one sentence per trimming step.

    Notes
    -----
    A store-period whose denominator is zero (no customers signed up yet, no transactions)
    has no value, and the designs need a balanced panel.  The rule is explicit and reported:
    drop the periods with a missing value, or the stores with one, whichever loses fewer
    store-periods (periods first on a tie), and repeat until nothing is missing.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> day = pd.Timestamp
    >>> tables = {"units": pd.DataFrame({"unit_id": ["S1", "S2"]}),
    ...     "program_rollout": pd.DataFrame({"unit_id": ["S1"], "program": ["cx"], "rollout_date": [day("2025-02-01")]}),
    ...     "customers": pd.DataFrame({"customer_id": ["c1", "c2"], "home_unit_id": ["S1", "S2"],
    ...                                "signup_date": [day("2024-12-01")] * 2}),
    ...     "transactions": pd.DataFrame({"transaction_id": ["t1", "t2", "t3"], "customer_id": ["c1", "c2", "c1"],
    ...         "unit_id": ["S1", "S2", "S1"], "timestamp": [day("2025-01-05"), day("2025-01-09"), day("2025-02-03")],
    ...         "amount": [10.0, 20.0, 30.0], "items": [2, 4, 1], "returned_items": [1, 0, 0],
    ...         "stockout_items": [0, 1, 0]})}
    >>> panel, notes = evaluation_panel(tables, metric="return_rate")
    >>> panel["period"].dt.strftime("%Y-%m").tolist(), notes
    (['2025-01', '2025-01'], ('Return rate: dropped 1 period(s) (2025-02) with an empty store-period (1 missing of 4).',))
    """
    panel = build_panel(data, metric=metric, freq=freq, program=_none_if_empty(program),
                        start=_none_if_empty(pre_start), end=_none_if_empty(post_end))
    label = PANEL_METRICS[metric].label
    notes: list[str] = []
    start = _none_if_empty(program_start)
    if start is not None:
        rollout = data.tables["program_rollout"] if hasattr(data, "tables") else data["program_rollout"]
        prog = _none_if_empty(program) or rollout["program"].iloc[0]
        stores = set(rollout.loc[rollout["program"] == prog, "unit_id"].astype(str))
        first = first_full_period(pd.Series([pd.Timestamp(start)]), freq).iloc[0]
        panel["first_treated"] = pd.Series(pd.NaT, index=panel.index, dtype="datetime64[ns]").where(
            ~panel["unit_id"].isin(stores), first)
        panel["treated"] = (panel["period"] >= panel["first_treated"]).astype(int)
        notes.append(f"{label}: common program start {pd.Timestamp(start):%Y-%m-%d} for the {len(stores)} "
                     f"stores of the rollout table (first full period {first:%Y-%m-%d}).")
    total = len(panel)
    while panel["value"].isna().any():
        miss = panel[panel["value"].isna()]
        periods, units = miss["period"].unique(), miss["unit_id"].unique()
        n_units, n_periods = panel["unit_id"].nunique(), panel["period"].nunique()
        if len(periods) * n_units <= len(units) * n_periods:
            panel = panel[~panel["period"].isin(periods)]
            shown = ", ".join(pd.Timestamp(p).strftime("%Y-%m") for p in sorted(periods)[:6])
            notes.append(f"{label}: dropped {len(periods)} period(s) ({shown}) with an empty store-period "
                         f"({len(miss)} missing of {total}).")
        else:
            panel = panel[~panel["unit_id"].isin(units)]
            notes.append(f"{label}: dropped {len(units)} store(s) with empty store-periods "
                         f"({len(miss)} missing of {total}).")
    return panel.reset_index(drop=True), tuple(notes)


def evaluate_metrics(data, metrics: Sequence[str], *, post_end, freq: str = "month", program: str | None = None,
                     program_start=None, pre_start=None, designs: Sequence[str] = REPORT_DESIGNS, alpha: float = 0.05,
                     control_group: ControlGroup = "not_yet_treated", event_window: Sequence[int] = (-6, 6)
                     ) -> tuple[dict[str, pd.DataFrame], list[MetricEvaluation], list[str]]:
    """:func:`evaluation_panel` and :func:`evaluate_metric` for each metric: ``(panels, evaluations, notes)``.

    A metric whose panel cannot be built on these data (too few stores or periods, one store...) is left out
    with a plain sentence in ``notes`` (:func:`cxlib.sections.notes.attempt`) instead of stopping the section.
    """
    from .notes import attempt

    panels, evaluations, not_estimated = {}, [], []
    for metric in metrics:
        built = attempt(f"The panel of {PANEL_METRICS[metric].label.lower()}", evaluation_panel, data, metric=metric,
                        freq=freq, program=program, program_start=program_start, pre_start=pre_start,
                        post_end=post_end)
        if not built.ok:
            not_estimated.append(built.note)
            continue
        panels[metric], notes = built.result
        evaluations.append(evaluate_metric(panels[metric], metric=metric, designs=designs, alpha=alpha,
                                           control_group=control_group, event_window=event_window, notes=notes))
    return panels, evaluations, not_estimated


def rollout_summary(panel: pd.DataFrame, *, freq: str = "month") -> str:
    """One sentence on the evaluation design's data: stores, cohorts, never-treated stores, periods.

    Examples
    --------
    >>> panel = pd.DataFrame({"unit_id": ["A", "A", "B", "B", "C", "C"],
    ...                       "period": pd.to_datetime(["2025-01-01", "2025-02-01"] * 3),
    ...                       "first_treated": pd.to_datetime(["2025-02-01"] * 2 + [None] * 4)})
    >>> rollout_summary(panel)
    '3 stores observed monthly from 2025-01 to 2025-02 (2 periods): 1 treated in 1 rollout cohort(s) (starting 2025-02), 2 never treated in the window.'
    """
    how = {"month": "monthly", "quarter": "quarterly", "week": "weekly"}[check_choice("freq", freq, ["month", "quarter", "week"])]
    first = panel.groupby("unit_id")["first_treated"].first()
    cohorts = sorted(first.dropna().unique())
    periods = pd.to_datetime(panel["period"])
    starts = ", ".join(pd.Timestamp(c).strftime("%Y-%m") for c in cohorts)
    return (f"{len(first)} stores observed {how} from {periods.min():%Y-%m} to {periods.max():%Y-%m} "
            f"({periods.nunique()} periods): {int(first.notna().sum())} treated in {len(cohorts)} rollout "
            f"cohort(s) (starting {starts}), {int(first.isna().sum())} never treated in the window.")


def _cohort_series(panel: pd.DataFrame) -> tuple[pd.DataFrame, object, list]:
    """Wide outcome (period x store), the earliest cohort's start, and its stores."""
    wide = panel.pivot(index="period", columns="unit_id", values="value")
    first = panel.groupby("unit_id")["first_treated"].first()
    treated = first.dropna()
    if treated.empty or first.isna().sum() < 2:
        raise ParameterError("the synthetic control and the counterfactual need a treated cohort and at least two "
                             f"never-treated stores; found {first.isna().sum()} never-treated.")
    start = treated.min()
    return wide, start, sorted(treated.index[treated == start])


def cohort_synthetic_control(panel: pd.DataFrame, *, metric: str, alpha: float = 0.05) -> EffectResult:
    """Synthetic control of the earliest rollout cohort's mean, from the never-treated stores.

    The cohort's stores are averaged into one pseudo-unit (synthetic control needs one treated
    series); donors are the stores never treated in the window, so they stay untreated
    throughout.  Inference is placebo-in-space (see :func:`~cxlib.evaluation.synthetic_control`):
    with ``J`` donors the smallest attainable p-value is ``1 / (J + 1)``.

    Examples
    --------
    >>> from cxlib.evaluation.simulate import simulate_panel
    >>> sim, _ = simulate_panel(n_units=40, n_periods=12, rng=np.random.default_rng(1))
    >>> panel = sim.rename(columns={"unit": "unit_id", "y": "value"})
    >>> res = cohort_synthetic_control(panel, metric="y")
    >>> res.design, res.n_units, res.n_treated
    ('synthetic_control', 21, 1)
    """
    wide, start, cohort = _cohort_series(panel)
    never = panel.groupby("unit_id")["first_treated"].first().isna()
    donors = sorted(never.index[never])
    frame = wide[donors].copy()
    frame["cohort"] = wide[cohort].mean(axis=1)
    long = frame.reset_index().melt(id_vars="period", var_name="unit_id", value_name="value")
    return synthetic_control(long, outcome="value", unit="unit_id", time="period", treated_unit="cohort",
                             treatment_start=start, alpha=alpha, metric=metric)


def cohort_counterfactual(panel: pd.DataFrame, *, metric: str, alpha: float = 0.05, n_sim: int = 1000,
                          rng: np.random.Generator) -> EffectResult:
    """CausalImpact-style counterfactual of the earliest cohort's mean, with the never-treated mean as control.

    A local-level structural model with the control stores' mean as regressor is fitted on the
    cohort's pre-program months and forecast over its post months
    (:func:`~cxlib.evaluation.structural_counterfactual`); the control series carries the
    season and any market-wide shock into the forecast.  The first pre-period prediction, which
    comes from the diffuse initial state, is blanked in ``tables["series"]``.  Parameter uncertainty is not in the
    simulated intervals, so they are too narrow; the notebook shows this design as a picture
    of the counterfactual, not as the headline estimate.

    Examples
    --------
    >>> from cxlib.evaluation.simulate import simulate_panel
    >>> sim, truth = simulate_panel(n_units=40, n_periods=24, rng=np.random.default_rng(1))
    >>> panel = sim.rename(columns={"unit": "unit_id", "y": "value"})
    >>> res = cohort_counterfactual(panel, metric="y", n_sim=200, rng=np.random.default_rng(2))
    >>> res.design, res.n_pre, round(res.relative_estimate, 2), truth["relative"]
    ('structural', 12, -0.29, -0.3)
    """
    wide, start, cohort = _cohort_series(panel)
    never = panel.groupby("unit_id")["first_treated"].first().isna()
    series = pd.DataFrame({"period": wide.index, "cohort": wide[cohort].mean(axis=1).to_numpy(),
                           "control": wide[sorted(never.index[never])].mean(axis=1).to_numpy()})
    # structural_counterfactual searches a datetime64 array: a pandas Timestamp does not compare there
    start = start.to_datetime64() if isinstance(start, pd.Timestamp) else start
    res = structural_counterfactual(series, outcome="cohort", time="period", intervention_start=start,
                                    controls=["control"], alpha=alpha, n_sim=n_sim, rng=rng, metric=metric)
    # the first one-step prediction comes from the diffuse initial level (band of +-thousands): not a fit
    shown = res.tables["series"].copy()
    shown.loc[shown.index[0], ["predicted", "predicted_lower", "predicted_upper"]] = np.nan
    return dataclasses.replace(res, tables={**res.tables, "series": shown})


def _run(caveats: list[str], label: str, design: str, fn, /, *args, **kwargs):
    """Call ``fn``; CxWarnings become caveats, a design that does not apply (CxError) becomes a caveat and None.

    Caveats are ``"<label> | <design> | <kind> | <message>"`` strings (see :func:`caveats_markdown`).
    """
    name = DESIGN_LABELS.get(design, design)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CxWarning)
        try:
            out = fn(*args, **kwargs)
        except CxError as exc:
            caveats.append(f"{label} | {name} | not estimated | {exc}")
            out = None
    for w in caught:
        if issubclass(w.category, CxWarning):
            caveats.append(f"{label} | {name} | {w.category.__name__} | {w.message}")
        else:  # not ours: pass it on untouched
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return out


def evaluate_metric(panel: pd.DataFrame, *, metric: str, designs: Sequence[str] = REPORT_DESIGNS,
                    control_group: ControlGroup = "not_yet_treated", event_window: Sequence[int] | None = None,
                    alpha: float = 0.05, notes: Sequence[str] = ()) -> MetricEvaluation:
    """Run the requested designs and the event study on one metric's panel; collect the caveats.

    Parameters
    ----------
    panel : pandas.DataFrame
        From :func:`evaluation_panel` (columns ``unit_id, period, value, first_treated``).
    metric : str
        Key of :data:`~cxlib.evaluation.PANEL_METRICS` (label and good direction come from it).
    designs : sequence of str
        Any of :data:`REPORT_DESIGNS` (default all).  A design that does not apply to the data
        (the 2x2 with several rollout dates, synthetic control without never-treated stores) is
        reported as a caveat, not run.
    control_group : {"not_yet_treated", "never_treated"}
        Comparison stores of the Callaway & Sant'Anna estimate and event study; the default adds
        not-yet-treated stores to the never-treated ones (more power; the synthetic world has
        only 6 never-treated stores).  TWFE always compares with every not-yet-treated store.
    event_window : (int, int), optional
        Event times shown in the event study (and tested for pre-trends); default all.
    alpha : float
        1 - confidence level of every interval and the level of the pre-trend test.
    notes : sequence of str
        Caveats carried over (the panel's trimming notes).

    Returns
    -------
    MetricEvaluation

    Examples
    --------
    >>> from cxlib.evaluation.simulate import simulate_panel
    >>> sim, truth = simulate_panel(n_units=40, n_periods=12, effect=-0.2, rng=np.random.default_rng(1))
    >>> panel = sim.rename(columns={"unit": "unit_id", "y": "value"})
    >>> ev = evaluate_metric(panel, metric="complaint_rate", designs=["naive", "twfe", "2x2"])
    >>> [r.design for r in ev.results], ev.caveats
    (['naive', 'did_2x2', 'twfe'], ())
    """
    check_choice("metric", metric, list(PANEL_METRICS))
    for d in designs:
        check_choice("design", d, list(REPORT_DESIGNS))
    control_group = check_choice("control_group", control_group, ["never_treated", "not_yet_treated"])
    spec = PANEL_METRICS[metric]
    caveats, results = list(notes), []
    window = None if event_window is None or len(event_window) == 0 else (int(event_window[0]), int(event_window[1]))
    calls = {"naive": (before_after, {}), "2x2": (did, {"design": "2x2"}), "twfe": (did, {"design": "twfe"}),
             "staggered": (staggered_did, {"control_group": control_group})}
    for design in REPORT_DESIGNS:
        if design not in designs:
            continue
        if design == "synthetic_control":
            res = _run(caveats, spec.label, design, cohort_synthetic_control, panel, metric=metric, alpha=alpha)
        else:
            fn, extra = calls[design]
            res = _run(caveats, spec.label, design, fn, panel, **KW, alpha=alpha, metric=metric, **extra)
        if res is not None:
            results.append(res)
    es = _run(caveats, spec.label, "event study", event_study, panel, **KW, control_group=control_group,
              window=window, alpha=alpha, metric=metric)
    for r in results:
        lo, hi = r.relative_ci_lower, r.relative_ci_upper
        if math.isfinite(lo) and math.isfinite(hi) and math.isfinite(r.p_value) and \
                ((lo > 0 or hi < 0) != (r.p_value < alpha)):
            caveats.append(f"{spec.label} | {DESIGN_LABELS[r.design]} | borderline | the relative interval "
                           f"(delta method) and the test of no absolute effect (p = {r.p_value:.2g}) disagree; "
                           "the evidence is borderline: read the effect as uncertain.")
    seen = list(dict.fromkeys(caveats))  # the same warning from the staggered fit and the event study: once
    return MetricEvaluation(metric=metric, label=spec.label, better=spec.better, results=tuple(results),
                            event_study=es, caveats=tuple(seen))


def effect_table(evaluations: Sequence[MetricEvaluation]) -> pd.DataFrame:
    """One display row per metric and design: relative effect, CI, p, stores, pre-trend p, method.

    Columns ``metric, design, relative_estimate, relative_ci_lower, relative_ci_upper, estimate,
    p_value, n_units, n_treated, n_obs, pre_trend_p_value, method`` (fractions for the relative
    effect, metric units for ``estimate``; formatting is ``show_table``'s job).  The event
    study's joint pre-trend p-value is repeated on the DiD rows it qualifies (2x2, TWFE).

    Examples
    --------
    >>> r = EffectResult(metric="return_rate", design="twfe", estimate=-0.03, relative_estimate=-0.25,
    ...                  relative_ci_lower=-0.3, relative_ci_upper=-0.2, p_value=0.001, n_units=24, n_treated=18,
    ...                  method="TWFE")
    >>> ev = MetricEvaluation("return_rate", "Return rate", "lower", (r,), None, ())
    >>> effect_table([ev])[["metric", "design", "relative_estimate", "n_units"]].to_dict("records")
    [{'metric': 'Return rate', 'design': 'TWFE DiD', 'relative_estimate': -0.25, 'n_units': 24}]
    """
    rows = []
    for ev in evaluations:
        p_es = ev.event_study.pre_trend_p_value if ev.event_study is not None else math.nan
        for r in ev.results:
            pre = r.pre_trend_p_value if not math.isnan(r.pre_trend_p_value) else (
                p_es if r.design in ("twfe", "did_2x2") else math.nan)
            rows.append({"metric": ev.label, "design": DESIGN_LABELS[r.design],
                         "relative_estimate": r.relative_estimate, "relative_ci_lower": r.relative_ci_lower,
                         "relative_ci_upper": r.relative_ci_upper, "estimate": r.estimate, "p_value": r.p_value,
                         "n_units": r.n_units, "n_treated": r.n_treated, "n_obs": r.n_obs,
                         "pre_trend_p_value": pre, "method": r.method})
    return pd.DataFrame(rows, columns=["metric", "design", "relative_estimate", "relative_ci_lower",
                                       "relative_ci_upper", "estimate", "p_value", "n_units", "n_treated", "n_obs",
                                       "pre_trend_p_value", "method"])


def _headline(ev: MetricEvaluation, design: str) -> EffectResult | None:
    return ev.result(design)


def verdicts(evaluations: Sequence[MetricEvaluation], *, design: str = "twfe") -> pd.DataFrame:
    """The plain-language verdict of ``design`` for every metric (columns of ``VERDICT_COLUMNS``).

    A metric whose chosen design did not run gets no row (its caveat says why).

    Examples
    --------
    >>> r = EffectResult(metric="return_rate", design="twfe", estimate=-0.03, ci_lower=-0.04, ci_upper=-0.02,
    ...                  relative_estimate=-0.25, relative_ci_lower=-0.31, relative_ci_upper=-0.19, p_value=1e-5,
    ...                  n_units=24, n_treated=18, method="TWFE")
    >>> ev = MetricEvaluation("return_rate", "Return rate", "lower", (r,), None, ())
    >>> verdicts([ev])["text"].iloc[0]
    'Return rate fell 25% (95% CI 19% to 31%) relative to comparable stores, an improvement (two-way fixed-effects difference-in-differences; 24 stores, 18 treated; p < 0.001).'
    """
    from ..evaluation.verdict import verdict

    rows = []
    for ev in evaluations:
        r = _headline(ev, design)
        if r is None:
            continue
        if ev.metric in ABSOLUTE_EFFECTS:  # NPS and CSAT read in their own unit, not relative to a baseline
            unit, scale = ABSOLUTE_EFFECTS[ev.metric]
            r = dataclasses.replace(r, estimate=scale * r.estimate, ci_lower=scale * r.ci_lower,
                                    ci_upper=scale * r.ci_upper, relative_estimate=math.nan,
                                    relative_ci_lower=math.nan, relative_ci_upper=math.nan)
            rows.append(verdict(r, label=ev.label, better=ev.better, value_unit="points").to_frame())
        else:
            rows.append(verdict_table([r], labels={r.metric: ev.label}, better={r.metric: ev.better}))
    return pd.concat(rows, ignore_index=True) if rows else verdict_table([])


def caveats_markdown(evaluations: Sequence[MetricEvaluation]) -> str:
    """Markdown for the reader: one bullet per distinct caveat (naming the metrics it concerns), pre-trend first.

    Caveats are ``"<metric label> | <design> | <kind> | <message>"``; panel notes are plain
    sentences.  The same design warning on several metrics is shown once; the metric's own
    name is taken out of the message so that the grouping works.

    Examples
    --------
    >>> evs = [MetricEvaluation(m, m.title(), "lower", (), None,
    ...                         (f"{m.title()} | synthetic control | SmallSampleWarning | few donors",))
    ...        for m in ("returns", "complaints")]
    >>> evs.append(MetricEvaluation("nps", "NPS", "higher", (), None,
    ...                             ("NPS | event study | PreTrendWarning | nps: leads differ (p = 0.01)",)))
    >>> print(caveats_markdown(evs))
    **Caveats the reader must weigh:**
    <BLANKLINE>
    - ⚠ **Parallel pre-trends doubtful** (NPS, event study): leads differ (p = 0.01)
    - ⚠ **Small sample** (Returns, Complaints, synthetic control): few donors
    """
    groups: dict[tuple[str, str, str], list[str]] = {}
    for ev in evaluations:
        for c in ev.caveats:
            parts = c.split(" | ", 3)
            if len(parts) != 4:
                groups.setdefault(("note", "", c), []).append(ev.label)
                continue
            label, design, kind, message = parts
            message = message.removeprefix(f"{ev.metric}: ").removeprefix(f"{label}: ")
            message = message.replace(ev.metric, "the metric").replace(repr("value"), "the metric")
            groups.setdefault((kind, design, message), []).append(label)
    if not groups:
        return ("No caveats: every design ran, and no event study rejected parallel pre-trends at the "
                "report's alpha.")
    heading = {"PreTrendWarning": "Parallel pre-trends doubtful", "SmallSampleWarning": "Small sample",
               "borderline": "Borderline evidence", "not estimated": "Not estimated", "note": "Data note"}
    order = ["PreTrendWarning", "borderline", "SmallSampleWarning", "not estimated", "note"]
    lines = []
    for (kind, design, message), labels in sorted(groups.items(),
                                                  key=lambda kv: order.index(kv[0][0]) if kv[0][0] in order else 2):
        head = heading.get(kind, kind)
        where = ", ".join(dict.fromkeys(labels)) + (f", {design}" if design else "")
        mark = "⚠ " if kind.endswith("Warning") or kind == "borderline" else ""
        lines.append(f"- {mark}**{head}** ({where}): {message}" if kind != "note" else f"- **{head}**: {message}")
    return "**Caveats the reader must weigh:**\n\n" + "\n".join(lines)


def event_study_figure(evaluations: Sequence[MetricEvaluation], *, ncols: int = 2) -> Figure:
    """One event-study panel per metric (:func:`cxlib.plots.evaluation.event_study_plot`) in a grid.

    Examples
    --------
    >>> from cxlib.evaluation.simulate import simulate_panel
    >>> sim, _ = simulate_panel(n_units=30, n_periods=10, rng=np.random.default_rng(2))
    >>> ev = evaluate_metric(sim.rename(columns={"unit": "unit_id", "y": "value"}), metric="nps", designs=["twfe"])
    >>> len(event_study_figure([ev, ev]).axes)
    2
    """
    from ..plots.evaluation import event_study_plot

    shown = [ev for ev in evaluations if ev.event_study is not None]
    if not shown:
        raise ParameterError("event_study_figure(): no metric has an event study to show.")
    from ..format import format_p
    from ..report.figures import PRINT_WIDTH

    nrows = math.ceil(len(shown) / ncols)
    fig = Figure(figsize=(PRINT_WIDTH, 2.3 * nrows + 0.2), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, min(ncols, len(shown)), squeeze=False)).ravel()
    for ax, ev in zip(axes, shown):
        p = ev.event_study.pre_trend_p_value
        pre = "no leads" if math.isnan(p) else f"pre-trend {format_p(p)}"
        event_study_plot(ev.event_study, ax=ax, ylabel=SHORT_UNITS[ev.metric], title=f"{ev.label}\n({pre})")
        ax.set_xlabel("months since the start")
        ax.get_legend().remove()  # grey = leads, blue = post: said once in the caption
    for ax in axes[len(shown):]:
        ax.set_visible(False)
    return fig


def _label_in_sentence(label: str) -> str:
    """``Return rate`` -> ``return rate``; acronyms stay (``NPS``, ``CSAT (top-2-box)``)."""
    return label[:1].lower() + label[1:] if label[1:2].islower() else label


def _agreement(ev: MetricEvaluation, headline: str, check: str) -> bool | None:
    """Do two designs reach the same verdict (both clear in the same direction, or both unclear)? None if one is missing."""
    a, b = ev.result(headline), ev.result(check)
    if a is None or b is None:
        return None

    def verdict(r: EffectResult) -> int:
        if not (math.isfinite(r.ci_lower) and math.isfinite(r.ci_upper)) or r.ci_lower <= 0 <= r.ci_upper:
            return 0
        return 1 if r.estimate > 0 else -1

    return verdict(a) == verdict(b)


def evaluation_findings(evaluations: Sequence[MetricEvaluation], *, design: str = "twfe",
                        period: str = "", check: str = "staggered") -> list[Finding]:
    """One finding per metric: the program effect of ``design`` with CI, p, n and method; and the stores treated.

    ``key`` is ``program_effect_<metric>``; the effect is relative in percent (``unit`` ``"%"``)
    except for the metrics of :data:`ABSOLUTE_EFFECTS` (NPS in points, CSAT in percentage
    points); ``better`` is the metric's good direction, ``n`` the number of stores; no
    ``comparison`` is set (the effect is a contrast with a counterfactual, not a change between
    two quarters).  ``detail`` says whether the ``check`` design reaches the same verdict.  A
    metric without the design or without a relative effect (baseline not positive) is skipped.
    One more finding, ``program_stores``, counts the stores in the program (``n``: all stores).

    Examples
    --------
    >>> r = EffectResult(metric="return_rate", design="twfe", estimate=-0.03, relative_estimate=-0.25,
    ...                  relative_ci_lower=-0.31, relative_ci_upper=-0.19, p_value=1e-5, n_units=24,
    ...                  n_treated=18, n_obs=576, method="TWFE")
    >>> fs = evaluation_findings([MetricEvaluation("return_rate", "Return rate", "lower", (r,), None, ())])
    >>> f = fs[0]
    >>> f.key, f.label, f.estimate, f.ci_lower, f.unit, f.better, f.n
    ('program_effect_return_rate', "The program's effect on return rate", -25.0, -31.0, '%', 'lower', 24)
    >>> fs[1].key, fs[1].estimate, fs[1].n
    ('program_stores', 18.0, 24.0)
    """
    out, stores = [], None
    for ev in evaluations:
        r = _headline(ev, design)
        if r is None:
            continue
        stores = stores or r
        unit, scale = ABSOLUTE_EFFECTS.get(ev.metric, ("%", None))
        if scale is None:
            if not math.isfinite(r.relative_estimate):
                continue
            est, lo, hi = (100 * v for v in (r.relative_estimate, r.relative_ci_lower, r.relative_ci_upper))
        else:
            est, lo, hi = (scale * v for v in (r.estimate, r.ci_lower, r.ci_upper))
        pre = "" if ev.event_study is None else f"; event-study pre-trend p = {ev.event_study.pre_trend_p_value:.3g}"
        agree = _agreement(ev, design, check)
        checked = "" if agree is None or check == design else (
            f"; {DESIGN_LABELS[check]} {'agrees' if agree else 'disagrees'}")
        out.append(Finding(
            key=f"program_effect_{ev.metric}", section=SECTION,
            label=f"The program's effect on {_label_in_sentence(ev.label)}",
            estimate=est, ci_lower=lo, ci_upper=hi, ci_level=r.ci_level, p_value=r.p_value, n=r.n_units,
            method=f"{DESIGN_LABELS[r.design]} vs {_COMPARISON[r.design]}", unit=unit, better=ev.better,
            period=period,
            detail=(f"{'absolute' if scale else 'relative'} effect on the treated stores' post-rollout mean; "
                    f"{r.n_treated} of {r.n_units} stores treated, {r.n_obs} store-periods; absolute effect "
                    f"{r.estimate:.6g} ({PANEL_METRICS[ev.metric].unit}){pre}{checked}; {r.method}")))
    if stores is not None:
        out.append(Finding(key="program_stores", section=SECTION, label="Stores in the program",
                           estimate=float(stores.n_treated), n=float(stores.n_units), method="count",
                           unit="stores", period=period,
                           detail=f"{stores.n_treated} of {stores.n_units} stores treated in the evaluation window"))
    return out


DECISION_COLUMNS = ("outcome", "unit", "headline", "headline_lower", "headline_upper", "headline_p", "check",
                    "check_lower", "check_upper", "check_p", "pre_trend_p", "designs_agree")


def _effect_in_display_units(ev: MetricEvaluation, r: EffectResult | None) -> tuple[float, float, float]:
    if r is None:
        return math.nan, math.nan, math.nan
    unit, scale = ABSOLUTE_EFFECTS.get(ev.metric, ("%", None))
    if scale is None:
        vals = (100 * r.relative_estimate, 100 * r.relative_ci_lower, 100 * r.relative_ci_upper)
    else:
        vals = (scale * r.estimate, scale * r.ci_lower, scale * r.ci_upper)
    return tuple(v if math.isfinite(v) else math.nan for v in vals)


def decision_table(evaluations: Sequence[MetricEvaluation], *, headline: str = "twfe",
                   check: str = "staggered") -> pd.DataFrame:
    """One row per outcome: the headline design's effect, the check design's effect, agreement and pre-trend p.

    Effects are relative in percent, or in points for :data:`ABSOLUTE_EFFECTS` (column ``unit``);
    an unbounded interval end is NaN.  ``designs_agree`` is True when both designs reach the same
    verdict (both intervals exclude zero on the same side, or both include it).

    Examples
    --------
    >>> a = EffectResult(metric="nps", design="twfe", estimate=9.9, ci_lower=1.7, ci_upper=18.1, p_value=0.02,
    ...                  n_units=24, n_treated=18, method="TWFE")
    >>> b = EffectResult(metric="nps", design="staggered", estimate=0.7, ci_lower=-14.2, ci_upper=15.6,
    ...                  p_value=0.93, n_units=24, n_treated=18, method="CS")
    >>> decision_table([MetricEvaluation("nps", "NPS", "higher", (a, b), None, ())])[
    ...     ["outcome", "unit", "headline", "check", "designs_agree"]].values.tolist()
    [['NPS', 'points', 9.9, 0.7, False]]
    """
    rows = []
    for ev in evaluations:
        a, b = ev.result(headline), ev.result(check)
        ha, hb = _effect_in_display_units(ev, a), _effect_in_display_units(ev, b)
        rows.append({"outcome": ev.label, "unit": ABSOLUTE_EFFECTS.get(ev.metric, ("%",))[0],
                     "headline": ha[0], "headline_lower": ha[1], "headline_upper": ha[2],
                     "headline_p": a.p_value if a is not None else math.nan,
                     "check": hb[0], "check_lower": hb[1], "check_upper": hb[2],
                     "check_p": b.p_value if b is not None else math.nan,
                     "pre_trend_p": ev.event_study.pre_trend_p_value if ev.event_study is not None else math.nan,
                     "designs_agree": _agreement(ev, headline, check)})
    return pd.DataFrame(rows, columns=list(DECISION_COLUMNS))


def design_reading(evaluations: Sequence[MetricEvaluation], *, headline: str = "twfe",
                   check: str = "staggered") -> str:
    """Plain words on where the two designs disagree and which assumption decides between them.

    Examples
    --------
    >>> a = EffectResult(metric="nps", design="twfe", estimate=9.9, ci_lower=1.7, ci_upper=18.1, method="TWFE")
    >>> b = dataclasses.replace(a, design="staggered", estimate=0.7, ci_lower=-14.2, ci_upper=15.6)
    >>> print(design_reading([MetricEvaluation("nps", "NPS", "higher", (a, b), None, ())]))  # doctest: +ELLIPSIS
    **Where the designs disagree.** For NPS the TWFE DiD finds a clear effect (+9.9 points, 95% CI 1.7 to 18.1) and the Callaway-Sant'Anna DiD does not (+0.7 points, 95% CI −14.2 to 15.6). ...
    """
    from ..format import format_ci, format_number

    def effect(ev: MetricEvaluation, r: EffectResult) -> str:
        est, lo, hi = _effect_in_display_units(ev, r)
        unit = "%" if ev.metric not in ABSOLUTE_EFFECTS else " points"
        sign = "+" if est > 0 else ""
        ci = format_ci(lo, hi, 1) if math.isfinite(lo) and math.isfinite(hi) else "unbounded"
        return f"{sign}{format_number(est, 1)}{unit}, {100 * r.ci_level:g}% CI {ci}"

    parts = []
    for ev in evaluations:
        if _agreement(ev, headline, check) is not False:
            continue
        a, b = ev.result(headline), ev.result(check)
        clear_a = not (a.ci_lower <= 0 <= a.ci_upper)
        first, second = (a, b) if clear_a else (b, a)
        parts.append(f"For {_label_in_sentence(ev.label)} the {DESIGN_LABELS[first.design]} finds a clear effect "
                     f"({effect(ev, first)}) and the {DESIGN_LABELS[second.design]} does not ({effect(ev, second)}).")
    if not parts:
        return (f"**The designs agree.** The {DESIGN_LABELS[headline]} and the {DESIGN_LABELS[check]} reach the same "
                "verdict on every outcome, so the choice between them does not change a conclusion.")
    rule = (f"Which one to trust turns on one assumption: the {DESIGN_LABELS[headline]} is unbiased only if the "
            "program works equally in every rollout wave and its effect does not grow or fade with time since the "
            "start; otherwise it compares stores with stores already in the program and mixes up the effects. "
            f"The {DESIGN_LABELS[check]} does not need that assumption but compares each wave with a single month "
            "before its start, so it is noisier. Read the event study below: flat effects after the start favour the "
            f"{DESIGN_LABELS[headline]}; effects that grow or fade favour the {DESIGN_LABELS[check]}, and the effect "
            "is then not yet established.")
    return "**Where the designs disagree.** " + " ".join(parts) + " " + rule


def pre_trend_reading(evaluations: Sequence[MetricEvaluation], *, alpha: float = 0.05) -> str:
    """The pre-trend checks in plain words: did treated and comparison stores move together before the start?

    Examples
    --------
    >>> import pandas as pd
    >>> from cxlib.evaluation import EventStudyResult
    >>> es = EventStudyResult(metric="nps", table=pd.DataFrame(), ci_level=0.95, pre_trend_statistic=1.0,
    ...                       pre_trend_dof=6, pre_trend_p_value=0.62, method="CS")
    >>> pre_trend_reading([MetricEvaluation("nps", "NPS", "higher", (), es, ())])
    'Before the rollout, the stores that got the program and the comparison stores moved in step on NPS: the joint test of the 6 months before the start finds no difference (p = 0.620). The comparison is credible.'
    """
    from ..format import format_p

    tested = [ev for ev in evaluations if ev.event_study is not None
              and math.isfinite(ev.event_study.pre_trend_p_value)]
    if not tested:
        return "No pre-trend check could be made: the event study has no months before the start."
    drift = [ev for ev in tested if ev.event_study.pre_trend_p_value < alpha]
    ok = [ev for ev in tested if ev not in drift]
    months = int(max(ev.event_study.pre_trend_dof for ev in tested))
    ps = sorted(ev.event_study.pre_trend_p_value for ev in ok)
    out = []
    if ok:
        names = ", ".join(_label_in_sentence(ev.label) for ev in ok)
        span = format_p(ps[0]) if len(ps) == 1 else f"p from {format_p(ps[0], prefix=False)} to {format_p(ps[-1], prefix=False)}"
        out.append(f"Before the rollout, the stores that got the program and the comparison stores moved in step on "
                   f"{names}: the joint test of the {months} months before the start finds no difference ({span}). "
                   "The comparison is credible.")
    for ev in drift:
        out.append(f"On {_label_in_sentence(ev.label)} the two groups were already drifting apart before the start "
                   f"({format_p(ev.event_study.pre_trend_p_value)}): its effect is not credible as measured.")
    return " ".join(out)
