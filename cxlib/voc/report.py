"""Deprecated: moved to :mod:`cxlib.sections.voc` (the notebook glue's one home); removed in the next release."""
from cxlib._deprecation import moved_module

__getattr__ = moved_module("cxlib.voc.report", "cxlib.sections.voc")
