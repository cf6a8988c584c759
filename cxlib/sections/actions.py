"""Glue for the "what changed and what to do" page: the list overview and the action findings."""
from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from ..findings import Finding
from ..privacy import PseudonymKeyWarning, pseudonymize
from ..stats import z_value
from ..actions.alerts import AlertBoard
from ..actions.families import DashboardFdr
from ..actions.lists import ActionList

__all__ = ["list_overview", "action_findings", "theme_counts", "risk_by_customer", "without_key_warning",
           "ALERT_TABLE_COLUMNS", "alert_table", "dashboard_reading", "fdr_findings"]

#: Columns of :func:`alert_table`: what an alert is, its evidence (estimate, CI, raw and adjusted p, n) and method.
ALERT_TABLE_COLUMNS = ("kind", "family", "segment_column", "segment", "metric", "direction", "estimate",
                       "reference_estimate", "change", "ci_lower", "ci_upper", "p_value", "p_adjusted", "n", "n_reference", "method")


def without_key_warning(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, bool]:
    """Call ``fn`` and return ``(result, keyless)``: whether pseudonyms used the public fallback key.

    The :class:`~cxlib.privacy.PseudonymKeyWarning` becomes the flag (the report states it in one sentence
    instead of a warning block); every other warning is re-issued unchanged.

    >>> without_key_warning(lambda x: x + 1, 1)
    (2, False)
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn(*args, **kwargs)
    keyless = False
    for w in caught:
        if issubclass(w.category, PseudonymKeyWarning):
            keyless = True
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return result, keyless


def risk_by_customer(churn_list: ActionList, customer_ids: pd.Index) -> pd.Series:
    """Churn probability per customer id, NaN for non-members, from a list with either id policy.

    Pseudonymized lists are matched through the same keyed pseudonyms, so the real ids never leave memory.

    >>> item = ActionList(name="churn_risk", frame=pd.DataFrame({"customer_id": ["C1"], "churn_probability": [0.3]}),
    ...                   ids="real")
    >>> risk_by_customer(item, pd.Index(["C1", "C2"])).tolist()
    [0.3, nan]
    """
    frame = churn_list.frame
    if churn_list.ids == "real":
        prob = frame.set_index("customer_id")["churn_probability"]
        return pd.Series(prob.reindex(customer_ids).to_numpy(), index=customer_ids, name="churn_probability")
    prob = frame.set_index("customer_pseudonym")["churn_probability"]
    keys = pseudonymize(pd.Series(customer_ids, index=customer_ids))
    return pd.Series(prob.reindex(keys.to_numpy()).to_numpy(), index=customer_ids, name="churn_probability")

SECTION = "segments"


def list_overview(lists: Mapping[str, ActionList]) -> pd.DataFrame:
    """One row per list: rows, id policy, expected value with interval, unit and the assumption behind it.

    >>> from cxlib.actions.lists import ActionList
    >>> list_overview({"x": ActionList(name="x", frame=pd.DataFrame({"a": [1, 2]}), ids="real")})[["list", "rows"]]
      list  rows
    0    x     2
    """
    return pd.concat([item.to_frame() for item in lists.values()], ignore_index=True)


def theme_counts(detractors: ActionList) -> pd.DataFrame:
    """How many listed detractors mention each theme (a comment may mention several): ``theme, n, share``.

    >>> from cxlib.actions.lists import ActionList
    >>> theme_counts(ActionList(name="detractors", frame=pd.DataFrame({"themes": ["price; staff", "price", ""]}),
    ...                         ids="real")).values.tolist()
    [['price', 2, 0.6666666666666666], ['staff', 1, 0.3333333333333333], ['no comment', 1, 0.3333333333333333]]
    """
    themes = detractors.frame["themes"].fillna("").replace("", "no comment").str.split("; ").explode()
    n = len(detractors.frame)
    counts = themes.value_counts(sort=False)
    out = pd.DataFrame({"theme": counts.index, "n": counts.to_numpy()})
    out["share"] = out["n"] / n if n else math.nan
    out["_last"] = out["theme"].isin(["no comment", "none"])
    out = out.sort_values(["_last", "n", "theme"], ascending=[True, False, True], kind="stable")
    return out.drop(columns="_last").reset_index(drop=True)


def action_findings(lists: Mapping[str, ActionList], *, period: str) -> list[Finding]:
    """One finding per list: its size, with the expected value of acting in ``detail`` and, when valued, a
    second finding for the expected value with its interval.

    >>> from cxlib.actions import ActionList
    >>> lst = ActionList(name="churn_risk", frame=pd.DataFrame({"customer_pseudonym": ["P1", "P2"]}),
    ...                  ids="pseudonymized", expected_value=120.0, ci_lower=80.0, ci_upper=160.0, ci_level=0.95,
    ...                  value_unit="EUR", assumption="20% saved", method="Cox risk x CLV")
    >>> [(f.key, f.estimate) for f in action_findings({"churn_risk": lst}, period="2025Q4")]
    [('action_churn_risk_rows', 2.0), ('action_churn_risk_value', 120.0)]
    """
    out = []
    for name, item in lists.items():
        out.append(Finding(key=f"action_{name}_rows", section=SECTION, label=f"Action list {name.replace('_', ' ')}: "
                           "customers or tickets to act on", estimate=float(len(item.frame)), method=item.method,
                           unit="rows", period=period, better="lower", detail=f"ids: {item.ids}"))
        if item.value_unit and math.isfinite(item.expected_value):
            out.append(Finding(key=f"action_{name}_value", section=SECTION,
                               label=f"Expected value of acting on the {name.replace('_', ' ')} list",
                               estimate=float(item.expected_value), ci_lower=float(item.ci_lower),
                               ci_upper=float(item.ci_upper), ci_level=float(item.ci_level),
                               n=float(len(item.frame)), method=item.method, unit=item.value_unit, better="higher",
                               period=period, detail=f"assumption: {item.assumption}"))
    return out


def alert_table(*boards: AlertBoard) -> pd.DataFrame:
    """The alerts of several boards stacked, worst news first within each board (:data:`ALERT_TABLE_COLUMNS`).

    >>> alert_table().columns[:4].tolist()
    ['kind', 'family', 'segment_column', 'segment']
    """
    parts = [b.alerts.reindex(columns=list(ALERT_TABLE_COLUMNS)) for b in boards]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(ALERT_TABLE_COLUMNS))


def dashboard_reading(*boards: AlertBoard, simulation: DashboardFdr, alpha: float) -> str:
    """The boards' readings and the simulated false-discovery rate and power of the rule, in plain sentences."""
    sim = simulation.to_frame().set_index("family")
    every = sim.loc["all"]
    return (" ".join(b.reading() for b in boards)
            + f" Check of the rule: over {simulation.dashboards} simulated dashboards of {int(every['cells'])} cells "
              f"of every family (10% of the cells truly moved), the share of false alerts among alerts was "
              f"{simulation.fdr:.3f} (Monte Carlo SE {simulation.fdr_se:.3f}; target at most {alpha:g}) and "
              f"{simulation.power:.0%} of the real moves were caught.")


def fdr_findings(simulation: DashboardFdr, *, period: str, alpha: float = 0.05) -> list[Finding]:
    """The simulated false-discovery rate of the alert rule, with its Monte Carlo interval, as a finding.

    >>> import numpy as np
    >>> from cxlib.actions import simulate_dashboard_fdr
    >>> f = fdr_findings(simulate_dashboard_fdr(dashboards=50, rng=np.random.default_rng(0)), period="2025Q4")[0]
    >>> f.key, f.n, f.ci_lower <= f.estimate <= f.ci_upper
    ('alerts_fdr', 50.0, True)
    """
    z = z_value(alpha)
    return [Finding(key="alerts_fdr", section=SECTION,
                    label="False-discovery rate of the alert rule on simulated dashboards (target at most alpha)",
                    estimate=simulation.fdr, ci_lower=max(0.0, simulation.fdr - z * simulation.fdr_se),
                    ci_upper=simulation.fdr + z * simulation.fdr_se, ci_level=1 - alpha, n=float(simulation.dashboards),
                    method=simulation.method, unit="share", better="lower", period=period,
                    detail=f"Monte Carlo normal interval; power {simulation.power:.3f} (share of truly moved cells "
                           f"alerted); family-wise error {simulation.fwer:.3f}")]
