"""Result schemas of cxlib.survival: one column list per result kind."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd


#: Point estimates with uncertainty (median, survival at a horizon, RMST), one row per segment.
ESTIMATE_COLUMNS = ("metric", "segment", "horizon", "estimate", "se", "ci_lower", "ci_upper", "ci_level", "n",
                    "events", "method")
#: Survival tests (log-rank over k >= 2 segments, RMST difference), one row per test. Not the two-group
#: :data:`cxlib.significance.COMPARISON_COLUMNS`: a log-rank test of k segments has no ``group_a``/``group_b``
#: and no per-group estimates; ``estimate`` and ``se`` are the RMST difference where one exists.
SURVIVAL_TEST_COLUMNS = ("metric", "comparison", "estimate", "se", "ci_lower", "ci_upper", "ci_level", "statistic",
                         "dof", "p_value", "n", "method")


def columns(rows: list[dict], cols: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(cols))


@dataclass(frozen=True)
class SurvivalTest:
    """One survival test; ``to_frame()`` gives one row of :data:`SURVIVAL_TEST_COLUMNS`."""

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
        return pd.DataFrame([asdict(self)], columns=list(SURVIVAL_TEST_COLUMNS))


NAN = np.nan
