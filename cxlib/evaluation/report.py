"""Deprecated: moved to :mod:`cxlib.sections.evaluation` (the notebook glue's one home); removed in the next release."""
from cxlib._deprecation import moved_module

__getattr__ = moved_module("cxlib.evaluation.report", "cxlib.sections.evaluation")
