"""Deprecated: moved to :mod:`cxlib.sections.churn` (the notebook glue's one home); removed in the next release."""
from cxlib._deprecation import moved_module

__getattr__ = moved_module("cxlib.survival.report", "cxlib.sections.churn")
