"""Log-rank and multivariate log-rank tests (through lifelines)."""
from __future__ import annotations

import numpy as np
import pandas as pd
from lifelines.statistics import multivariate_logrank_test

from .._deprecation import renamed_arguments
from ..errors import ParameterError
from ._results import SurvivalTest


@renamed_arguments(group_col="segment")
def logrank_test(data: pd.DataFrame, *, segment: str, duration_col: str = "duration",
                 event_col: str = "event") -> SurvivalTest:
    """Log-rank test of equal survival across the segments of column ``segment`` (k >= 2, k - 1 dof).

    ``group_col`` is the deprecated old name of ``segment``.

    Notes
    -----
    :math:`\\chi^2 = (O - E)^T V^{-1} (O - E)` over the first k-1 groups, with
    observed and expected events summed over the distinct event times
    (Mantel 1966; Peto & Peto 1972); this is R's ``survdiff(Surv(t, e) ~ g)``.
    Computed by :func:`lifelines.statistics.multivariate_logrank_test`.

    Examples
    --------
    >>> d = pd.DataFrame({"duration": [1, 2, 3, 4, 5, 6, 7, 8], "event": [1] * 8, "g": list("aaaabbbb")})
    >>> round(logrank_test(d, segment="g").p_value, 4)
    0.0067
    """
    for c in (segment, duration_col, event_col):
        if c not in data.columns:
            raise ParameterError(f"data lacks column {c!r}; it has {list(data.columns)}.")
    groups = data[segment].astype(str)
    k = groups.nunique()
    if k < 2:
        raise ParameterError(f"{segment!r} has {k} segment(s); the log-rank test needs at least 2.")
    res = multivariate_logrank_test(data[duration_col], groups, data[event_col])
    return SurvivalTest(metric="logrank", comparison=" vs ".join(sorted(groups.unique())), difference=np.nan,
                        se=np.nan, ci_lower=np.nan, ci_upper=np.nan, ci_level=np.nan,
                        statistic=float(res.test_statistic), dof=float(k - 1), p_value=float(res.p_value),
                        n=float(len(data)), method="log-rank (multivariate), chi-squared")
