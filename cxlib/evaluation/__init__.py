"""Program evaluation: did the CX program work, and by how much?

One module per design, every design returning an :class:`EffectResult` with
the same columns (:data:`EFFECT_COLUMNS`) so the estimates stack into one
comparison table:

- :func:`build_panel` (``panel.py``): a unit x period metric panel from the
  contract tables, with each store's first treated period from ``program_rollout``;
- :func:`before_after` and :func:`did` (``did.py``): the naive comparison,
  2x2 and two-way fixed-effects difference-in-differences;
- :func:`staggered_did` and :func:`event_study` (``staggered.py``): Callaway &
  Sant'Anna group-time effects for staggered rollouts, with a pre-trend test;
- :func:`its` (``its.py``): interrupted time series (segmented regression);
- :func:`structural_counterfactual` (``structural.py``): CausalImpact-style
  structural time-series counterfactual;
- :func:`synthetic_control` (``synthetic_control.py``): one treated unit,
  placebo-in-space inference, leave-one-out donors; its donor weights
  (outcome matching, or predictors with the nested V/W optimisation of
  Abadie, Diamond & Hainmueller 2010) in ``donor_weights.py``;
- :func:`verdict` (``verdict.py``): the plain-language sentence per metric.

Importing this package has no side effects.
"""
from __future__ import annotations

from ._result import (DESIGNS, EFFECT_COLUMNS, EVENT_STUDY_COLUMNS, EffectResult, EventStudyResult,
                      PreTrendWarning)
from .did import before_after, did
from .its import its
from .panel import PANEL_COLUMNS, PANEL_METRICS, build_panel
from .staggered import event_study, staggered_did
from .structural import structural_counterfactual
from .synthetic_control import synthetic_control
from .verdict import Verdict, verdict, verdict_table

__all__ = ["DESIGNS", "EFFECT_COLUMNS", "EVENT_STUDY_COLUMNS", "EffectResult", "EventStudyResult",
           "PreTrendWarning", "before_after", "did", "staggered_did", "event_study", "its",
           "structural_counterfactual", "synthetic_control", "build_panel", "PANEL_COLUMNS", "PANEL_METRICS",
           "Verdict", "verdict", "verdict_table"]
