"""Deprecated: moved to :mod:`cxlib.sections.clv` (the notebook glue's one home); removed in the next release."""
from cxlib._deprecation import moved_module

__getattr__ = moved_module("cxlib.clv.report", "cxlib.sections.clv")
