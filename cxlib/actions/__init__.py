"""Closing the loop: what changed, and what to do about it.

- :mod:`~cxlib.actions.alerts`: significant and practically large changes by segment, touchpoint and
  unit, with Benjamini-Hochberg or Holm control over the whole dashboard (:func:`metric_alerts`), and the
  simulation of its false-discovery rate (:func:`simulate_alert_fdr`);
- :mod:`~cxlib.actions.families`: the same rule over every metric family (survey, churn, SLA and
  resolution, journey conversion) adjusted together (:func:`dashboard_alerts`), and its false-discovery
  rate and power on mixed dashboards (:func:`simulate_dashboard_fdr`);
- :mod:`~cxlib.actions.lists`: CRM action lists (detractors with their comment's themes, members at risk
  ranked by value at stake, tickets past the SLA) with pseudonymized ids by default, their expected value,
  and atomic CSV export (:func:`build_action_lists`, :func:`write_action_lists`).
"""
from __future__ import annotations

from .alerts import (
                    ALERT_COLUMNS,
                    BETTER,
                    FDR_COLUMNS,
                    MIN_CHANGE,
                    AlertBoard,
                    FdrSimulation,
                    alert_findings,
                    attach_segments,
                    metric_alerts,
                    simulate_alert_fdr,
)
from .families import (
                    DASHBOARD_FDR_COLUMNS,
                    FAMILIES,
                    DashboardFdr,
                    dashboard_alerts,
                    family_outcomes,
                    simulate_dashboard_fdr,
)
from .lists import (
                    ID_POLICIES,
                    LIST_SUMMARY_COLUMNS,
                    ActionList,
                    add_segments,
                    apply_id_policy,
                    build_action_lists,
                    churn_risk_list,
                    detractor_list,
                    sla_breach_list,
                    write_action_lists,
)

__all__ = [
    "ALERT_COLUMNS", "MIN_CHANGE", "BETTER", "FDR_COLUMNS", "AlertBoard", "FdrSimulation", "attach_segments",
    "metric_alerts", "simulate_alert_fdr", "alert_findings",
    "FAMILIES", "DASHBOARD_FDR_COLUMNS", "DashboardFdr", "dashboard_alerts", "family_outcomes",
    "simulate_dashboard_fdr",
    "ID_POLICIES", "LIST_SUMMARY_COLUMNS", "ActionList", "apply_id_policy", "add_segments", "detractor_list",
    "churn_risk_list", "sla_breach_list", "build_action_lists", "write_action_lists",
]
