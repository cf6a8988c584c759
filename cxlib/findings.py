"""Key results recorded by notebooks in a machine-readable sidecar.

Each analysis notebook records its headline numbers with :func:`record`; the
executive-summary notebook reads them back with :func:`read` and writes the
headline sentences from the actual numbers, never from hard-coded text.

The sidecar is one JSON file per notebook (``<build>/findings/<notebook>.json``),
written atomically so that a crashed notebook never leaves half a file.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from .errors import ParameterError

Direction = Literal["higher", "lower", "neutral"]

FINDING_COLUMNS = ("key", "section", "label", "estimate", "ci_lower", "ci_upper", "ci_level",
                   "p_value", "n", "method", "unit", "better", "period", "comparison", "detail")


@dataclass(frozen=True)
class Finding:
    """One headline result with its uncertainty.

    ``estimate`` is at full precision; rounding belongs to the report layer.
    ``better`` says which direction is good news for the business ("higher" for
    NPS, "lower" for complaints), so summaries can say "improved"/"worsened".
    """

    key: str
    section: str
    label: str
    estimate: float
    method: str
    ci_lower: float = math.nan
    ci_upper: float = math.nan
    ci_level: float = 0.95
    p_value: float = math.nan
    n: float = math.nan
    unit: str = ""
    better: Direction = "neutral"
    period: str = ""
    comparison: str = ""
    detail: str = ""

    def __post_init__(self) -> None:
        if self.better not in ("higher", "lower", "neutral"):
            raise ParameterError(f"better={self.better!r} is not allowed; choose 'higher', 'lower' or 'neutral'.")
        if not self.key or not self.section:
            raise ParameterError("A finding needs a non-empty key and section.")

    @property
    def significant(self) -> bool | None:
        """True/False against 1 - ci_level, or None when no p-value was recorded."""
        if self.p_value is None or math.isnan(self.p_value):
            return None
        return bool(self.p_value < 1 - self.ci_level)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(self)], columns=list(FINDING_COLUMNS))


def _clean(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"  # an unbounded interval end; strict JSON has no infinity
    if hasattr(value, "item"):  # numpy scalar
        return _clean(value.item())
    return value


def record(path: str | os.PathLike | None, finding: Finding) -> Finding:
    """Add or replace ``finding`` (by key) in the sidecar at ``path``; return it.

    ``path=None`` records nothing (a notebook opened by hand in JupyterLab).
    """
    if path is None or str(path) == "":
        return finding
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    existing = [f for f in read(path) if f.key != finding.key] if path.exists() else []
    rows = [{k: _clean(v) for k, v in asdict(f).items()} for f in [*existing, finding]]
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".findings-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(rows, fh, indent=1, sort_keys=True, allow_nan=False)
    os.chmod(tmp, 0o644)  # mkstemp creates 0600; sidecars are ordinary report files
    os.replace(tmp, path)
    return finding


_NUMERIC = ("estimate", "ci_lower", "ci_upper", "ci_level", "p_value", "n")


def read(path: str | os.PathLike) -> list[Finding]:
    """Read the findings of one sidecar file, or of every ``*.json`` in a folder (sorted by file name)."""
    path = Path(path)
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    names = {f.name for f in fields(Finding)}
    out: list[Finding] = []
    for file in files:
        for row in json.loads(file.read_text(encoding="utf-8")):
            row = {k: (math.nan if v is None and k not in ("key", "section", "label", "method") else v)
                   for k, v in row.items() if k in names}
            row.update({k: float(row[k]) for k in _NUMERIC if row.get(k) in ("inf", "-inf")})
            out.append(Finding(**row))
    return out


def to_frame(findings: list[Finding]) -> pd.DataFrame:
    """All findings as one tidy table with the columns of ``FINDING_COLUMNS``."""
    if not findings:
        return pd.DataFrame(columns=list(FINDING_COLUMNS))
    return pd.concat([f.to_frame() for f in findings], ignore_index=True)
