"""Glue for the CLV notebook: CLV by segment, the holdout check, the at-risk table and the findings.

Kept here (not in notebook cells) so that ``notebooks/35_clv.ipynb`` stays a few calls and the logic is
tested.  The analyses live in :mod:`cxlib.clv` (:func:`cxlib.clv.customer_clv`,
:func:`cxlib.clv.value_at_stake`, the value-at-stake pipeline :func:`cxlib.clv.value_at_stake_pipeline`);
their old names here are deprecated aliases.  Results keep full precision; formatting is the report layer's job.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .._deprecation import moved_names, renamed_arguments
from ..errors import ParameterError
from ..findings import Finding
from ..stats import Segment, segment_keys, segment_labels
from ..clv.bgnbd import BetaGeo
from ..clv.gammagamma import GammaGamma

if TYPE_CHECKING:
    from ..clv.stake import ClvSample

__all__ = ["report_models", "models_sentence", "segment_clv", "holdout_check", "top_at_risk", "clv_findings", "SEGMENT_COLUMNS"]
#: Deprecated aliases (one release): the analyses moved to :mod:`cxlib.clv`.
__getattr__ = moved_names("cxlib.sections.clv", "cxlib.clv", ["ClvSample", "customer_clv", "value_at_stake"])

SECTION = "clv"
SEGMENT_COLUMNS = ("segment_column", "segment", "n", "mean_clv", "ci_lower", "ci_upper", "total_clv",
                   "total_lower", "total_upper", "ci_level", "method")
HOLDOUT_COLUMNS = ("frequency_bucket", "n", "predicted", "observed", "difference")


@renamed_arguments(segment_columns="segment")
def segment_clv(sample: ClvSample, segments: pd.DataFrame, *, segment: Segment,
                alpha: float = 0.05) -> pd.DataFrame:
    """Mean and total CLV per segment level with delta-method intervals, overall first.

    ``segments`` has ``customer_id`` (the index of ``sample.clv``) and the ``segment`` columns, one row per
    customer (e.g. the customers table; :func:`cxlib.stats.segment_labels`); ``segment_columns`` is the
    deprecated old name of ``segment``.  Columns :data:`SEGMENT_COLUMNS`.
    """
    keys = segment_keys(segment)
    if isinstance(segments, pd.DataFrame):
        missing = [c for c in keys if c not in segments.columns]
        if missing:
            raise ParameterError(f"segment columns {missing} not found; the frame has {list(segments.columns)}.")
    labels = segment_labels(segments, segment=keys, where="segment_clv(segments=...)", stacklevel=5)
    seg = labels.set_index("customer_id").reindex(sample.clv.index)
    rows = []
    for col in [None, *keys]:
        labels = np.full(len(seg), "all", dtype=object) if col is None else seg[col].astype(str).to_numpy()
        for level in (["all"] if col is None else sorted(pd.unique(labels))):
            mask = labels == level
            n = int(mask.sum())
            m, _, lo, hi = sample.interval(lambda v, k=mask: float(v[k].mean()), alpha=alpha)
            rows.append(dict(segment_column=col or "all", segment=level, n=n, mean_clv=m, ci_lower=lo,
                             ci_upper=hi, total_clv=m * n, total_lower=lo * n, total_upper=hi * n,
                             ci_level=1 - alpha, method=sample.method))
    return pd.DataFrame(rows, columns=list(SEGMENT_COLUMNS))


def holdout_check(bg: BetaGeo, rfm_holdout: pd.DataFrame, *, max_bucket: int = 5) -> pd.DataFrame:
    """Mean predicted vs observed repeat purchases in the holdout period by calibration frequency.

    ``rfm_holdout`` comes from :func:`cxlib.clv.rfm_summary` with a ``calibration_end`` (it has
    ``frequency_holdout`` and ``duration_holdout``).  Buckets ``0 .. max_bucket-1`` and ``max_bucket+``,
    then ``all``.  Columns :data:`HOLDOUT_COLUMNS`.
    """
    if "frequency_holdout" not in rfm_holdout.columns:
        raise ParameterError("rfm_holdout has no holdout columns: call rfm_summary with calibration_end.")
    pred = bg.predict_purchases(rfm_holdout, t=float(rfm_holdout["duration_holdout"].iloc[0])).to_numpy()
    obs = rfm_holdout["frequency_holdout"].to_numpy(dtype=float)
    f = rfm_holdout["frequency"].to_numpy()
    bucket = np.where(f >= max_bucket, f"{max_bucket}+", f.astype(str))
    rows = []
    for b in [*[str(i) for i in range(max_bucket)], f"{max_bucket}+", "all"]:
        sel = np.ones(len(f), dtype=bool) if b == "all" else bucket == b
        if sel.any():
            rows.append(dict(frequency_bucket=b, n=int(sel.sum()), predicted=float(pred[sel].mean()),
                             observed=float(obs[sel].mean()), difference=float(obs[sel].mean() - pred[sel].mean())))
    return pd.DataFrame(rows, columns=list(HOLDOUT_COLUMNS))


def top_at_risk(stake: pd.DataFrame, *, n: int = 10, pseudonymize: Callable[[pd.DataFrame], pd.DataFrame]
                ) -> tuple[pd.DataFrame, str]:
    """The ``n`` subscribers with the most value at stake, ids replaced by pseudonyms, and a note.

    ``pseudonymize`` is :func:`cxlib.privacy.pseudonymize_frame`.  A missing pseudonym key (the
    ``PseudonymKeyWarning``) becomes a one-sentence note for the report instead of a warning block.

    >>> stake = pd.DataFrame({"customer_id": ["C1", "C2", "C3"], "value_at_stake": [310.0, 120.5, None]})
    >>> shown, note = top_at_risk(stake, n=2, pseudonymize=lambda f: f.assign(customer_id=["P9f2", "P07c"]))
    >>> shown.to_dict("records"), note
    ([{'customer': 'P9f2', 'value_at_stake': 310.0}, {'customer': 'P07c', 'value_at_stake': 120.5}], 'Customer ids are replaced by keyed pseudonyms.')
    """
    top = stake.dropna(subset=["value_at_stake"]).head(n)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        shown = pseudonymize(top)
    keyless = any(type(w.message).__name__ == "PseudonymKeyWarning" for w in caught)
    note = ("Customer ids are replaced by keyed pseudonyms" + (
        "; they use the public demo key, so they protect nothing: set the project's pseudonym key "
        "(CX_PSEUDONYM_KEY) before sharing this list." if keyless else "."))
    return shown.rename(columns={"customer_id": "customer"}).reset_index(drop=True), note


@renamed_arguments(segments="segment_table")
def clv_findings(*, sample: ClvSample, segment_table: pd.DataFrame,
                 total_at_stake: tuple[float, float, float, float] | None, n_at_risk: int, risk_horizon_days: float,
                 bg: BetaGeo | None = None, gg: GammaGamma | None = None,
                 period: str, currency: str = "EUR", alpha: float = 0.05) -> list[Finding]:
    """Headline findings: median and total CLV, CLV at stake among subscribers and, optionally, the parameters.

    ``segment_table`` is the table of :func:`segment_clv` (its overall row gives the total; ``segments`` is
    the deprecated old name of this argument, which is not a ``segments=`` label frame).

    ``clv_median`` (median customer CLV), ``clv_total`` (sum over the customer base), ``clv_at_risk`` (sum of
    churn probability x CLV over active subscribers), all with delta-method intervals; with ``bg``/``gg``,
    one ``clv_param_<name>`` finding per model parameter (log-scale Wald interval) for model checks.
    Without a value at stake (``total_at_stake`` None: no subscriptions in the data) ``clv_at_risk`` is left out.
    """
    out = []
    n = float(len(sample.clv))
    med = sample.interval(lambda v: float(np.median(v)), alpha=alpha)
    common = dict(section=SECTION, ci_level=1 - alpha, period=period, unit=currency)
    out.append(Finding(key="clv_median", label="Median customer lifetime value", estimate=med[0],
                       ci_lower=med[2], ci_upper=med[3], n=n, better="higher", method=sample.method, **common))
    total = segment_table[segment_table["segment_column"] == "all"].iloc[0]
    out.append(Finding(key="clv_total", label="Total customer lifetime value of the customer base",
                       estimate=float(total.total_clv), ci_lower=float(total.total_lower),
                       ci_upper=float(total.total_upper), n=n, better="higher", method=sample.method, **common))
    t = total_at_stake
    if t is not None:
        out.append(Finding(key="clv_at_risk",
                           label=f"Customer lifetime value at stake (churn probability within {risk_horizon_days:g} "
                                 "days x CLV, active subscribers)",
                           estimate=t[0], ci_lower=t[2], ci_upper=t[3], n=float(n_at_risk), better="lower",
                           method="Cox churn probability x " + sample.method, **common))
    for model in (m for m in (bg, gg) if m is not None):
        s = model.summary
        for r in s.itertuples():
            out.append(Finding(key=f"clv_param_{type(model).__name__.lower()}_{r.param}", section=SECTION,
                               label=f"{type(model).__name__} parameter {r.param}", estimate=float(r.estimate),
                               ci_lower=float(r.ci_lower), ci_upper=float(r.ci_upper), ci_level=float(r.ci_level),
                               n=float(r.n), method=str(r.method), period=period, unit="", better="neutral"))
    return out


def report_models(ds, parameters, *, calibration_end: pd.Timestamp, with_stake: bool):
    """The CLV section's models: the value-at-stake pipeline when the data allow, else the CLV models alone.

    Returns ``(staked, models, sample, checked)``: the :func:`cxlib.sections.notes.attempt` of
    :func:`cxlib.clv.value_at_stake_pipeline` (None when the section's coverage leaves it out), the models fitted
    on all purchases up to ``parameters.observation_end``, every customer's CLV, and the models of the model
    checks (fitted up to ``calibration_end`` when it is earlier; else the same models).  Without the models the
    section has nothing to show: :func:`cxlib.sections.notes.essential` raises ``InsufficientDataError``.
    """
    from .. import clv
    from .notes import attempt, essential

    p, end = parameters, parameters.observation_end
    staked = attempt("The value at stake", clv.value_at_stake_pipeline, ds, p) if with_stake else None
    vas = staked.result if staked is not None else None
    models = vas.models if vas is not None else essential(
        "The lifetime-value models (BG/NBD and Gamma-Gamma)", clv.fit_clv_models, ds.transactions,
        observation_end=end, alpha=p.alpha)
    sample = vas.sample if vas is not None else clv.customer_clv(
        models.bg, models.gg, models.rfm, horizon=p.clv_horizon_weeks, annual_discount_rate=p.annual_discount_rate,
        margin=p.margin)
    checked = models if calibration_end >= end else clv.fit_clv_models(
        ds.transactions, observation_end=end, calibration_end=calibration_end, alpha=p.alpha)
    return staked, models, sample, checked


def models_sentence(checked, models, *, calibration_end: pd.Timestamp, end: pd.Timestamp) -> str:
    """What the CLV models were fitted on, in one sentence."""
    from ..clv import repeat_buyers

    cal = checked.rfm
    return (f"Models fitted on {len(cal):,} customers' purchases up to {calibration_end.date()} "
            f"({len(repeat_buyers(cal)):,} repeat buyers for the spend model)"
            + (f" for the checks, and on all purchases up to {end.date()} for the values" if calibration_end < end
               else "")
            + f"; lifetime values for the {len(models.rfm):,} customers with a purchase history on {end.date()}.")
