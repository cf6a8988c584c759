"""Customer lifetime value: RFM summaries, BG/NBD, Pareto/NBD, Gamma-Gamma, sBG, discounting, value at stake.

All models follow the lifelines verbs (``fit(...)`` returns ``self``; learned
values end in ``_``; ``summary`` is a table with standard errors and CIs).
Times are in an explicit unit (``"day"`` or ``"week"``); no hidden months.
"""
from __future__ import annotations

from .bgnbd import BetaGeo
from .diagnostics import calibration_holdout, frequency_recency_grid, tracking
from .gammagamma import GammaGamma
from .paretonbd import ParetoNBD
from .pipeline import ClvModels, StakeParameters, ValueAtStake, fit_clv_models, value_at_stake_pipeline
from .rfm import rfm_summary, repeat_buyers
from .sbg import ShiftedBetaGeometric
from .stake import ClvSample, customer_clv, stake_interval, value_at_stake
from .value import clv_from_survival, discount_factors, discounted_purchases

__all__ = ["BetaGeo", "GammaGamma", "ParetoNBD", "ShiftedBetaGeometric", "rfm_summary", "repeat_buyers",
           "clv_from_survival", "discount_factors", "discounted_purchases", "calibration_holdout", "tracking",
           "frequency_recency_grid", "ClvSample", "customer_clv", "value_at_stake", "stake_interval",
           "StakeParameters", "ClvModels", "ValueAtStake", "fit_clv_models", "value_at_stake_pipeline"]
