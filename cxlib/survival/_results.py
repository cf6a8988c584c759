"""Result schemas of cxlib.survival: one column list per result kind."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from ..errors import ParameterError

#: Point estimates with uncertainty (median, survival at a horizon, RMST), one row per segment.
ESTIMATE_COLUMNS = ("metric", "segment", "horizon", "estimate", "se", "ci_lower", "ci_upper", "ci_level", "n",
                    "events", "method")
#: Hypothesis tests (log-rank, RMST difference), one row per comparison.
TEST_COLUMNS = ("metric", "comparison", "estimate", "se", "ci_lower", "ci_upper", "ci_level", "statistic", "dof",
                "p_value", "n", "method")


def check_alpha(alpha: float) -> float:
    if not 0 < alpha < 1:
        raise ParameterError(f"alpha={alpha!r} must lie strictly between 0 and 1 (0.05 gives 95% intervals).")
    return alpha


def columns(rows: list[dict], cols: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(cols))


@dataclass(frozen=True)
class SurvivalTest:
    """One test or comparison; ``to_frame()`` gives one row of :data:`TEST_COLUMNS`."""

    metric: str
    comparison: str
    estimate: float
    se: float
    ci_lower: float
    ci_upper: float
    ci_level: float
    statistic: float
    dof: float
    p_value: float
    n: float
    method: str

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(self)], columns=list(TEST_COLUMNS))


NAN = np.nan
