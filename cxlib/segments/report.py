"""Deprecated: moved to :mod:`cxlib.sections.segments` (the notebook glue's one home); removed in the next release."""
from cxlib._deprecation import moved_module

__getattr__ = moved_module("cxlib.segments.report", "cxlib.sections.segments")
