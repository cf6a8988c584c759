"""Deprecated: moved to :mod:`cxlib.sections.journeys` (the notebook glue's one home); removed in the next release."""
from cxlib._deprecation import moved_module

__getattr__ = moved_module("cxlib.journey.report", "cxlib.sections.journeys")
