"""Churn as survival: tables with censoring, Kaplan-Meier, RMST, log-rank, Cox, Weibull AFT, risk scoring."""
from __future__ import annotations

from ._results import ESTIMATE_COLUMNS, SURVIVAL_TEST_COLUMNS, SurvivalTest
from .churn import (CX_STATUS, DEFAULT_COX_COVARIATES, ChurnModel, churn_frame, churn_frame_of, cox_design,
                    fit_churn_model)
from .cox import (AFTResult, CoxResult, PHCheck, check_proportional_hazards, fit_cox, fit_weibull_aft)
from .km import CURVE_COLUMNS, KaplanMeier, kaplan_meier
from .logrank import logrank_test
from .scoring import churn_risk, holdout_validation
from .table import covariates_as_of, landmark, survival_table

__all__ = ["ESTIMATE_COLUMNS", "SURVIVAL_TEST_COLUMNS", "CURVE_COLUMNS", "SurvivalTest", "KaplanMeier", "kaplan_meier",
           "logrank_test", "CoxResult", "PHCheck", "AFTResult", "fit_cox", "check_proportional_hazards",
           "fit_weibull_aft", "churn_risk", "holdout_validation", "survival_table", "landmark",
           "covariates_as_of", "CX_STATUS", "DEFAULT_COX_COVARIATES", "ChurnModel", "churn_frame", "churn_frame_of",
           "cox_design", "fit_churn_model"]

from .._deprecation import moved_names as _moved_names

#: ``TEST_COLUMNS`` is the old name of :data:`SURVIVAL_TEST_COLUMNS` (deprecated alias for one release).
__getattr__ = _moved_names("cxlib.survival", "cxlib.survival", {"TEST_COLUMNS": "SURVIVAL_TEST_COLUMNS"})
