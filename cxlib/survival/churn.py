"""The churn model of the report: the churn frame, the Cox design and the fitted Cox model, in one call.

:func:`fit_churn_model` is the one place where the report's Cox churn model is built; the churn section
(its hazard ratios), the value-at-stake pipeline (:func:`cxlib.clv.value_at_stake_pipeline`) and the
CRM action lists all use it, with the same parameters.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._deprecation import renamed_arguments
from ..display import displayable
from ..errors import DataContractError, ParameterError
from ..schema import TABLES
from ..stats import Segment, segment_keys
from .cox import CoxResult, fit_cox
from .scoring import churn_risk
from .table import covariates_as_of, landmark, survival_table

__all__ = ["CX_STATUS", "DEFAULT_COX_COVARIATES", "ChurnModel", "churn_frame", "churn_frame_of", "cox_design",
           "fit_churn_model"]

#: Levels of ``cx_at_start`` (the customer-experience status when the subscription started).
CX_STATUS = ("neither", "detractor", "unresolved ticket", "both")
#: Covariates of the report's Cox churn model: CX status at the start and the plan.
DEFAULT_COX_COVARIATES = ("detractor", "unresolved_ticket", "plan")
CHURN_TABLES = ("subscriptions", "customers", "survey_responses", "tickets")


@renamed_arguments(segment_columns="segment")
def churn_frame(subscriptions: pd.DataFrame, *, customers: pd.DataFrame, survey_responses: pd.DataFrame,
                tickets: pd.DataFrame, observation_end, segment: Segment = None,
                landmark_days: float = 1.0) -> pd.DataFrame:
    """One row per subscription with follow-up, churn and the CX covariates known at its start.

    Parameters
    ----------
    subscriptions, customers, survey_responses, tickets : pandas.DataFrame
        Tables of the data contract (:mod:`cxlib.schema`).
    observation_end : date-like
        Administrative censoring date: subscriptions starting later are dropped, later ends are censored.
    segment : str or list of str, optional
        Segment columns of customers (e.g. ``loyalty_tier``) attached for segment curves; unknown names
        raise (``segment_columns`` is its deprecated old name).
    landmark_days : float, default 1
        Follow-up starts this many days after ``start_date`` (the landmark), and covariates use only what
        was known by then.  One day lets the onboarding survey answered on the start day count without
        immortal-time bias (the few subscriptions ending within the first day are dropped, and counted in
        ``attrs['dropped_before_landmark']``).

    Returns
    -------
    pandas.DataFrame
        The subscription columns plus ``duration`` (days since the landmark), ``event`` (1 = cancelled),
        ``detractor`` (1 if the last onboarding NPS known at the landmark is 0-6; 0 if 6 < NPS or no
        answer), ``onboarding_answered`` (0/1), ``unresolved_ticket`` (1 if a ticket opened before
        ``start_date`` was not resolved by it), ``cx_at_start`` (one of :data:`CX_STATUS`) and the
        segment columns.

    Examples
    --------
    >>> subs = pd.DataFrame({"subscription_id": ["S1", "S2"], "customer_id": ["C1", "C2"],
    ...                      "plan": ["basic", "plus"], "start_date": pd.to_datetime(["2025-01-01", "2025-02-01"]),
    ...                      "end_date": pd.to_datetime(["2025-03-02", None])})
    >>> cust = pd.DataFrame({"customer_id": ["C1", "C2"], "loyalty_tier": ["gold", "bronze"]})
    >>> srv = pd.DataFrame({"customer_id": ["C1"], "touchpoint": ["onboarding"], "nps": [3],
    ...                     "responded_at": pd.to_datetime(["2025-01-01 15:00"])})
    >>> tck = pd.DataFrame({"customer_id": ["C2"], "opened_at": pd.to_datetime(["2025-01-20"]),
    ...                     "resolved_at": pd.to_datetime([None])})
    >>> f = churn_frame(subs, customers=cust, survey_responses=srv, tickets=tck, observation_end="2025-04-01",
    ...                 segment=["loyalty_tier"])
    >>> f[["duration", "event", "detractor", "unresolved_ticket"]].to_dict("list")
    {'duration': [59.0, 58.0], 'event': [1, 0], 'detractor': [1, 0], 'unresolved_ticket': [0, 1]}
    >>> f["cx_at_start"].tolist(), f["loyalty_tier"].tolist()
    (['detractor', 'unresolved ticket'], ['gold', 'bronze'])
    """
    keys = segment_keys(segment)
    missing = [c for c in keys if c not in customers.columns]
    if missing:
        raise ParameterError(f"segment {missing} are not columns of customers; "
                             f"choose from {list(customers.columns)}.")
    table = survival_table(subscriptions, observation_end=observation_end, time_unit="day")
    end = pd.Timestamp(observation_end)
    if not {"customer_id", "touchpoint", "nps", "responded_at"} <= set(survey_responses.columns):
        survey_responses = _absent("survey_responses")  # no onboarding answers: nobody counts as a detractor
    if not {"customer_id", "opened_at", "resolved_at"} <= set(tickets.columns):
        tickets = _absent("tickets")  # no ticket times: nobody counts as having an unresolved ticket
    onb = survey_responses[(survey_responses["touchpoint"] == "onboarding") & survey_responses["nps"].notna()
                           & (survey_responses["responded_at"] <= end)]
    table = covariates_as_of(table, onb, key="customer_id", measured_at_col="responded_at", value_cols=["nps"],
                             landmark_days=landmark_days)
    table["onboarding_answered"] = table["nps"].notna().astype("int64")
    table["detractor"] = (table["nps"].astype(float) <= 6).astype("int64")
    table = table.drop(columns="nps")
    table["unresolved_ticket"] = _unresolved_at_start(table, tickets)
    code = table["detractor"] + 2 * table["unresolved_ticket"]
    table["cx_at_start"] = np.asarray(CX_STATUS, dtype=object)[code.to_numpy()]
    seg = customers[["customer_id", *keys]].drop_duplicates("customer_id")
    out = table.reset_index(drop=True).merge(seg, on="customer_id", how="left", validate="many_to_one")
    out.attrs.update(table.attrs)
    return landmark(out, at=landmark_days)


def _absent(table: str) -> pd.DataFrame:
    """An empty stand-in for a table the data do not have: no customer is a detractor or has a ticket."""
    kinds = {"string": "object", "int": "float64", "float": "float64", "bool": "boolean"}
    return pd.DataFrame({c.name: pd.Series(dtype=kinds.get(c.kind, "datetime64[ns]"))
                         for c in TABLES[table].columns})


def _unresolved_at_start(table: pd.DataFrame, tickets: pd.DataFrame) -> np.ndarray:
    """1 where the customer has a ticket opened before ``start_date`` and not resolved by it."""
    for c in ("customer_id", "opened_at", "resolved_at"):
        if c not in tickets.columns:
            raise DataContractError(f"tickets lack column {c!r}.", table="tickets", column=c, rule="required")
    m = table[["customer_id", "start_date"]].reset_index().merge(tickets[["customer_id", "opened_at",
                                                                           "resolved_at"]], on="customer_id")
    start = pd.to_datetime(m["start_date"])
    open_at_start = (m["opened_at"] < start) & (m["resolved_at"].isna() | (m["resolved_at"] >= start))
    hit = set(m.loc[open_at_start, "index"])
    return np.array([int(i in hit) for i in table.index], dtype="int64")


def _levels(column: str, values: pd.Series) -> list[str]:
    """Levels of a categorical column: the data contract's vocabulary order when it has one, else sorted."""
    present = set(values.dropna().astype(str))
    for table in TABLES.values():
        col = next((c for c in table.columns if c.name == column), None)
        if col is not None and col.levels:  # the contract's order first, then values it does not list, sorted
            return [v for v in col.levels if v in present] + sorted(present - set(col.levels))
    if column == "cx_at_start":
        return [v for v in CX_STATUS if v in present]
    return sorted(present)


def cox_design(frame: pd.DataFrame, *, covariates: Sequence[str]) -> tuple[pd.DataFrame, dict[str, str]]:
    """Numeric design for :func:`cxlib.survival.fit_cox`: 0/1 columns kept, categorical ones dummy-coded.

    A categorical covariate gets one ``<column>_<level>`` dummy per level except the reference, the
    first level in the data contract's vocabulary (``basic`` for ``plan``), else the first in sorted order.

    Returns
    -------
    (pandas.DataFrame, dict)
        ``duration``, ``event`` and the design columns; and a readable label per design column
        (``"plan: plus vs basic"``).

    Examples
    --------
    >>> f = pd.DataFrame({"duration": [1.0, 2.0, 3.0], "event": [1, 0, 1], "detractor": [0, 1, 0],
    ...                   "plan": ["premium", "basic", "plus"]})
    >>> x, labels = cox_design(f, covariates=["detractor", "plan"])
    >>> list(x.columns), labels["plan_premium"]
    (['duration', 'event', 'detractor', 'plan_plus', 'plan_premium'], 'plan: premium vs basic')
    """
    missing = [c for c in covariates if c not in frame.columns]
    if missing:
        raise ParameterError(f"covariates {missing} are not columns of the churn frame; "
                             f"choose from {list(frame.columns)}.")
    out = frame[["duration", "event"]].copy()
    labels: dict[str, str] = {}
    for c in covariates:
        col = frame[c]
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            out[c] = col.astype(float)
            labels[c] = c.replace("_", " ") + (" (yes vs no)" if set(col.dropna().unique()) <= {0, 1} else "")
            continue
        levels = _levels(c, col)
        for level in levels[1:]:
            name = f"{c}_{str(level).replace(' ', '_')}"
            out[name] = (col.astype(str) == level).astype(float)
            labels[name] = f"{c.replace('_', ' ')}: {level} vs {levels[0]}"
    if out.drop(columns=["duration", "event"]).isna().any().any():
        raise DataContractError("The Cox design has missing covariate values; drop or impute them first.",
                                table="subscriptions", column=", ".join(covariates), rule="not null")
    return out, labels


@displayable(tables={"hazard ratios": lambda m: m.cox.table}, fields=lambda m: {
    "subscriptions": len(m.frame), "events": int(m.frame["event"].sum()), "covariates": m.covariates,
    "observation_end": m.observation_end, "landmark_days": m.landmark_days})
@dataclass(frozen=True, repr=False)
class ChurnModel:
    """The report's Cox churn model with the frame and design it was fitted on.

    Attributes
    ----------
    frame : pandas.DataFrame
        :func:`churn_frame` output, one row per subscription (``duration`` in days since the landmark).
    design : pandas.DataFrame
        :func:`cox_design` output (``duration``, ``event`` and the numeric covariates), indexed like ``frame``.
    labels : dict of str to str
        Readable label per design column (``"plan: plus vs basic"``).
    cox : CoxResult
        The fitted model (:func:`cxlib.survival.fit_cox`, Efron ties).
    observation_end : pandas.Timestamp
        Censoring date (inclusive day).
    covariates : tuple of str
        Churn-frame columns in the model.
    landmark_days : float
        Follow-up starts this many days after the subscription start.
    """

    frame: pd.DataFrame
    design: pd.DataFrame
    labels: Mapping[str, str]
    cox: CoxResult
    observation_end: pd.Timestamp
    covariates: tuple[str, ...]
    landmark_days: float

    def risk(self, horizon_days: float) -> pd.DataFrame:
        """Probability that each active subscription (``event == 0``) is cancelled within ``horizon_days``.

        :func:`cxlib.survival.churn_risk` of the fitted model, indexed like :attr:`frame`.
        """
        return churn_risk(self.cox, self.design[self.frame["event"] == 0], horizon=horizon_days)


@renamed_arguments(segment_columns="segment")
def churn_frame_of(data: Any, *, observation_end: Any, segment: Segment = None,
                   landmark_days: float = 1.0) -> pd.DataFrame:
    """:func:`churn_frame` of a dataset: ``subscriptions`` needed, the other tables used when present.

    ``data`` is a :class:`~cxlib.data.Dataset` or a mapping of table name to frame.  A missing
    ``customers``, ``survey_responses`` or ``tickets`` table means no segment values, no detractor and no
    unresolved ticket (the churn frame's columns stay, constant).  The report's churn frame: the churn
    section draws its curves from it and :func:`fit_churn_model` fits on it.

    Raises
    ------
    DataContractError
        No ``subscriptions`` table.
    """
    tables = getattr(data, "tables", data)
    if "subscriptions" not in tables:
        raise DataContractError("The churn model needs the subscriptions table; it was not loaded.",
                                table="subscriptions", rule="table present")
    get = {t: tables[t] if t in tables else _absent(t) for t in CHURN_TABLES}  # absent: no CX information
    return churn_frame(get["subscriptions"], customers=get["customers"], survey_responses=get["survey_responses"],
                       tickets=get["tickets"], observation_end=pd.Timestamp(observation_end).normalize(),
                       segment=segment, landmark_days=landmark_days)


@renamed_arguments(segment_columns="segment")
def fit_churn_model(data: Any, *, observation_end: Any, covariates: Sequence[str] = DEFAULT_COX_COVARIATES,
                    landmark_days: float = 1.0, segment: Segment = None,
                    alpha: float = 0.05) -> ChurnModel:
    """Build the churn frame and the Cox design and fit the Cox churn model of the report.

    Parameters
    ----------
    data : Dataset or mapping of str to DataFrame
        Needs ``subscriptions``; ``customers``, ``survey_responses`` and ``tickets`` add the segments and
        the CX covariates (absent, or without the columns they need: nobody is a detractor or has an
        unresolved ticket, so leave those covariates out, as :mod:`cxlib.requirements` does).
    observation_end : date-like
        Censoring date; normalized to its day.
    covariates : sequence of str, default :data:`DEFAULT_COX_COVARIATES`
        Churn-frame columns in the model (categorical ones are dummy-coded by :func:`cox_design`).
    landmark_days : float, default 1
        See :func:`churn_frame`.
    segment : str or list of str, optional
        Segment columns of customers carried into :attr:`ChurnModel.frame` for segment curves; they do not
        enter the model (``segment_columns`` is its deprecated old name).
    alpha : float, default 0.05
        1 - confidence level of the hazard-ratio intervals.

    Returns
    -------
    ChurnModel
    """
    end = pd.Timestamp(observation_end).normalize()
    frame = churn_frame_of(data, observation_end=end, segment=segment, landmark_days=landmark_days)
    design, labels = cox_design(frame, covariates=list(covariates))
    return ChurnModel(frame=frame, design=design, labels=labels, cox=fit_cox(design, alpha=alpha),
                      observation_end=end, covariates=tuple(covariates), landmark_days=float(landmark_days))
