"""Deprecated: the analyses moved to :mod:`cxlib.significance.scorecard`, their display and findings to
:mod:`cxlib.sections.metrics`; removed in the next release."""
import importlib

from cxlib._deprecation import warn_deprecated


def __getattr__(name: str):
    for home in ("cxlib.significance.scorecard", "cxlib.sections.metrics"):
        module = importlib.import_module(home)
        if not name.startswith("__") and hasattr(module, name):
            warn_deprecated(f"cxlib.significance.review.{name}", f"{home}.{name}")
            return getattr(module, name)
    raise AttributeError(f"module 'cxlib.significance.review' has no attribute {name!r}")
