"""Result schemas of cxlib.survival: one column list per result kind."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from .._deprecation import renamed_fields
from ..display import displayable


#: Point estimates with uncertainty (median, survival at a horizon, RMST), one row per segment.
ESTIMATE_COLUMNS = ("metric", "segment", "horizon", "estimate", "se", "ci_lower", "ci_upper", "ci_level", "n",
                    "events", "method")
#: Survival tests (log-rank over k >= 2 segments, RMST difference), one row per test.  The columns it shares
#: with the two-group :data:`cxlib.significance.COMPARISON_COLUMNS` mean the same (``group_a``/``group_b`` the
#: compared segments, ``difference = a - b``, ``ci_lower``/``ci_upper``, ``statistic``, ``dof``, ``p_value``,
#: ``method``); a log-rank test of k segments has no ``group_a``/``group_b`` (None) and no difference (NaN);
#: ``se`` is the difference's standard error and ``n`` the subjects of both (all) segments.
SURVIVAL_TEST_COLUMNS = ("metric", "comparison", "group_a", "group_b", "difference", "se", "ci_lower", "ci_upper",
                         "ci_level", "statistic", "dof", "p_value", "n", "method")


def columns(rows: list[dict], cols: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(cols))


@displayable()
@renamed_fields(estimate="difference")
@dataclass(frozen=True)
class SurvivalTest:
    """One survival test; ``to_frame()`` gives one row of :data:`SURVIVAL_TEST_COLUMNS`.

    ``difference`` (old name ``estimate``, a deprecated alias) is ``a - b`` for a two-segment test (NaN for
    the log-rank test of k segments); ``group_a``/``group_b`` name the two segments (None for log-rank).
    """

    metric: str
    comparison: str
    difference: float
    se: float
    ci_lower: float
    ci_upper: float
    ci_level: float
    statistic: float
    dof: float
    p_value: float
    n: float
    method: str
    group_a: str | None = None
    group_b: str | None = None

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(self)], columns=list(SURVIVAL_TEST_COLUMNS))


NAN = np.nan
