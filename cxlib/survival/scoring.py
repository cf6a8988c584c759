"""Churn risk scoring of current customers, and holdout concordance and calibration."""
from __future__ import annotations

import numpy as np
import pandas as pd
from lifelines.utils import concordance_index

from ..errors import ParameterError
from .cox import CoxResult
from .km import kaplan_meier

RISK_COLUMNS = ("tenure", "survival_now", "survival_at_horizon", "churn_probability", "rank")
CALIBRATION_COLUMNS = ("group", "n", "predicted_churn", "observed_churn", "ci_lower", "ci_upper")


def _survival_at(result: CoxResult, data: pd.DataFrame, times: np.ndarray) -> np.ndarray:
    """S(times_i | x_i) for each row i (step interpolation of the Cox baseline)."""
    sf = result.model.predict_survival_function(data, times=np.unique(times))
    grid = sf.index.to_numpy()
    pos = np.searchsorted(grid, times)
    return sf.to_numpy()[pos, np.arange(len(data))]


def churn_risk(result: CoxResult, current: pd.DataFrame, *, horizon: float, tenure_col: str = "duration"
               ) -> pd.DataFrame:
    """Probability that each active customer churns within the next ``horizon`` time units.

    .. math:: P(T \\le a + h \\mid T > a, x) = 1 - S(a + h \\mid x) / S(a \\mid x)

    with tenure ``a`` and the Cox survival curve.  Returns the rows of
    ``current`` ranked by risk (1 = highest) with :data:`RISK_COLUMNS`.
    """
    if not horizon > 0:
        raise ParameterError(f"horizon={horizon!r} must be positive.")
    a = current[tenure_col].to_numpy(dtype=float)
    s_now = _survival_at(result, current, a)
    s_h = _survival_at(result, current, a + horizon)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(s_now > 0, 1 - s_h / s_now, np.nan)
    out = pd.DataFrame({"tenure": a, "survival_now": s_now, "survival_at_horizon": s_h, "churn_probability": p},
                       index=current.index)
    out["rank"] = out["churn_probability"].rank(ascending=False, method="first").astype("int64")
    return out.sort_values("rank")[list(RISK_COLUMNS)]


def holdout_validation(result: CoxResult, holdout: pd.DataFrame, *, horizon: float, groups: int = 10,
                       alpha: float = 0.05) -> tuple[float, pd.DataFrame]:
    """Harrell's concordance on a holdout and calibration of churn by ``horizon`` in risk groups.

    Subjects are cut into ``groups`` quantile groups of predicted churn
    probability ``1 - S(horizon | x)``; within each, the observed churn is
    ``1 - KM(horizon)`` with its log-log CI (censoring handled).  Returns
    ``(concordance, calibration frame with CALIBRATION_COLUMNS)``.
    """
    d, e = result.duration_col, result.event_col
    risk = result.model.predict_partial_hazard(holdout).to_numpy()
    c = float(concordance_index(holdout[d], -risk, holdout[e]))
    pred = 1 - _survival_at(result, holdout, np.full(len(holdout), float(horizon)))
    g = pd.qcut(pd.Series(pred, index=holdout.index).rank(method="first"), groups, labels=False)
    frame = pd.DataFrame({d: holdout[d].to_numpy(), e: holdout[e].to_numpy(), "g": g.to_numpy()})
    km = kaplan_meier(frame, duration_col=d, event_col=e, segment="g", alpha=alpha).survival_at([horizon])
    km = km.set_index("segment")
    rows = []
    for k in range(groups):
        sel = g.to_numpy() == k
        s = km.loc[str(k)]
        rows.append(dict(group=k + 1, n=int(sel.sum()), predicted_churn=float(pred[sel].mean()),
                         observed_churn=1 - s["estimate"], ci_lower=1 - s["ci_upper"], ci_upper=1 - s["ci_lower"]))
    return c, pd.DataFrame(rows, columns=list(CALIBRATION_COLUMNS))
