"""cxlib: the helper library of the CX Workbook.

In a notebook, start with the data, then the package of the question::

    import cxlib
    ds = cxlib.load("../data/default")     # = cxlib.data.load: validated tables, ds.<TAB> lists them
    cxlib.metrics.nps(ds.survey_responses)  # every result displays as a compact table

``cxlib.<TAB>`` lists the packages (``metrics``, ``significance``, ``journey``, ``survival``, ``clv``,
``evaluation``, ``voc``, ``segments``, ``actions``, ``plots``, ``sections``...); each is imported when first
used, so ``import cxlib`` stays quick. Importing cxlib has no side effects (no warning filters, no logging
set-up).
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: The packages and modules reachable as ``cxlib.<name>`` without importing them first.
SUBMODULES = ("actions", "clv", "data", "display", "engine", "errors", "evaluation", "findings", "format", "journey",
              "metrics", "periods", "plots", "privacy", "report", "schema", "sections", "segments", "significance",
              "stats", "survival", "synth", "voc")

__all__ = ["load", "SUBMODULES"]


def __getattr__(name: str) -> Any:
    """``cxlib.load`` (:func:`cxlib.data.load`) and the packages of :data:`SUBMODULES`, imported on first use."""
    if name == "load":
        return importlib.import_module(".data", __name__).load
    if name in SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'cxlib' has no attribute {name!r}; it has {', '.join(['load', *SUBMODULES])}")


def __dir__() -> list[str]:
    """What ``cxlib.<TAB>`` offers: ``load``, the packages and the version (no helper imports)."""
    return sorted({*(n for n in globals() if n.startswith("__")), "load", "SUBMODULES", *SUBMODULES})
