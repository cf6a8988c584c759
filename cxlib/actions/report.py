"""Deprecated: moved to :mod:`cxlib.sections.actions` (the notebook glue's one home); removed in the next release."""
from cxlib._deprecation import moved_module

__getattr__ = moved_module("cxlib.actions.report", "cxlib.sections.actions")
