"""Fail points: touchpoints after which journeys are abandoned, or customers are unhappy, more than elsewhere."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..display import displayable
from ..errors import DataContractError, ParameterError, check_choice
from ..stats import (
    check_alpha,
    cohens_h,
    fdr_bh,
    holm,
    newcombe_interval,
    pooled_z_test,
)
from .bysegment import by_segment, journey_split
from .sessions import Journeys, _interval, _timedelta, as_journeys

__all__ = ["FailPoints", "fail_points", "FAIL_COLUMNS", "FAIL_OUTCOMES"]

FAIL_OUTCOMES = ("abandonment", "low_csat", "detractor", "complaint")
#: Columns of :meth:`FailPoints.to_frame`, in order.
FAIL_COLUMNS = ("rank", "touchpoint", "outcome", "n_exposed", "events_exposed", "rate_exposed", "n_other",
                "events_other", "rate_other", "risk_difference", "ci_lower", "ci_upper", "ci_level", "risk_ratio",
                "effect_size", "statistic", "p_value", "p_holm", "p_bh", "significant", "method")

_UNITS = {"abandonment": "visits of the touchpoint (event: the journey ends there without conversion)",
          "low_csat": "survey responses after a journey (event: CSAT <= {low})",
          "detractor": "survey responses after a journey (event: NPS 0-6)",
          "complaint": "journeys (event: a complaint ticket opened within {within} after the journey)"}


@displayable(tables=("table",))
@dataclass(frozen=True)
class FailPoints:
    """Touchpoints ranked by how much worse the outcome is after them; columns :data:`FAIL_COLUMNS`.

    Rank 1 is the significant touchpoint (after multiple-testing control) with the largest risk
    difference; non-significant touchpoints follow, also by risk difference.
    """

    table: pd.DataFrame
    outcome: str
    correction: str
    ci_level: float

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    @property
    def top(self) -> str | None:
        """The first-ranked touchpoint if it is significant, else None."""
        first = self.table.iloc[0] if len(self.table) else None
        return str(first["touchpoint"]) if first is not None and bool(first["significant"]) else None


def _table_ref(js: Journeys, data: Any, cols: tuple[str, ...], what: str) -> str:
    if isinstance(data, str):
        ref = data if data.startswith('"') else f'"{data}"'
    elif isinstance(data, pd.DataFrame):
        ref = js.backend.register(data, what)
    else:
        raise ParameterError(f"{what}= must be a DataFrame or the name of a table in the journeys' DuckDB connection.")
    have = js.backend.columns(ref)
    missing = [c for c in cols if c not in have]
    if missing:
        raise DataContractError(f"The {what} table lacks column(s) {missing}; found {have}.", table=what,
                                column=missing[0], rule="required column")
    return ref


def _counts_sql(js: Journeys, outcome: str, surveys: Any, tickets: Any, within: pd.Timedelta,
                low_csat: int) -> str:
    """SQL giving the units: one row per unit with ``bad`` (0/1), ``w`` (weight) and ``tps`` (touchpoint list)."""
    t = js.table
    if outcome == "abandonment":
        return f"""SELECT (last AND outcome = 'abandonment')::INT AS bad, weight AS w, [tp] AS tps FROM (
  SELECT weight, outcome, unnest(path) AS tp, unnest(generate_series(1, len(path))) = len(path) AS last
  FROM {t} WHERE outcome != 'censored')"""
    if not js.has_times:
        raise ParameterError(f"outcome={outcome!r} links journeys to surveys or tickets by time; these journeys "
                             "come from path counts without times.")
    win = _interval(within)
    if outcome in ("low_csat", "detractor"):
        if surveys is None:
            raise ParameterError(f"outcome={outcome!r} needs surveys= (the survey_responses table).")
        col = "csat" if outcome == "low_csat" else "nps"
        ref = _table_ref(js, surveys, ("customer_id", "responded_at", col), "survey_responses")
        bad = f"(r.csat <= {int(low_csat)})" if outcome == "low_csat" else "(r.nps <= 6)"
        return f"""SELECT {bad}::INT AS bad, 1 AS w, list_distinct(j.touchpoints) AS tps
FROM (SELECT CAST(customer_id AS VARCHAR) AS customer_id, CAST(responded_at AS TIMESTAMP) AS responded_at, {col}
      FROM {ref} WHERE {col} IS NOT NULL) r
ASOF JOIN {t} j ON r.customer_id = j.customer_id AND r.responded_at >= j.ended_at
WHERE r.responded_at <= j.ended_at + {win}"""
    if tickets is None:
        raise ParameterError("outcome='complaint' needs tickets= (the tickets table).")
    ref = _table_ref(js, tickets, ("customer_id", "opened_at", "ticket_type"), "tickets")
    return f"""SELECT max(CASE WHEN k.opened_at IS NOT NULL THEN 1 ELSE 0 END) AS bad, any_value(j.weight) AS w,
       list_distinct(any_value(j.touchpoints)) AS tps
FROM {t} j LEFT JOIN (SELECT CAST(customer_id AS VARCHAR) AS customer_id, CAST(opened_at AS TIMESTAMP) AS opened_at
                      FROM {ref} WHERE ticket_type = 'complaint') k
  ON k.customer_id = j.customer_id AND k.opened_at >= j.ended_at AND k.opened_at <= j.ended_at + {win}
WHERE j.outcome != 'censored' GROUP BY j.journey_id"""


@journey_split
def fail_points(journeys: Any, *, outcome: Literal["abandonment", "low_csat", "detractor", "complaint"] = "abandonment",
                surveys: Any = None, tickets: Any = None, within: str | pd.Timedelta = "7D", low_csat: int = 2,
                alternative: Literal["greater", "two-sided"] = "greater",
                correction: Literal["holm", "bh"] = "holm", alpha: float = 0.05,
                segment: str | None = None, segments: Any = None) -> FailPoints:
    """Rank touchpoints by how much more often a bad outcome follows them than follows the others.

    Per segment: ``by_segment(fail_points, journeys, segment=..., segments=...)``, a
    :class:`~cxlib.journey.BySegment` (:func:`cxlib.journey.by_segment`; ``by=`` here is deprecated).

    Parameters
    ----------
    journeys : Journeys or events
    outcome : {"abandonment", "low_csat", "detractor", "complaint"}
        ``abandonment``: a visit of the touchpoint is the journey's last step and the journey was
        abandoned (censored journeys left out).  ``low_csat`` / ``detractor``: a survey response
        within ``within`` after a journey (the latest one before it, by ``ASOF JOIN``) is CSAT
        ``<= low_csat`` / NPS 0-6; a response is exposed to every touchpoint of that journey.
        ``complaint``: a complaint ticket is opened within ``within`` after the journey.
    surveys, tickets : DataFrame or str
        The ``survey_responses`` / ``tickets`` tables (frames, or table names in the journeys'
        DuckDB connection such as those of ``Dataset.connection()``).
    within : duration
        Linking window after the journey's last event.
    low_csat : int
        Highest CSAT counted as low (2: bottom-2-box on the 1-5 scale).
    alternative : {"greater", "two-sided"}
        "greater" (default) tests whether the outcome is *more* frequent after the touchpoint.
    correction : {"holm", "bh"}
        Which adjusted p-value decides ``significant``: Holm (family-wise error) or
        Benjamini-Hochberg (false discovery rate).  Both are reported.
    alpha : float
        Significance level and 1 - confidence level.

    Returns
    -------
    FailPoints

    Notes
    -----
    For touchpoint ``t`` the units exposed to ``t`` (``n1`` with ``k1`` bad outcomes) are compared
    with all other units (``n0``, ``k0``): risk difference ``k1/n1 - k0/n0`` with the Newcombe (1998)
    interval, risk ratio, Cohen's h, pooled two-proportion z-test; p-values are adjusted across
    touchpoints by Holm (1979) and Benjamini & Hochberg (1995).  For survey and ticket outcomes a
    unit can be exposed to several touchpoints, so "others" means units whose journey did not
    contain ``t``.

    Examples
    --------
    >>> from cxlib.journey import from_paths
    >>> js = from_paths(pd.DataFrame({"path": ["a > b", "a > w", "w > b", "a"],
    ...                               "conversions": [50, 5, 20, 30], "nulls": [10, 45, 30, 10]}))
    >>> fp = fail_points(js)
    >>> fp.top, fp.to_frame()["touchpoint"].tolist()
    ('w', ['w', 'b', 'a'])
    """
    if segment is not None:
        def run(j: Journeys) -> Any:
            return fail_points(
                j, outcome=outcome, surveys=surveys, tickets=tickets, within=within, low_csat=low_csat,
                alternative=alternative, correction=correction, alpha=alpha)
        return by_segment(run, journeys, segment, segments)
    check_alpha(alpha)
    check_choice("outcome", outcome, FAIL_OUTCOMES)
    check_choice("alternative", alternative, ("greater", "two-sided"))
    check_choice("correction", correction, ("holm", "bh"))
    js = as_journeys(journeys)
    win = _timedelta(within, "within")
    units = _counts_sql(js, outcome, surveys, tickets, win, low_csat)
    c = js.backend.df(f"""WITH u AS ({units}),
tot AS (SELECT sum(w)::DOUBLE AS n, sum(w * bad)::DOUBLE AS k FROM u)
SELECT e.tp AS touchpoint, e.n1, e.k1, tot.n - e.n1 AS n0, tot.k - e.k1 AS k0 FROM
  (SELECT tp, sum(w)::DOUBLE AS n1, sum(w * bad)::DOUBLE AS k1 FROM (SELECT w, bad, unnest(tps) AS tp FROM u) GROUP BY tp) e
  CROSS JOIN tot ORDER BY e.tp""")
    if c.empty:
        raise DataContractError(f"No unit to test for outcome {outcome!r} (no journey linked to the outcome data).",
                                rule="non-empty table")
    n1, k1, n0, k0 = (c[x].to_numpy(float) for x in ("n1", "k1", "n0", "k0"))
    with np.errstate(invalid="ignore", divide="ignore"):
        r1, r0 = k1 / n1, k0 / n0
        rr = r1 / r0
    z, p = pooled_z_test(k1, n1, k0, n0, alternative=alternative, zero_variance="no_difference")
    lo, hi = newcombe_interval(k1, n1, k0, n0, alpha=alpha)
    p_holm, p_bh = holm(p), fdr_bh(p)
    decide = p_holm if correction == "holm" else p_bh
    out = pd.DataFrame({"touchpoint": c["touchpoint"], "outcome": outcome, "n_exposed": n1, "events_exposed": k1,
                        "rate_exposed": r1, "n_other": n0, "events_other": k0, "rate_other": r0,
                        "risk_difference": r1 - r0, "ci_lower": lo, "ci_upper": hi, "ci_level": 1 - alpha,
                        "risk_ratio": rr, "effect_size": cohens_h(r1, r0), "statistic": z, "p_value": p,
                        "p_holm": p_holm, "p_bh": p_bh, "significant": (decide < alpha) & (r1 > r0)})
    out = out.sort_values(["significant", "risk_difference", "touchpoint"], ascending=[False, False, True],
                          kind="mergesort").reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    unit = _UNITS[outcome].format(low=low_csat, within=win)
    out["method"] = (f"units: {unit}; pooled two-proportion z-test ({alternative}) against all other units, "
                     f"Holm and Benjamini-Hochberg adjusted ({correction} decides); risk difference with Newcombe CI; "
                     "effect size Cohen's h")
    return FailPoints(table=out[list(FAIL_COLUMNS)], outcome=outcome, correction=correction, ci_level=1 - alpha)
