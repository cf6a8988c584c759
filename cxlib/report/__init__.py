"""The report pipeline: plan, execution, rendering and provenance.

- :mod:`cxlib.report.plan`: read a YAML report plan and validate every notebook
  parameter before anything runs.
- :mod:`cxlib.report.runner`: execute the notebooks with papermill (in parallel,
  with progress), keep failures, render and publish atomically.
- :mod:`cxlib.report.provenance`: what produced a report (code, packages,
  parameters, input hashes), saved as ``provenance.json`` and as an appendix.
- :mod:`cxlib.report.render`, :mod:`cxlib.report.tables`,
  :mod:`cxlib.report.scorecard`: turning executed notebooks into HTML and PDF.

Submodules are imported on demand; importing this package has no side effects
and loads neither papermill nor the renderers.
"""
from __future__ import annotations
