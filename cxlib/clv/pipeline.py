"""The value-at-stake pipeline: customer lifetime value x churn risk, built once with one set of parameters.

Value at stake is what the report says customers likely to cancel are worth: the probability that an
active member cancels within the risk horizon (the Cox churn model, :func:`cxlib.survival.fit_churn_model`)
times the member's lifetime value (BG/NBD x Gamma-Gamma, :func:`cxlib.clv.customer_clv`).
:func:`value_at_stake_pipeline` is its one home: the CLV section, the segments section and the CRM
action lists (:func:`cxlib.actions.churn_risk_list`) take their numbers from the :class:`ValueAtStake`
it returns, and the report passes them the same :class:`StakeParameters` (the plan's global parameters).
The pipeline is a pure function of the tables and the parameters: called twice with equal inputs it
returns equal numbers.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from ..display import displayable
from ..errors import DataContractError, ParameterError
from ..survival.churn import DEFAULT_COX_COVARIATES, ChurnModel, fit_churn_model
from .bgnbd import BetaGeo
from .gammagamma import GammaGamma
from .rfm import repeat_buyers, rfm_summary
from .stake import ClvSample, customer_clv, stake_interval, value_at_stake

__all__ = ["StakeParameters", "ClvModels", "ValueAtStake", "fit_clv_models", "value_at_stake_pipeline"]


@displayable()
@dataclass(frozen=True)
class StakeParameters:
    """The one set of parameters of the value-at-stake pipeline.

    Attributes
    ----------
    observation_end : date-like
        Last day of data (inclusive), normalized to midnight: the models see everything up to it.
    clv_horizon_weeks : float, default 52
        CLV horizon, weeks (the BG/NBD time unit); one year of future purchases.
    annual_discount_rate : float, default 0.1
        Yearly discount rate of future margin (10%).
    margin : float, default 0.3
        Share of spend kept as margin, in (0, 1].
    risk_horizon_days : float, default 90
        Churn probability is the chance of cancelling within this many days (one quarter).
    landmark_days : float, default 1
        Follow-up of the churn model starts this many days after a subscription starts
        (:func:`cxlib.survival.churn_frame`).
    cox_covariates : tuple of str, default ``("detractor", "unresolved_ticket", "plan")``
        Covariates of the Cox churn model.
    alpha : float, default 0.05
        1 - level of the intervals (model summaries and the total value at stake).

    Examples
    --------
    >>> p = StakeParameters(observation_end="2025-12-31 17:00", cox_covariates=["detractor"])
    >>> p.observation_end, p.cox_covariates
    (Timestamp('2025-12-31 00:00:00'), ('detractor',))
    >>> StakeParameters(observation_end="2025-12-31", margin=30)
    Traceback (most recent call last):
    ...
    cxlib.errors.ParameterError: margin=30.0 must be a share in (0, 1].
    """

    observation_end: pd.Timestamp
    clv_horizon_weeks: float = 52.0
    annual_discount_rate: float = 0.1
    margin: float = 0.3
    risk_horizon_days: float = 90.0
    landmark_days: float = 1.0
    cox_covariates: tuple[str, ...] = DEFAULT_COX_COVARIATES
    alpha: float = 0.05

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "observation_end", pd.Timestamp(self.observation_end).normalize())
        set_(self, "cox_covariates", tuple(self.cox_covariates))
        for name in ("clv_horizon_weeks", "risk_horizon_days", "landmark_days", "annual_discount_rate", "margin",
                     "alpha"):
            set_(self, name, float(getattr(self, name)))
        checks = [("clv_horizon_weeks", self.clv_horizon_weeks > 0, "positive"),
                  ("risk_horizon_days", self.risk_horizon_days > 0, "positive"),
                  ("landmark_days", self.landmark_days >= 0, "at least 0"),
                  ("annual_discount_rate", self.annual_discount_rate >= 0, "at least 0"),
                  ("margin", 0 < self.margin <= 1, "a share in (0, 1]"),
                  ("alpha", 0 < self.alpha < 1, "strictly between 0 and 1")]
        for name, ok, what in checks:
            if not ok:
                raise ParameterError(f"{name}={getattr(self, name)!r} must be {what}.")
        if not self.cox_covariates:
            raise ParameterError("cox_covariates is empty; give at least one churn-frame column.")

    def to_dict(self) -> dict[str, Any]:
        """Plain values (the date as ``YYYY-MM-DD``, covariates as a list) for manifests and provenance."""
        out = asdict(self)
        out.update(observation_end=str(self.observation_end.date()), cox_covariates=list(self.cox_covariates))
        return out


@displayable(tables={"BG/NBD": lambda m: m.bg.summary, "Gamma-Gamma": lambda m: m.gg.summary},
             fields=lambda m: {"customers": len(m.rfm), "repeat_buyers": len(repeat_buyers(m.rfm)),
                               "calibration_end": m.rfm.attrs.get("calibration_end")})
@dataclass(frozen=True, repr=False)
class ClvModels:
    """Purchase and spend models fitted on the histories of one window.

    Attributes
    ----------
    rfm : pandas.DataFrame
        Histories (:func:`cxlib.clv.rfm_summary`, weeks) of the customers with ``T > 0``.
    bg : BetaGeo
        BG/NBD purchase model fitted on ``rfm``.
    gg : GammaGamma
        Gamma-Gamma spend model fitted on the repeat buyers of ``rfm``.
    """

    rfm: pd.DataFrame
    bg: BetaGeo
    gg: GammaGamma


def fit_clv_models(transactions: pd.DataFrame, *, observation_end: Any, calibration_end: Any = None,
                   alpha: float = 0.05) -> ClvModels:
    """Fit BG/NBD and Gamma-Gamma (weeks) on the purchases up to ``calibration_end`` (default: ``observation_end``).

    Customers whose first purchase falls on the last calibration day (``T == 0``) have no history to fit
    yet and are left out.  With a ``calibration_end`` before ``observation_end`` the histories carry the
    holdout columns (for :func:`cxlib.clv.calibration_holdout`).
    """
    rfm = rfm_summary(transactions, observation_end=observation_end, calibration_end=calibration_end,
                      time_unit="week")
    rfm = rfm[rfm["T"] > 0]
    return ClvModels(rfm=rfm, bg=BetaGeo(alpha=alpha).fit(rfm), gg=GammaGamma(alpha=alpha).fit(repeat_buyers(rfm)))


@displayable(fields=lambda v: {
    "observation_end": v.parameters.observation_end, "customers": len(v.sample.clv),
    "active_members": len(v.stake), "total": v.total[0], "ci_lower": v.total[2], "ci_upper": v.total[3],
    "ci_level": 1 - v.parameters.alpha})
@dataclass(frozen=True, repr=False)
class ValueAtStake:
    """Customer lifetime value, churn risk and value at stake of one report, with the parameters used.

    Attributes
    ----------
    parameters : StakeParameters
    models : ClvModels
        BG/NBD and Gamma-Gamma fitted on all purchases up to the observation end.
    sample : ClvSample
        CLV of every customer with a purchase history, with its delta-method ingredients.
    churn : ChurnModel
        The Cox churn model (frame, design, fit).
    risk : pandas.DataFrame
        :meth:`ChurnModel.risk` of the active subscriptions within ``risk_horizon_days``.
    stake : pandas.DataFrame
        One row per active member: ``customer_id, churn_probability, clv, value_at_stake`` (NaN CLV without a
        purchase history), largest value at stake first.
    total : tuple of float
        ``(estimate, se, ci_lower, ci_upper)`` of the summed value at stake at level ``1 - alpha``.
    """

    parameters: StakeParameters
    models: ClvModels
    sample: ClvSample
    churn: ChurnModel
    risk: pd.DataFrame
    stake: pd.DataFrame
    total: tuple[float, float, float, float] = field(default=(math.nan,) * 4)

    def value_of(self, customer_ids: Iterable[Any], *, alpha: float | None = None
                 ) -> tuple[float, float, float, float]:
        """Summed value at stake of the listed members ``(estimate, se, ci_lower, ci_upper)``.

        Ids that are not active members count 0.  ``alpha`` defaults to the pipeline's.
        """
        p = self.stake.set_index("customer_id")["churn_probability"]
        p = p.reindex(pd.Index(list(customer_ids), dtype=object)).dropna()
        return stake_interval(self.sample, p, alpha=self.parameters.alpha if alpha is None else alpha)


def value_at_stake_pipeline(data: Any, parameters: StakeParameters) -> ValueAtStake:
    """Fit the CLV models and the Cox churn model once and combine them into the value at stake.

    Parameters
    ----------
    data : Dataset or mapping of str to DataFrame
        Needs ``transactions``, ``subscriptions``, ``customers``, ``survey_responses`` and ``tickets``.
    parameters : StakeParameters
        The one parameter set; the notebooks build it from the plan's global parameters.

    Returns
    -------
    ValueAtStake

    Notes
    -----
    For active member :math:`i` with tenure :math:`a_i`, value at stake is
    :math:`P(T_i \\le a_i + h \\mid T_i > a_i, x_i) \\times CLV_i`, the Cox churn probability within the
    risk horizon :math:`h` (:func:`cxlib.survival.churn_risk`) times the BG/NBD x Gamma-Gamma lifetime value
    (:func:`cxlib.clv.customer_clv`); both models are fitted on all data up to the observation end.  A
    customer with several active subscriptions counts once, at the highest probability.  The interval of
    the total reflects the CLV models' parameter uncertainty (delta method).  ``tests/test_clv_pipeline.py``
    runs it on a synthetic world.
    """
    tables = getattr(data, "tables", data)
    if "transactions" not in tables:
        raise DataContractError("The value-at-stake pipeline needs the transactions table; it was not loaded.",
                                table="transactions", rule="table present")
    p = parameters
    models = fit_clv_models(tables["transactions"], observation_end=p.observation_end, alpha=p.alpha)
    sample = customer_clv(models.bg, models.gg, models.rfm, horizon=p.clv_horizon_weeks,
                          annual_discount_rate=p.annual_discount_rate, margin=p.margin)
    churn = fit_churn_model(tables, observation_end=p.observation_end, covariates=p.cox_covariates,
                            landmark_days=p.landmark_days, alpha=p.alpha)
    risk = churn.risk(p.risk_horizon_days)
    stake, total = value_at_stake(sample, risk, customer_ids=churn.frame["customer_id"], alpha=p.alpha)
    return ValueAtStake(parameters=p, models=models, sample=sample, churn=churn, risk=risk, stake=stake, total=total)
