"""Plain-language verdicts: one sentence per metric that respects the design's uncertainty.

This is report-layer text: rounding and percent signs happen here, never in
the results.  A verdict claims a change only when the interval excludes zero;
otherwise it says the design cannot tell the effect from no effect.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from ..display import displayable
from ..errors import ParameterError, check_choice
from ._result import EffectResult

__all__ = ["Verdict", "verdict", "verdict_table", "VERDICT_COLUMNS"]

VERDICT_COLUMNS = ("metric", "design", "direction", "significant", "assessment", "text")

_DESIGN_NAMES = {"naive": "naive before/after comparison", "did_2x2": "difference-in-differences",
                 "twfe": "two-way fixed-effects difference-in-differences",
                 "staggered": "staggered difference-in-differences (Callaway & Sant'Anna)",
                 "its": "interrupted time series", "structural": "structural time-series counterfactual",
                 "synthetic_control": "synthetic control"}
_COMPARISON = {"naive": "the same stores before the program", "did_2x2": "comparable stores",
               "twfe": "comparable stores", "staggered": "stores not (yet) in the program",
               "its": "the pre-program trend", "structural": "the forecast without the program",
               "synthetic_control": "its synthetic control"}


@displayable()
@dataclass(frozen=True)
class Verdict:
    """The sentence and its ingredients.

    ``direction`` is "decrease", "increase" or "unclear"; ``assessment`` is
    "improved", "worsened", "no detectable change" or "change" (when no
    ``better`` direction was given).
    """

    metric: str
    design: str
    direction: str
    significant: bool
    assessment: str
    text: str

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([[getattr(self, c) for c in VERDICT_COLUMNS]], columns=list(VERDICT_COLUMNS))


def _pct(x: float) -> str:
    return f"{abs(100 * x):.0f}%" if abs(x) >= 0.0995 else f"{abs(100 * x):.1f}%"


def _signed_pct(x: float) -> str:
    return f"{100 * x:+.0f}%" if abs(x) >= 0.0995 else f"{100 * x:+.1f}%"


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.2g}" if p < 0.01 else f"p = {p:.2f}"


def verdict(result: EffectResult, *, label: str | None = None, better: Literal["higher", "lower", "neutral"] = "neutral",
            unit_name: str = "stores", comparison: str | None = None, value_unit: str = "") -> Verdict:
    """One plain-language sentence about a program effect.

    Parameters
    ----------
    result : EffectResult
        Any design's result.
    label : str, optional
        What the metric is called in the sentence (default ``result.metric``).
    better : {"higher", "lower", "neutral"}
        Which direction is good news (adds "an improvement" / "a deterioration").
    unit_name : str
        Plural noun for the units ("stores").
    comparison : str, optional
        What the effect is relative to (default depends on the design, e.g.
        "comparable stores" for difference-in-differences).
    value_unit : str
        Unit for absolute effects, used when no relative effect exists.

    Returns
    -------
    Verdict

    Notes
    -----
    Significance is read from the interval (the relative one when present):
    a change is claimed only if it excludes zero; for designs without an
    interval the p-value against ``1 - ci_level`` decides.  Percentages are
    rounded to whole percent (one decimal below 10 %).

    Examples
    --------
    >>> from cxlib.evaluation import EffectResult
    >>> r = EffectResult(metric="complaint_rate", design="staggered", estimate=-3.1, ci_lower=-4.0,
    ...                  ci_upper=-2.2, p_value=0.0001, relative_estimate=-0.28, relative_ci_lower=-0.35,
    ...                  relative_ci_upper=-0.21, n_units=40, n_treated=30, method="CS")
    >>> verdict(r, label="Complaints per 1,000 customers", better="lower").text
    "Complaints per 1,000 customers fell 28% (95% CI 21% to 35%) relative to stores not (yet) in the program, an improvement (staggered difference-in-differences (Callaway & Sant'Anna); 40 stores, 30 treated; p < 0.001)."
    >>> import dataclasses
    >>> noisy = dataclasses.replace(r, p_value=0.4, relative_ci_lower=-math.inf, relative_ci_upper=math.inf)
    >>> verdict(noisy, label="Complaints").text
    "Complaints: no change distinguishable from zero relative to stores not (yet) in the program (estimate -28%, 95% CI unbounded; staggered difference-in-differences (Callaway & Sant'Anna); 40 stores, 30 treated; p = 0.40)."
    """
    if not isinstance(result, EffectResult):
        raise ParameterError(f"verdict() needs an EffectResult; got {type(result).__name__}.")
    better = check_choice("better", better, ["higher", "lower", "neutral"])
    label = label or result.metric
    comparison = comparison or _COMPARISON[result.design]
    level = f"{100 * result.ci_level:g}% CI"
    rel = not math.isnan(result.relative_estimate)
    est, lo, hi = ((result.relative_estimate, result.relative_ci_lower, result.relative_ci_upper) if rel
                   else (result.estimate, result.ci_lower, result.ci_upper))
    has_ci = not (math.isnan(lo) or math.isnan(hi))
    if has_ci:
        significant = bool(lo > 0 or hi < 0)
    else:
        significant = bool(result.significant)
    direction = "decrease" if est < 0 else "increase" if est > 0 else "unclear"
    stats_txt = f"{_DESIGN_NAMES[result.design]}; {result.n_units} {unit_name}"
    if result.n_treated and result.n_treated != result.n_units:
        stats_txt += f", {result.n_treated} treated"
    if not math.isnan(result.p_value):
        stats_txt += f"; {_p(result.p_value)}"

    def fmt(x: float) -> str:
        return _pct(x) if rel else f"{abs(x):.3g}{(' ' + value_unit) if value_unit else ''}"

    if significant:
        verb = "fell" if direction == "decrease" else "rose"
        if has_ci:
            a, b = sorted([abs(lo), abs(hi)])
            ci = f" ({level} {fmt(a if lo * hi > 0 else lo)} to {fmt(b if lo * hi > 0 else hi)})"
        else:
            ci = ""
        good = (better == "lower") == (direction == "decrease")
        assessment = "change" if better == "neutral" else "improved" if good else "worsened"
        tail = "" if better == "neutral" else (", an improvement" if good else ", a deterioration")
        text = f"{label} {verb} {fmt(est)}{ci} relative to {comparison}{tail} ({stats_txt})."
    else:
        assessment = "no detectable change"
        unbounded = has_ci and (math.isinf(lo) or math.isinf(hi))
        shown = (f"{_signed_pct(est)}, {level} unbounded" if rel and unbounded
                 else f"{_signed_pct(est)}, {level} {_signed_pct(lo)} to {_signed_pct(hi)}" if rel and has_ci
                 else f"{_signed_pct(est)}" if rel else f"{est:+.3g}")
        text = (f"{label}: no change distinguishable from zero relative to {comparison} "
                f"(estimate {shown}; {stats_txt}).")
    return Verdict(metric=result.metric, design=result.design, direction=direction, significant=significant,
                   assessment=assessment, text=text)


def verdict_table(results: list[EffectResult], *, labels: dict[str, str] | None = None,
                  better: dict[str, str] | None = None, unit_name: str = "stores") -> pd.DataFrame:
    """Verdicts of several results as a table with the columns of :data:`VERDICT_COLUMNS`.

    >>> verdict_table([]).columns.tolist()
    ['metric', 'design', 'direction', 'significant', 'assessment', 'text']
    """
    labels, better = labels or {}, better or {}
    rows = [verdict(r, label=labels.get(r.metric), better=better.get(r.metric, "neutral"),
                    unit_name=unit_name).to_frame() for r in results]
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=list(VERDICT_COLUMNS))
