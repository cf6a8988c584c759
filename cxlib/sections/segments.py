"""Glue for the segments notebook: one summary row per segment and the segment findings.

Kept here (not in notebook cells) so that ``notebooks/60_segments.ipynb`` stays a few calls and the
logic is tested.  Frames keep full precision; formatting is the report layer's job.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

from ..errors import ParameterError, SmallSampleWarning
from ..findings import Finding
from ..metrics import nps
from ..segments.clusters import BehaviouralSegments, StabilityResult
from ..stats import check_alpha, t_interval_mean

__all__ = ["SUMMARY_COLUMNS", "segment_summary", "agreement", "planted_recovery", "segment_findings"]

SECTION = "segments"
#: Columns of :func:`segment_summary`.
SUMMARY_COLUMNS = ("segment", "n", "share", "spend_mean", "spend_ci_lower", "spend_ci_upper", "nps", "nps_ci_lower",
                   "nps_ci_upper", "nps_n", "members", "churn_probability", "ci_level", "method")


def segment_summary(features: pd.DataFrame, labels: pd.Series, *, churn_probability: pd.Series | None = None,
                    spend_col: str = "total_spend", nps_col: str = "latest_nps", alpha: float = 0.05) -> pd.DataFrame:
    """Size, value, NPS and churn risk of each segment, each with its n and interval.

    Parameters
    ----------
    features : DataFrame
        Customer features indexed by customer id (:func:`cxlib.segments.customer_features`).
    labels : Series
        Segment per customer (same index).
    churn_probability : Series, optional
        Probability of cancelling within the risk horizon per active member (indexed by customer id);
        the mean over the segment's members is reported, with their number.
    spend_col, nps_col : str
        Value (total spend to date, EUR) and the customer's latest 0-10 answer.
    alpha : float

    Returns
    -------
    DataFrame
        :data:`SUMMARY_COLUMNS`, one row per segment (largest first): spend mean with a Student-t interval,
        NPS of the customers' latest answers with the adjusted-Wald interval (NaN interval under 2
        answers), mean churn probability among members.

    Examples
    --------
    >>> f = pd.DataFrame({"total_spend": [10.0, 20, 30, 40, 50, 60], "latest_nps": [10, 9, 3, 10, np.nan, 8]},
    ...                  index=list("abcdef"))
    >>> s = segment_summary(f, pd.Series(list("AAABBB"), index=f.index))
    >>> s[["segment", "n", "spend_mean", "nps", "nps_n"]].values.tolist()
    [['A', 3, 20.0, 33.333333333333336, 3], ['B', 3, 50.0, 50.0, 2]]
    """
    check_alpha(alpha)
    labels = labels.reindex(features.index)
    rows = []
    for seg, idx in labels.groupby(labels, sort=True).groups.items():
        sub = features.loc[idx]
        v = sub[spend_col].to_numpy(dtype=float)
        v = v[np.isfinite(v)]
        mean = float(v.mean()) if v.size else math.nan
        _, lo, hi = t_interval_mean(mean, v.std(ddof=1) if v.size > 1 else math.nan, v.size, alpha=alpha)
        answers = sub[nps_col].dropna()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SmallSampleWarning)  # a NaN interval says it in the table
            r = nps(answers.astype(int).to_numpy(), alpha=alpha) if len(answers) else None
        members = churn_probability.reindex(idx).dropna() if churn_probability is not None else pd.Series([], dtype=float)
        rows.append({"segment": str(seg), "n": len(sub), "share": len(sub) / len(features), "spend_mean": mean,
                     "spend_ci_lower": float(lo), "spend_ci_upper": float(hi),
                     "nps": r.estimate if r else math.nan, "nps_ci_lower": r.ci_lower if r else math.nan,
                     "nps_ci_upper": r.ci_upper if r else math.nan, "nps_n": len(answers),
                     "members": len(members), "churn_probability": float(members.mean()) if len(members) else math.nan,
                     "ci_level": 1 - alpha,
                     "method": f"mean {spend_col.replace('_', ' ')} with t interval; NPS of latest answers, adjusted "
                               "Wald (Rocks 2016); mean Cox churn probability of active members"})
    out = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    return out.sort_values(["n", "segment"], ascending=[False, True], kind="stable").reset_index(drop=True)


def agreement(labels: pd.Series, reference: pd.Series) -> tuple[float, int]:
    """Adjusted Rand index between two labelings of the same customers (common index only), and n.

    >>> agreement(pd.Series([0, 0, 1, 1], index=list("abcd")), pd.Series(["x", "x", "y", "y"], index=list("abcd")))
    (1.0, 4)
    """
    common = labels.index.intersection(reference.index)
    if len(common) < 2:
        raise ParameterError(f"Only {len(common)} customers are labelled in both; an ARI needs at least 2.")
    return float(adjusted_rand_score(reference.loc[common].astype(str), labels.loc[common].astype(str))), len(common)


def planted_recovery(data, truth: pd.Series, *, observation_end, rng: np.random.Generator,
                     min_tenure_days: float = 365.0) -> tuple[float, int]:
    """ARI of the recovery recipe for the synthetic world's four planted groups, and n customers.

    The planted groups (light/heavy buyers x budget/premium baskets, ``truth_segments.parquet`` column
    ``behavioural_group``) differ in purchase rate and basket value, so the recipe clusters exactly those two
    signals: a 4-component Gaussian mixture on ``monetary`` (mean basket) and ``journeys_per_month``
    measured over two years, for customers known at least ``min_tenure_days`` (new customers have too few
    journeys to place). It checks that clustering *can* find planted groups; the report's segments are
    chosen by a criterion on more features and need not match them.
    """
    from ..segments.clusters import BehaviouralSegments
    from ..segments.features import customer_features

    f = customer_features(data, observation_end=observation_end, engagement_days=730)
    f = f[f["tenure_days"] >= min_tenure_days]
    model = BehaviouralSegments(k=4, algorithm="gmm", columns=["monetary", "journeys_per_month"]).fit(f, rng=rng)
    return agreement(model.labels_, truth)


def segment_findings(model: BehaviouralSegments, stable: StabilityResult, *, period: str,
                     truth_ari: tuple[float, int] | None = None) -> list[Finding]:
    """Findings: the number of behavioural segments, their bootstrap stability and (synthetic data) the ARI."""
    frame = stable.to_frame().set_index("kind")
    boot = frame.loc["bootstrap"]
    out = [Finding(key="segments_k", section=SECTION, label="Number of behavioural segments",
                   estimate=float(model.k_), n=float(model.n_), method=model.method_, unit="segments", period=period),
           Finding(key="segments_stability", section=SECTION,
                   label="Stability of the behavioural segments (bootstrap adjusted Rand index)",
                   estimate=float(boot["mean_ari"]), ci_lower=float(boot["ci_lower"]), ci_upper=float(boot["ci_upper"]),
                   ci_level=float(boot["ci_level"]), n=float(boot["replicates"]), method=stable.method, unit="ARI",
                   better="higher", period=period)]
    if truth_ari is not None:
        out.append(Finding(key="segments_truth_ari", section=SECTION,
                           label="Agreement of the behavioural segments with the planted groups (synthetic data)",
                           estimate=float(truth_ari[0]), n=float(truth_ari[1]), method="adjusted Rand index",
                           unit="ARI", better="higher", period=period))
    return out
