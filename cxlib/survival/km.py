"""Kaplan-Meier curves by segment, median survival, retention at horizons and RMST."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .._deprecation import renamed_arguments
from ..display import displayable
from ..errors import ParameterError
from ..stats import check_alpha, z_value
from ._results import ESTIMATE_COLUMNS, SurvivalTest, columns

CURVE_COLUMNS = ("segment", "time", "at_risk", "events", "censored", "survival", "se", "ci_lower", "ci_upper",
                 "ci_level", "greenwood")


def _km_one(duration: np.ndarray, event: np.ndarray, z: float) -> pd.DataFrame:
    times, inv = np.unique(duration, return_inverse=True)
    d = np.bincount(inv, weights=event.astype(float), minlength=len(times))
    n_at = np.bincount(inv, minlength=len(times)).astype(float)
    at_risk = n_at[::-1].cumsum()[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.cumprod(1 - d / at_risk)
        gw = np.cumsum(np.where(at_risk > d, d / (at_risk * (at_risk - d)), np.inf * (d > 0)))
        log_s = np.log(s)
        se_ll = np.sqrt(gw) / np.abs(log_s)  # se of log(-log S), the log-log transform
        lower = np.where(s >= 1, 1.0, np.where(s <= 0, 0.0, s ** np.exp(z * se_ll)))
        upper = np.where(s >= 1, 1.0, np.where(s <= 0, 0.0, s ** np.exp(-z * se_ll)))
        se = s * np.sqrt(gw)
    head = {"time": [0.0], "at_risk": [float(len(duration))], "events": [0.0], "censored": [0.0],
            "survival": [1.0], "se": [0.0], "ci_lower": [1.0], "ci_upper": [1.0], "greenwood": [0.0]}
    body = {"time": times, "at_risk": at_risk, "events": d, "censored": n_at - d, "survival": s, "se": se,
            "ci_lower": lower, "ci_upper": upper, "greenwood": gw}
    frame = pd.concat([pd.DataFrame(head), pd.DataFrame(body)], ignore_index=True)
    if times[0] == 0:  # events at time 0 replace the artificial start row
        frame = frame.iloc[1:].reset_index(drop=True)
    return frame


@displayable(tables={"median survival": lambda km: km.median()})
@dataclass(frozen=True)
class KaplanMeier:
    """Kaplan-Meier estimates, one curve per segment (see :func:`kaplan_meier`).

    ``curves`` has the columns of :data:`CURVE_COLUMNS`: one row per distinct
    duration (plus time 0), ``at_risk`` just before it, ``events`` and
    ``censored`` at it, the survival estimate with Greenwood ``se`` and a
    log-log confidence band (as R's ``survfit(conf.type = "log-log")`` and
    lifelines), and the cumulative Greenwood sum ``greenwood`` used by RMST.
    """

    curves: pd.DataFrame
    alpha: float
    time_unit: str

    def _segments(self):
        return self.curves.groupby("segment", sort=False)

    def survival_at(self, times) -> pd.DataFrame:
        """Retention at horizons with CIs: one row per segment and horizon (columns of ESTIMATE_COLUMNS).

        NaN beyond the last follow-up time of a segment (no extrapolation).
        """
        rows = []
        for seg, c in self._segments():
            for h in np.atleast_1d(np.asarray(times, dtype=float)):
                i = np.searchsorted(c["time"].to_numpy(), h, side="right") - 1
                beyond = h > c["time"].iloc[-1] and c["survival"].iloc[-1] > 0
                r = c.iloc[i]
                vals = (np.nan,) * 4 if beyond else (r["survival"], r["se"], r["ci_lower"], r["ci_upper"])
                rows.append(dict(metric="survival", segment=seg, horizon=h, estimate=vals[0], se=vals[1],
                                 ci_lower=vals[2], ci_upper=vals[3], ci_level=1 - self.alpha,
                                 n=c["at_risk"].iloc[0], events=c["events"].sum(),
                                 method="Kaplan-Meier, Greenwood variance, log-log CI"))
        return columns(rows, ESTIMATE_COLUMNS)

    def median(self) -> pd.DataFrame:
        """Median survival per segment with the CI where the log-log band crosses 0.5 (Brookmeyer-Crowley style)."""
        rows = []
        for seg, c in self._segments():
            t = c["time"].to_numpy()

            def first_below(col):
                hit = np.flatnonzero(c[col].to_numpy() <= 0.5)
                return float(t[hit[0]]) if hit.size else np.nan

            rows.append(dict(metric="median_survival", segment=seg, horizon=np.nan,
                             estimate=first_below("survival"), se=np.nan, ci_lower=first_below("ci_lower"),
                             ci_upper=first_below("ci_upper"), ci_level=1 - self.alpha,
                             n=c["at_risk"].iloc[0], events=c["events"].sum(),
                             method="Kaplan-Meier median, log-log band"))
        return columns(rows, ESTIMATE_COLUMNS)

    def rmst(self, tau: float) -> pd.DataFrame:
        """Restricted mean survival time up to ``tau`` per segment, Greenwood-type variance.

        Notes
        -----
        :math:`\\hat\\mu(\\tau) = \\int_0^\\tau \\hat S(u) du` and (Klein & Moeschberger
        2003, sect. 4.5; the variance used by R's survRM2)

        .. math:: \\widehat{Var} = \\sum_{t_j \\le \\tau} A_j^2 \\frac{d_j}{Y_j (Y_j - d_j)},
                  \\quad A_j = \\int_{t_j}^{\\tau} \\hat S(u) du

        where the term is 0 when :math:`Y_j = d_j`.  lifelines' own RMST
        variance is not this one (lifelines issues #1456, #1682).
        """
        rows = []
        for seg, c in self._segments():
            mu, var = _rmst_one(c, tau)
            se = np.sqrt(var)
            z = z_value(self.alpha)
            rows.append(dict(metric="rmst", segment=seg, horizon=float(tau), estimate=mu, se=se,
                             ci_lower=mu - z * se, ci_upper=mu + z * se, ci_level=1 - self.alpha,
                             n=c["at_risk"].iloc[0], events=c["events"].sum(),
                             method="RMST, Klein-Moeschberger Greenwood-type variance"))
        return columns(rows, ESTIMATE_COLUMNS)

    def rmst_difference(self, tau: float, *, treatment, control) -> SurvivalTest:
        """RMST(treatment) - RMST(control) with a Wald z test (as survRM2's ``rmst2`` "RMST (arm=1)-(arm=0)")."""
        r = self.rmst(tau).set_index("segment")
        for g in (treatment, control):
            if g not in r.index:
                raise ParameterError(f"segment {g!r} not found; segments are {r.index.tolist()}.")
        est = r.loc[treatment, "estimate"] - r.loc[control, "estimate"]
        se = float(np.hypot(r.loc[treatment, "se"], r.loc[control, "se"]))
        z = est / se
        q = z_value(self.alpha)
        return SurvivalTest(metric="rmst_difference", comparison=f"{treatment} - {control}", difference=float(est),
                            group_a=str(treatment), group_b=str(control),
                            se=se, ci_lower=float(est - q * se), ci_upper=float(est + q * se),
                            ci_level=1 - self.alpha, statistic=float(z), dof=np.nan,
                            p_value=float(2 * stats.norm.sf(abs(z))),
                            n=float(r.loc[treatment, "n"] + r.loc[control, "n"]),
                            method=f"RMST difference up to tau={tau:g} {self.time_unit}s, z test")


def _rmst_one(c: pd.DataFrame, tau: float) -> tuple[float, float]:
    t = c["time"].to_numpy()
    if tau > t[-1] or tau <= 0:
        raise ParameterError(f"tau={tau!r} must lie in (0, {t[-1]:g}], the last follow-up time of the segment; "
                             "choose tau no larger than the shortest maximum follow-up across segments.")
    keep = t <= tau
    t, s = t[keep], c["survival"].to_numpy()[keep]
    d, y = c["events"].to_numpy()[keep], c["at_risk"].to_numpy()[keep]
    if t[0] > 0:
        t, s, d, y = np.r_[0.0, t], np.r_[1.0, s], np.r_[0.0, d], np.r_[y[0], y]
    widths = np.diff(np.r_[t, tau])
    areas = s * widths  # area of each step, S constant on [t_j, t_{j+1})
    mu = float(areas.sum())
    a_j = np.cumsum(areas[::-1])[::-1]  # A_j = integral from t_j to tau
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(y > d, d / (y * (y - d)), 0.0)
    # S on [t_j, t_{j+1}) is the post-event value at t_j, so A_j is the area from row j onward
    var = float(np.sum(a_j ** 2 * term))
    return mu, var


@renamed_arguments(segment_col="segment")
def kaplan_meier(data: pd.DataFrame, *, duration_col: str = "duration", event_col: str = "event",
                 segment: str | None = None, alpha: float = 0.05, time_unit: str = "day") -> KaplanMeier:
    """Kaplan-Meier survival curves, one per segment, with at-risk counts and log-log CIs.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per subject (e.g. from :func:`cxlib.survival.survival_table`).
    duration_col, event_col : str
        Follow-up time (>= 0) and event indicator (1 = churned, 0 = censored).
    segment : str, optional
        Segment column whose values define the curves; all rows form one curve "all" if omitted
        (``segment_col`` is its deprecated old name).
    alpha : float
        1 - confidence level of the bands (0.05: 95%, the convention of the
        literature we compare with).
    time_unit : str
        Label of the time unit, carried into method strings.

    Returns
    -------
    KaplanMeier
        ``.curves`` (one row per time and segment), ``.survival_at(h)``,
        ``.median()``, ``.rmst(tau)`` and ``.rmst_difference(tau, ...)``.

    Notes
    -----
    :math:`\\hat S(t) = \\prod_{t_j \\le t} (1 - d_j / Y_j)`, Greenwood
    :math:`\\widehat{Var}\\hat S = \\hat S^2 \\sum d_j / (Y_j (Y_j - d_j))`.

    References
    ----------
    Kaplan, E. L. and Meier, P. (1958). JASA 53, 457-481.  Klein, J. P. and
    Moeschberger, M. L. (2003). Survival Analysis, 2nd ed., Springer, ch. 4.

    Examples
    --------
    >>> d = pd.DataFrame({"duration": [1, 2, 2, 3, 4], "event": [1, 1, 0, 1, 0]})
    >>> kaplan_meier(d).curves[["time", "at_risk", "events", "survival"]]
       time  at_risk  events  survival
    0   0.0      5.0     0.0       1.0
    1   1.0      5.0     1.0       0.8
    2   2.0      4.0     1.0       0.6
    3   3.0      2.0     1.0       0.3
    4   4.0      1.0     0.0       0.3
    """
    check_alpha(alpha)
    for c in (duration_col, event_col) + ((segment,) if segment else ()):
        if c not in data.columns:
            raise ParameterError(f"data lacks column {c!r}; it has {list(data.columns)}.")
    dur = data[duration_col].to_numpy(dtype=float)
    ev = data[event_col].to_numpy()
    if np.any(~np.isfinite(dur)) or np.any(dur < 0) or not np.isin(ev, [0, 1, True, False]).all():
        raise ParameterError(f"{duration_col} must be finite and >= 0 and {event_col} 0/1.")
    seg = data[segment].astype(str).to_numpy() if segment else np.full(len(data), "all")
    z = z_value(alpha)
    parts = []
    for g in sorted(pd.unique(seg)):
        sel = seg == g
        f = _km_one(dur[sel], ev[sel].astype(float), z)
        f.insert(0, "segment", g)
        parts.append(f)
    curves = pd.concat(parts, ignore_index=True)
    curves["ci_level"] = 1 - alpha
    return KaplanMeier(curves=curves[list(CURVE_COLUMNS)], alpha=alpha, time_unit=time_unit)
