"""CRM action lists: who to contact on Monday, why, and what acting on the list is expected to be worth.

Three lists, each an :class:`ActionList` written as CSV by :func:`write_action_lists`:

- ``detractors``: customers whose latest answer in the period was 0-6 on the NPS question, with the
  themes of their comment (:func:`cxlib.voc.tag_themes`) and the comment redacted
  (:class:`cxlib.privacy.Redactor`), worst score first;
- ``churn_risk``: active members ranked by value at stake, the probability of cancelling within the
  horizon (Cox model) times the customer lifetime value (BG/NBD x Gamma-Gamma), both from the report's
  one value-at-stake pipeline (:func:`cxlib.clv.value_at_stake_pipeline`);
- ``sla_breaches``: tickets still unresolved at the observation end and open for longer than the SLA.

**Identifiers.** Lists carry keyed pseudonyms (:func:`cxlib.privacy.pseudonymize`, column
``customer_pseudonym``) by default: the CRM team re-identifies customers with the same key
(``CX_PSEUDONYM_KEY``) inside the CRM, so the CSV files hold no raw id.  Real ids (column
``customer_id``) are an explicit opt-in, ``ids="real"`` (``cx actions --real-ids``), for a
lawful-basis, access-controlled CRM export only; comments stay redacted either way, and a
``manifest.json`` beside the files records which policy was used.

**Expected value.** The value of acting is a scenario, not a measurement: it multiplies what is at
stake by an assumed success rate (``save_rate``, ``recovery_rate``) that only an experiment (hold out
part of the list) can estimate.  The assumption is stated next to every number.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from ..display import displayable
from ..errors import DataContractError, ParameterError, check_choice
from ..escape import csv_text
from ..periods import Period, in_period
from ..privacy import Redactor, pseudonymize_frame
from ..stats import attach_segment_labels, segment_labels
from ..voc.themes import DEFAULT_TAXONOMY, Taxonomy, tag_themes

if TYPE_CHECKING:
    from ..clv import ValueAtStake

__all__ = ["ID_POLICIES", "LIST_SUMMARY_COLUMNS", "ActionList", "apply_id_policy", "add_segments", "detractor_list",
           "churn_risk_list", "sla_breach_list", "build_action_lists", "write_action_lists"]

IdPolicy = Literal["pseudonymized", "real"]
ID_POLICIES = ("pseudonymized", "real")
#: Columns of :meth:`ActionList.to_frame` (one row per list).
LIST_SUMMARY_COLUMNS = ("list", "rows", "ids", "expected_value", "ci_lower", "ci_upper", "ci_level", "value_unit",
                        "assumption", "method")


@displayable(tables=("frame",))
@dataclass(frozen=True)
class ActionList:
    """One CRM action list and the expected value of acting on it.

    Attributes
    ----------
    name : str
        File stem (``detractors``, ``churn_risk``, ``sla_breaches``).
    frame : DataFrame
        The rows to export, in priority order.
    ids : {"pseudonymized", "real"}
    expected_value, ci_lower, ci_upper, ci_level : float
        Value of acting on the whole list under ``assumption`` (NaN when the list is not valued).
    value_unit, assumption, method : str
    """

    name: str
    frame: pd.DataFrame
    ids: str
    expected_value: float = math.nan
    ci_lower: float = math.nan
    ci_upper: float = math.nan
    ci_level: float = 0.95
    value_unit: str = ""
    assumption: str = ""
    method: str = ""

    def to_frame(self) -> pd.DataFrame:
        """One summary row with :data:`LIST_SUMMARY_COLUMNS`."""
        return pd.DataFrame([{"list": self.name, "rows": len(self.frame), "ids": self.ids,
                              "expected_value": self.expected_value, "ci_lower": self.ci_lower,
                              "ci_upper": self.ci_upper, "ci_level": self.ci_level, "value_unit": self.value_unit,
                              "assumption": self.assumption, "method": self.method}],
                            columns=list(LIST_SUMMARY_COLUMNS))

    def __repr__(self) -> str:
        return f"ActionList(name={self.name!r}, rows={len(self.frame)}, ids={self.ids!r})"


def apply_id_policy(frame: pd.DataFrame, ids: str) -> pd.DataFrame:
    """Pseudonymize ``customer_id`` into ``customer_pseudonym`` (``ids="pseudonymized"``) or keep it (``"real"``).

    >>> import os
    >>> os.environ["CX_PSEUDONYM_KEY"] = "doctest-secret"
    >>> apply_id_policy(pd.DataFrame({"customer_id": ["C000001"]}), "pseudonymized").columns.tolist()
    ['customer_pseudonym']
    >>> del os.environ["CX_PSEUDONYM_KEY"]
    """
    check_choice("ids", ids, ID_POLICIES)
    if ids == "real":
        return frame
    # Without CX_PSEUDONYM_KEY, pseudonymize warns (PseudonymKeyWarning); the caller's filters decide what to do.
    out = pseudonymize_frame(frame, columns=("customer_id",))
    return out.rename(columns={"customer_id": "customer_pseudonym"})


#: Customer-level segment labels for the lists: a DataFrame with ``customer_id`` and one column per segmentation
#: (:func:`cxlib.stats.segment_labels`; a mapping of column name to Series still works for one release and warns).
Segments = pd.DataFrame


def add_segments(frame: pd.DataFrame, segments: Segments | None) -> pd.DataFrame:
    """``frame`` with one column per segment, right after ``customer_id`` (``"unassigned"`` without a label).

    ``segments`` is a DataFrame with ``customer_id`` and one label column per segmentation (an RFM segment, a
    behavioural cluster), one row per customer.

    >>> f = pd.DataFrame({"ticket_id": ["T1", "T2"], "customer_id": ["C1", "C2"]})
    >>> add_segments(f, pd.DataFrame({"customer_id": ["C1"], "rfm_segment": ["champions"]})).values.tolist()
    [['T1', 'C1', 'champions'], ['T2', 'C2', 'unassigned']]
    """
    if segments is None or (isinstance(segments, Mapping) and not segments):
        return frame
    if "customer_id" not in frame.columns:
        raise DataContractError(f"Segments are joined by customer_id, which the list lacks; found "
                                f"{list(frame.columns)}.", column="customer_id", rule="column present")
    out, names = attach_segment_labels(frame, segments, where="segments=", stacklevel=6)
    at = list(out.columns).index("customer_id") + 1
    rest = [c for c in out.columns if c not in names]
    return out[[*rest[:at], *names, *rest[at:]]]


def detractor_list(responses: pd.DataFrame, customers: pd.DataFrame, *, period: str, nps_max: int = 6,
                   recovery_rate: float = 0.2, taxonomy: Taxonomy = DEFAULT_TAXONOMY,
                   ids: IdPolicy = "pseudonymized", segments: Segments | None = None) -> ActionList:
    """Detractors of the period to follow up, one row per customer, with the themes of their comment.

    Parameters
    ----------
    responses, customers : DataFrame
        ``survey_responses`` and ``customers`` of the data contract (names feed the redactor).
    period : str
        Quarter (or other period) whose responses are followed up.
    nps_max : int, default 6
        Highest NPS answer counted as a detractor (0-6 by the NPS definition).
    recovery_rate : float, default 0.2
        Assumed share of followed-up detractors who would answer as passives next time; the expected
        value is the NPS gain ``100 * recovery_rate * listed / respondents`` in points.
    taxonomy : Taxonomy
        Themes tagged in the comment (:data:`cxlib.voc.DEFAULT_TAXONOMY`).
    ids : {"pseudonymized", "real"}
        See the module docstring.
    segments : DataFrame, optional
        Customer segments carried into the export (:func:`add_segments`): ``customer_id`` and one column
        per segmentation, each placed after the customer.

    Returns
    -------
    ActionList
        ``frame`` columns: the customer (``customer_pseudonym`` or ``customer_id``), the ``segments`` columns,
        ``response_id``,
        ``responded_at``, ``touchpoint``, ``unit_id``, ``nps``, ``csat``, ``ces``, ``themes`` (``"; "``-joined,
        ``"none"`` without a known theme, ``""`` without a comment), ``comment`` (redacted),
        ``detractor_responses`` (the customer's detractor answers in the period); lowest NPS first.

    Examples
    --------
    >>> r = pd.DataFrame({"response_id": ["R1", "R2", "R3"], "customer_id": ["C1", "C1", "C2"],
    ...     "responded_at": pd.to_datetime(["2025-10-02", "2025-11-02", "2025-11-03"]),
    ...     "touchpoint": ["delivery"] * 3, "unit_id": [None] * 3, "nps": [2, 5, 9], "csat": [1, 2, 5],
    ...     "ces": [None] * 3, "comment": ["Parcel late, call Ann Lee on 020 7946 0123", None, "Great"]})
    >>> c = pd.DataFrame({"customer_id": ["C1", "C2"], "first_name": ["Ann", "Bo"], "last_name": ["Lee", "Ek"]})
    >>> out = detractor_list(r, c, period="2025Q4", ids="real")
    >>> out.frame[["customer_id", "response_id", "nps", "themes", "detractor_responses"]].values.tolist()
    [['C1', 'R2', 5, '', 2]]
    >>> round(out.expected_value, 1)  # 100 * 0.2 * 1 listed / 2 respondents
    10.0
    """
    if not 0 <= recovery_rate <= 1:
        raise ParameterError(f"recovery_rate={recovery_rate!r} must be a share in [0, 1].")
    need = [c for c in ("response_id", "customer_id", "responded_at", "nps", "comment") if c not in responses]
    if need:
        raise DataContractError(f"survey_responses lacks {need}; found {list(responses.columns)}.",
                                table="survey_responses", column=need[0], rule="column present")
    now = in_period(responses, "responded_at", period)
    answered = now[now["nps"].notna()]
    det = answered[answered["nps"] <= nps_max].sort_values(["customer_id", "responded_at", "response_id"])
    counts = det.groupby("customer_id").size().rename("detractor_responses")
    latest = det.groupby("customer_id").tail(1).join(counts, on="customer_id")
    tags = tag_themes(latest, taxonomy=taxonomy)
    has_text = latest["comment"].notna() & (latest["comment"].astype(str).str.strip() != "")
    themes = tags.apply(lambda row: "; ".join(t for t, hit in row.items() if hit) or "none", axis=1)
    latest = latest.assign(themes=themes.where(has_text, "") if len(latest) else pd.Series(dtype=object))
    redactor = Redactor.from_customers(customers)
    latest["comment"] = [redactor.redact(t).text for t in latest["comment"]]
    cols = ["customer_id", "response_id", "responded_at", "touchpoint", "unit_id", "nps", "csat", "ces", "themes",
            "comment", "detractor_responses"]
    frame = latest.reindex(columns=cols).sort_values(["nps", "responded_at", "response_id"],
                                                     ascending=[True, False, True]).reset_index(drop=True)
    frame["nps"] = frame["nps"].astype("int64")
    frame = add_segments(frame, segments)
    n_resp = int(answered["customer_id"].nunique())
    gain = 100 * recovery_rate * len(frame) / n_resp if n_resp else math.nan
    return ActionList(
        name="detractors", frame=apply_id_policy(frame, ids), ids=ids, expected_value=gain, value_unit="NPS points",
        assumption=f"{recovery_rate:.0%} of followed-up detractors answer as passives next time (an assumption; "
                   "test it by holding out part of the list)",
        method=f"detractors (NPS 0-{nps_max}) in {period}: latest answer per customer, themes by keyword taxonomy, "
               f"comments redacted; value = 100 x recovery rate x {len(frame)} listed / {n_resp} respondents")


def sla_breach_list(tickets: pd.DataFrame, *, observation_end: Any, sla_hours: float = 72.0,
                    ids: IdPolicy = "pseudonymized", segments: Segments | None = None) -> ActionList:
    """Tickets unresolved at the observation end and open longer than the resolution SLA, oldest first.

    Parameters
    ----------
    tickets : DataFrame
        ``tickets`` of the data contract.
    observation_end : date-like
        Last day observed (inclusive); a ticket resolved later counts as unresolved.
    sla_hours : float, default 72
        Resolution SLA in hours (three days).
    ids : {"pseudonymized", "real"}
    segments : DataFrame, optional
        Customer segments carried into the export (``customer_id`` plus label columns, :func:`add_segments`).

    Returns
    -------
    ActionList
        ``frame``: ``ticket_id``, the customer, the ``segments`` columns, ``unit_id``, ``channel``, ``ticket_type``, ``category``,
        ``opened_at``, ``hours_open``, ``hours_past_sla``; not valued (``expected_value`` NaN).

    Examples
    --------
    >>> t = pd.DataFrame({"ticket_id": ["T1", "T2", "T3"], "customer_id": ["C1", "C2", "C3"], "unit_id": [None] * 3,
    ...     "channel": ["email"] * 3, "ticket_type": ["complaint"] * 3, "category": ["delivery"] * 3,
    ...     "opened_at": pd.to_datetime(["2025-12-01", "2025-12-30", "2025-12-01"]),
    ...     "resolved_at": pd.to_datetime([None, None, "2025-12-02"])})
    >>> out = sla_breach_list(t, observation_end="2025-12-31", ids="real")
    >>> out.frame[["ticket_id", "hours_open", "hours_past_sla"]].values.tolist()
    [['T1', 744.0, 672.0]]
    """
    if not sla_hours > 0:
        raise ParameterError(f"sla_hours={sla_hours!r} must be positive.")
    stop = pd.Timestamp(observation_end).normalize() + pd.Timedelta(days=1)
    t = tickets[tickets["opened_at"] < stop]
    open_ = t[t["resolved_at"].isna() | (t["resolved_at"] >= stop)].copy()
    open_["hours_open"] = (stop - open_["opened_at"]).dt.total_seconds() / 3600.0
    open_["hours_past_sla"] = open_["hours_open"] - sla_hours
    late = open_[open_["hours_past_sla"] > 0]
    cols = ["ticket_id", "customer_id", "unit_id", "channel", "ticket_type", "category", "opened_at", "hours_open",
            "hours_past_sla"]
    frame = late.reindex(columns=cols).sort_values(["hours_past_sla", "ticket_id"], ascending=[False, True])
    frame = add_segments(frame.reset_index(drop=True), segments)
    return ActionList(name="sla_breaches", frame=apply_id_policy(frame, ids), ids=ids,
                      value_unit="", assumption="not valued: no model here links resolving a ticket to value",
                      method=f"tickets opened by {stop.date()} and unresolved then, open longer than {sla_hours:g} h")


def churn_risk_list(data: Any, *, observation_end: Any = None, risk_horizon_days: float | None = None,
                    clv_horizon_weeks: float | None = None, annual_discount_rate: float | None = None,
                    margin: float | None = None, save_rate: float = 0.2, min_probability: float = 0.0,
                    top: int | None = None, cox_covariates: tuple[str, ...] | None = None,
                    landmark_days: float | None = None, alpha: float = 0.05, ids: IdPolicy = "pseudonymized",
                    segments: Segments | None = None, stake: ValueAtStake | None = None) -> ActionList:
    """Active members ranked by value at stake: churn probability within the horizon x lifetime value.

    The numbers come from the report's value-at-stake pipeline (:func:`cxlib.clv.value_at_stake_pipeline`:
    the Cox churn model of :func:`cxlib.survival.fit_churn_model` and the BG/NBD x Gamma-Gamma CLV of
    :func:`cxlib.clv.customer_clv`, both fitted on all data up to ``observation_end``): pass its result as
    ``stake`` to reuse it (the CLV section reports the same numbers), or leave ``stake`` out to run it here.

    Parameters
    ----------
    data : Dataset or mapping
        Needs ``customers``, ``transactions``, ``subscriptions``, ``survey_responses``, ``tickets``
        (unused when ``stake`` is given).
    observation_end : date-like
        Required without ``stake``; with it, must be the stake's if given.
    risk_horizon_days, clv_horizon_weeks, annual_discount_rate, margin, cox_covariates, landmark_days
        Parameters of the pipeline (:class:`cxlib.clv.StakeParameters`; None: its default, 90 days,
        52 weeks, 10% a year, 30% margin, CX status and plan, 1 day).  With ``stake``, a value given must
        equal the stake's (one value at stake per report).
    save_rate : float, default 0.2
        Assumed share of the listed members' churn prevented by the retention action.
    min_probability : float
        Only members at least this likely to churn within the horizon are listed.
    top : int, optional
        Keep the ``top`` members with the most value at stake.
    alpha : float
        Level of the delta-method interval of the expected value (parameter uncertainty of the CLV models).
    segments : DataFrame, optional
        Customer segments carried into the export (``customer_id`` plus label columns, :func:`add_segments`);
        the ranking is over all members.
    stake : ValueAtStake, optional
        The pipeline's result, fitted once per report.

    Returns
    -------
    ActionList
        ``frame``: the customer, the ``segments`` columns, ``churn_probability``, ``clv`` (currency),
        ``value_at_stake``, ``rank``; ``expected_value`` = ``save_rate`` x the sum of the listed value at
        stake, with its interval.
    """
    for name, v in (("save_rate", save_rate), ("min_probability", min_probability)):
        if not 0 <= v <= 1:
            raise ParameterError(f"{name}={v!r} must be a share in [0, 1].")
    given = {k: v for k, v in {
        "observation_end": observation_end, "risk_horizon_days": risk_horizon_days,
        "clv_horizon_weeks": clv_horizon_weeks, "annual_discount_rate": annual_discount_rate, "margin": margin,
        "cox_covariates": cox_covariates, "landmark_days": landmark_days}.items() if v is not None}
    stake = _stake_for(data, given, alpha=alpha) if stake is None else _checked_stake(stake, given)
    p = stake.parameters
    ranked = stake.stake
    listed = ranked[ranked["value_at_stake"].notna() & (ranked["churn_probability"] >= min_probability)]
    listed = (listed.head(top) if top is not None else listed).reset_index(drop=True)
    listed["rank"] = np.arange(1, len(listed) + 1)
    est, _, lo, hi = stake.value_of(listed["customer_id"], alpha=alpha)
    return ActionList(
        name="churn_risk", frame=apply_id_policy(add_segments(listed, segments), ids), ids=ids, expected_value=save_rate * est,
        ci_lower=save_rate * lo, ci_upper=save_rate * hi, ci_level=1 - alpha, value_unit="EUR",
        assumption=f"the retention action prevents {save_rate:.0%} of the listed members' churn (an assumption; "
                   "test it by holding out part of the list)",
        method=(f"Cox churn probability within {p.risk_horizon_days:g} days x {stake.sample.method}; value = save "
                "rate x sum of value at stake, delta-method interval (CLV parameter uncertainty)"))


def _stake_for(data: Any, given: Mapping[str, Any], *, alpha: float) -> ValueAtStake:
    """Run the value-at-stake pipeline with the given parameters (the rest at their defaults)."""
    if "observation_end" not in given:
        raise ParameterError("churn_risk_list needs observation_end= (or stake=, the value-at-stake pipeline's "
                             "result).")
    from ..clv import StakeParameters, value_at_stake_pipeline

    return value_at_stake_pipeline(data, StakeParameters(**given, alpha=alpha))


def _checked_stake(stake: ValueAtStake, given: Mapping[str, Any]) -> ValueAtStake:
    """``stake`` if every parameter in ``given`` equals the one it was built with, else ParameterError."""
    used = stake.parameters
    wanted = dataclasses.replace(used, **given)
    differ = [f.name for f in dataclasses.fields(used) if getattr(wanted, f.name) != getattr(used, f.name)]
    if differ:
        raise ParameterError(f"stake= was built with {', '.join(f'{n}={getattr(used, n)!r}' for n in differ)}; "
                             f"found {', '.join(f'{n}={getattr(wanted, n)!r}' for n in differ)}.  One value at "
                             "stake per report: drop these arguments or rebuild the stake with them.")
    return stake


def build_action_lists(data: Any, *, period: str, observation_end: Any = None, ids: IdPolicy = "pseudonymized",
                       sla_hours: float = 72.0, save_rate: float = 0.2, recovery_rate: float = 0.2,
                       risk_horizon_days: float | None = None, top: int | None = None, alpha: float = 0.05,
                       segments: Segments | None = None, stake: ValueAtStake | None = None
                       ) -> dict[str, ActionList]:
    """The three action lists for a dataset and period (``observation_end`` defaults to the period's last day).

    ``segments`` (a DataFrame with ``customer_id`` and one label column per segmentation) puts each customer's
    segments into all three CRM exports (:func:`add_segments`).  ``stake`` (:func:`cxlib.clv.value_at_stake_pipeline`)
    is the report's value at stake, reused by the churn-risk list (:func:`churn_risk_list`); without it the
    pipeline runs with ``risk_horizon_days`` (None: 90) and its other defaults.

    Returns ``{"detractors": ..., "churn_risk": ..., "sla_breaches": ...}``.
    """
    check_choice("ids", ids, ID_POLICIES)
    end = (pd.Timestamp(observation_end) if observation_end is not None and str(observation_end) != ""
           else Period.parse(period).last_day)
    tables = getattr(data, "tables", data)
    if segments is not None:  # checked (and an old type converted) once for the three lists
        segments = segment_labels(segments, where="build_action_lists(segments=...)", stacklevel=4)
    return {
        "detractors": detractor_list(tables["survey_responses"], tables["customers"], period=period,
                                     recovery_rate=recovery_rate, ids=ids, segments=segments),
        "churn_risk": churn_risk_list(tables, observation_end=end, risk_horizon_days=risk_horizon_days,
                                      save_rate=save_rate, top=top, alpha=alpha, ids=ids, segments=segments,
                                      stake=stake),
        "sla_breaches": sla_breach_list(tables["tickets"], observation_end=end, sla_hours=sla_hours, ids=ids,
                                        segments=segments),
    }


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_action_lists(lists: Mapping[str, ActionList], out_dir: str | os.PathLike, *,
                       parameters: Mapping[str, Any] | None = None) -> list[Path]:
    """Write each list as ``<name>.csv`` and a ``manifest.json`` into ``out_dir``, each file atomically.

    Every file is written to a temporary file in ``out_dir`` and renamed into place, so a reader never
    sees half a file and a failed run leaves the previous files intact.  Timestamps are written as ISO
    8601 (UTC, naive), floats at full precision.  Text cells are quoted, and a text starting with ``=``,
    ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'`` so that a spreadsheet shows it
    instead of running it as a formula (:func:`cxlib.escape.csv_text`, OWASP's advice).  The manifest
    records per list the rows, id policy, expected value with its assumption and method, and ``parameters``.

    Returns the paths written (CSV files, then the manifest).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, item in lists.items():
        path = out / f"{name}.csv"
        # neutralised against formula injection, text quoted (cxlib.escape.csv_text: OWASP's advice)
        _atomic_write(path, csv_text(item.frame, date_format="%Y-%m-%dT%H:%M:%S"))
        paths.append(path)
    summary = pd.concat([i.to_frame() for i in lists.values()], ignore_index=True) if lists else pd.DataFrame()
    manifest = {"lists": json.loads(summary.to_json(orient="records")), "parameters": dict(parameters or {}),
                "ids_note": "customer_pseudonym = keyed HMAC-SHA256 pseudonym (CX_PSEUDONYM_KEY); customer_id = "
                            "real ids (explicit opt-in)"}
    mpath = out / "manifest.json"
    _atomic_write(mpath, json.dumps(manifest, indent=1, sort_keys=True, default=str))
    return [*paths, mpath]
