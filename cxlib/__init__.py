"""cxlib: the helper library of the CX Workbook.

Importing cxlib has no side effects (no warning filters, no logging set-up).
"""
from __future__ import annotations

__version__ = "0.1.0"
