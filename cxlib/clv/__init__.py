"""Customer lifetime value: RFM summaries, BG/NBD, Pareto/NBD, Gamma-Gamma, sBG and discounting.

All models follow the lifelines verbs (``fit(...)`` returns ``self``; learned
values end in ``_``; ``summary`` is a table with standard errors and CIs).
Times are in an explicit unit (``"day"`` or ``"week"``); no hidden months.
"""
from __future__ import annotations

from .bgnbd import BetaGeo
from .diagnostics import calibration_holdout, frequency_recency_grid, tracking
from .gammagamma import GammaGamma
from .paretonbd import ParetoNBD
from .rfm import rfm_summary, repeat_buyers
from .sbg import ShiftedBetaGeometric
from .value import clv_from_survival, discount_factors, discounted_purchases

__all__ = ["BetaGeo", "GammaGamma", "ParetoNBD", "ShiftedBetaGeometric", "rfm_summary", "repeat_buyers",
           "clv_from_survival", "discount_factors", "discounted_purchases", "calibration_holdout", "tracking",
           "frequency_recency_grid"]
