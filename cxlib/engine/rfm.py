"""Deprecated: moved to :mod:`cxlib.clv.scale` (the CLV module's scale path); removed in the next release.

``rfm_summary`` is now :func:`cxlib.clv.scale.rfm_summary_table`.
"""
from cxlib._deprecation import moved_names

#: Old name -> name in :mod:`cxlib.clv.scale`.
_MOVED = {"rfm_sql": "rfm_sql", "rfm_summary": "rfm_summary_table"}

__getattr__ = moved_names("cxlib.engine.rfm", "cxlib.clv.scale", _MOVED)
