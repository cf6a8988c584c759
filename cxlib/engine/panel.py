"""Deprecated: moved to :mod:`cxlib.evaluation.scale` (the evaluation module's scale path); removed in the next
release."""
from cxlib._deprecation import moved_names

#: Names now in :mod:`cxlib.evaluation.scale`.
_MOVED = ("metric_panel", "panel_cells_sql", "unit_period_summary", "unit_period_sql", "SUMMARY_COLUMNS")

__getattr__ = moved_names("cxlib.engine.panel", "cxlib.evaluation.scale", _MOVED)
