"""Plots of the workbook: ``cxlib.plots.<module>.<name>(result_or_frame, *, ..., ax=None) -> Axes``.

One module per analysis (``cxlib.plots.voc`` for the voice of the customer); statistics are
computed in the analysis modules, never in a plot function.  Importing this package imports no
plotting backend.
"""
