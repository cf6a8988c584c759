"""The report pipeline: plan, execution, rendering and provenance.

- :mod:`cxlib.report.plan`: read a YAML report plan and validate every notebook
  parameter before anything runs.
- :mod:`cxlib.report.runner`: the orchestrator (:func:`~cxlib.report.runner.run_plan`): validate,
  execute, render, publish; one module per concern below it:
  :mod:`cxlib.report.kernels` (the project's Jupyter kernel, memory release),
  :mod:`cxlib.report.execution` (papermill runs, progress, the parallel scheduler),
  :mod:`cxlib.report.cache` (the per-notebook run cache and the validate-once stamp),
  :mod:`cxlib.report.publishing` (run lock, ``_failed/``, the atomic publish through
  :func:`cxlib._fs.replace_folder`).
- :mod:`cxlib.report.provenance`: what produced a report (code, packages,
  parameters, input hashes), saved as ``provenance.json`` and as an appendix.
- :mod:`cxlib.report.render`, :mod:`cxlib.report.tables`,
  :mod:`cxlib.report.scorecard`: turning executed notebooks into HTML and PDF
  (:mod:`cxlib.report.quarto`: what the Quarto route needs).

Submodules are imported on demand; importing this package has no side effects
and loads neither papermill nor the renderers.
"""
from __future__ import annotations
