"""Rule-based segments: customer-attribute rules and the conventional value-based RFM segments.

RFM scores each customer 1-5 on Recency (5 = bought most recently), Frequency (5 = most purchases)
and Monetary value (5 = highest mean basket) by quintiles of the customer base, and names the
customer from the (R, F) pair with the widely used grid of :data:`RFM_SEGMENT_RULES`:

====================  ========  ========  ==============================================
segment               R score   F score   reading
====================  ========  ========  ==============================================
champions             5         4-5       bought recently, buy often
loyal                 3-4       4-5       buy often, a little less recently
potential loyalists   4-5       2-3       recent, buying again
new                   5         1         bought recently for the first times
promising             4         1         recent, few purchases
need attention        3         3         average on both
about to sleep        3         1-2       slipping, few purchases
cannot lose           1-2       5         used to buy very often, not for a long time
at risk               1-2       3-4       used to buy often, not for a while
hibernating           1-2       1-2       long ago and rarely (except R = F = 1)
lost                  1         1         the oldest, rarest buyers
====================  ========  ========  ==============================================

The thresholds are quintiles, so the segments are relative to the customer base at the
observation end (a "champion" is in the top fifth), not absolute spend levels.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import DataContractError, ParameterError

__all__ = ["RFM_SEGMENTS", "RFM_SEGMENT_RULES", "RFM_COLUMNS", "NO_PURCHASE", "rfm_scores", "rfm_segments",
           "rule_segments", "attribute_segments"]

#: (segment, R scores, F scores) in priority order: the first rule a customer satisfies names them.
RFM_SEGMENT_RULES: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...] = (
    ("champions", (5,), (4, 5)),
    ("loyal", (3, 4), (4, 5)),
    ("potential loyalists", (4, 5), (2, 3)),
    ("new", (5,), (1,)),
    ("promising", (4,), (1,)),
    ("need attention", (3,), (3,)),
    ("about to sleep", (3,), (1, 2)),
    ("cannot lose", (1, 2), (5,)),
    ("at risk", (1, 2), (3, 4)),
    ("lost", (1,), (1,)),
    ("hibernating", (1, 2), (1, 2)),
)
#: Label of customers without any purchase (no RFM score).
NO_PURCHASE = "no purchase"
#: Segment names in the order of :data:`RFM_SEGMENT_RULES`, then :data:`NO_PURCHASE`.
RFM_SEGMENTS = (*(r[0] for r in RFM_SEGMENT_RULES), NO_PURCHASE)
#: Columns of :func:`rfm_segments`.
RFM_COLUMNS = ("recency_days", "frequency", "monetary", "r_score", "f_score", "m_score", "rfm_cell", "segment")


def _score(values: pd.Series, bins: int, *, higher_is_better: bool) -> pd.Series:
    """Quantile score 1..bins from minimum ranks (ties share the lowest score of their span; deterministic)."""
    v = values if higher_is_better else -values
    pct = v.rank(method="min", pct=True)
    return np.ceil(pct * bins).clip(1, bins).astype("Int64")


def rfm_scores(features: pd.DataFrame, *, bins: int = 5, recency_col: str = "recency_days",
               frequency_col: str = "frequency", monetary_col: str = "monetary") -> pd.DataFrame:
    """Recency, frequency and monetary scores 1..``bins`` by quantiles of the customers who bought.

    Parameters
    ----------
    features : DataFrame
        One row per customer (:func:`cxlib.segments.customer_features`).
    bins : int, default 5
        Number of score levels; quintiles are the convention of the RFM literature (Hughes 1994).
    recency_col, frequency_col, monetary_col : str
        Days since the last purchase (lower is better), number of purchases, mean basket value.

    Returns
    -------
    DataFrame
        Same index; ``r_score``, ``f_score``, ``m_score`` (nullable integers, missing when the customer
        never bought) and ``rfm_cell`` (``"545"``).

    Notes
    -----
    :math:`s_i = \\lceil b \\cdot \\mathrm{rank}_i / n \\rceil` with minimum ranks among the :math:`n`
    buyers, so tied values share the lowest score of their span (every one-purchase customer scores F = 1) and
    the result does not depend on the row order.

    References
    ----------
    Hughes, A. M. (1994). Strategic Database Marketing. Probus. Fader, P. S., Hardie, B. G. S. & Lee, K. L.
    (2005). RFM and CLV: using iso-value curves for customer base analysis. J. Marketing Research 42(4).

    Examples
    --------
    >>> f = pd.DataFrame({"recency_days": [1, 10, 100, 200, np.nan], "frequency": [9, 5, 5, 1, 0],
    ...                   "monetary": [50, 20, 80, 10, np.nan]}, index=list("abcde"))
    >>> rfm_scores(f, bins=4)["rfm_cell"].tolist()
    ['443', '322', '224', '111', <NA>]
    """
    if not isinstance(bins, int) or bins < 2:
        raise ParameterError(f"bins={bins!r} must be an integer of at least 2 (5 = quintiles).")
    missing = [c for c in (recency_col, frequency_col, monetary_col) if c not in features.columns]
    if missing:
        raise DataContractError(f"RFM needs column(s) {missing}; found {list(features.columns)}.",
                                column=missing[0], rule="column present")
    buyers = features[recency_col].notna() & (features[frequency_col].fillna(0) > 0)
    b = features.loc[buyers]
    out = pd.DataFrame(index=features.index)
    for name, col, better in (("r_score", recency_col, False), ("f_score", frequency_col, True),
                              ("m_score", monetary_col, True)):
        out[name] = _score(b[col].astype(float), bins, higher_is_better=better).reindex(features.index)
    cell = out["r_score"].astype(str) + out["f_score"].astype(str) + out["m_score"].fillna(1).astype(str)
    out["rfm_cell"] = cell.where(buyers, pd.NA).astype("string")
    return out


def rfm_segments(features: pd.DataFrame, *, recency_col: str = "recency_days", frequency_col: str = "frequency",
                 monetary_col: str = "monetary") -> pd.DataFrame:
    """The conventional named RFM segments (champions, loyal, at risk, hibernating, ...) from quintile scores.

    Parameters
    ----------
    features : DataFrame
        One row per customer with the three RFM columns (:func:`cxlib.segments.customer_features`).
    recency_col, frequency_col, monetary_col : str
        As in :func:`rfm_scores`.

    Returns
    -------
    DataFrame
        Same index, columns :data:`RFM_COLUMNS`; ``segment`` is an ordered categorical with the
        levels :data:`RFM_SEGMENTS` (see the module docstring for the thresholds); customers who
        never bought are :data:`NO_PURCHASE`.

    Examples
    --------
    >>> f = pd.DataFrame({"recency_days": np.arange(1.0, 11.0), "frequency": [9, 8, 1, 1, 5, 6, 7, 1, 9, 1],
    ...                   "monetary": np.full(10, 20.0)})
    >>> rfm_segments(f)["segment"].tolist()[:4]
    ['champions', 'champions', 'promising', 'promising']
    """
    scores = rfm_scores(features, bins=5, recency_col=recency_col, frequency_col=frequency_col,
                        monetary_col=monetary_col)
    seg = pd.Series(NO_PURCHASE, index=features.index, dtype=object)
    named = pd.Series(False, index=features.index)
    r, f = scores["r_score"], scores["f_score"]
    for name, rs, fs in RFM_SEGMENT_RULES:
        hit = (r.isin(rs) & f.isin(fs)).fillna(False).astype(bool) & ~named
        seg[hit] = name
        named |= hit
    out = pd.concat([features[[recency_col, frequency_col, monetary_col]].rename(columns={
        recency_col: "recency_days", frequency_col: "frequency", monetary_col: "monetary"}), scores], axis=1)
    out["segment"] = pd.Categorical(seg, categories=list(RFM_SEGMENTS), ordered=True)
    return out[list(RFM_COLUMNS)]


def rule_segments(data: pd.DataFrame, *, rules: Mapping[str, str], default: str = "other") -> pd.Series:
    """Name each row by the first rule (a pandas query expression) it satisfies.

    Parameters
    ----------
    data : DataFrame
        Customers (or the feature table) with the columns the rules use.
    rules : mapping of segment name to expression
        Evaluated in order with :meth:`pandas.DataFrame.eval`, e.g.
        ``{"young app users": "age_band in ['18-24', '25-34'] and acquisition_channel == 'app'"}``.
    default : str
        Name of rows that satisfy no rule.

    Returns
    -------
    pandas.Series
        Segment name per row (same index), a categorical with the rules' order then ``default``.

    Raises
    ------
    ParameterError
        An expression fails to evaluate or does not give one boolean per row.

    Examples
    --------
    >>> c = pd.DataFrame({"loyalty_tier": ["gold", "bronze", "silver"], "region": ["North", "North", "South"]})
    >>> rule_segments(c, rules={"gold": "loyalty_tier == 'gold'", "northern": "region == 'North'"}).tolist()
    ['gold', 'northern', 'other']
    """
    if not rules:
        raise ParameterError("rules must name at least one segment.")
    if default in rules:
        raise ParameterError(f"default={default!r} is also a rule name; choose another default.")
    seg = pd.Series(default, index=data.index, dtype=object)
    taken = pd.Series(False, index=data.index)
    for name, expr in rules.items():
        try:
            hit = data.eval(expr)
        except Exception as exc:  # pandas raises many types for a bad expression
            raise ParameterError(f"Rule {name!r}: expression {expr!r} failed ({type(exc).__name__}: {exc}); "
                                 f"columns available: {list(data.columns)}.") from exc
        if not isinstance(hit, pd.Series) or hit.dtype != bool:
            raise ParameterError(f"Rule {name!r}: expression {expr!r} must give one True/False per row.")
        seg[hit & ~taken] = name
        taken |= hit
    return pd.Series(pd.Categorical(seg, categories=[*rules, default]), index=data.index, name="segment")


def attribute_segments(customers: pd.DataFrame, *, columns: Sequence[str] = ("loyalty_tier", "region"),
                       sep: str = " / ") -> pd.Series:
    """Cross-classification of customer attributes: ``"gold / North"``, one segment per combination.

    Examples
    --------
    >>> c = pd.DataFrame({"loyalty_tier": ["gold", "bronze"], "region": ["North", "South"]})
    >>> attribute_segments(c).tolist()
    ['gold / North', 'bronze / South']
    """
    missing = [c for c in columns if c not in customers.columns]
    if missing or not columns:
        raise DataContractError(f"Attribute column(s) {missing or list(columns)} are missing; found "
                                f"{list(customers.columns)}.", column=(missing or [None])[0], rule="column present")
    label = customers[list(columns)].astype(str).agg(sep.join, axis=1)
    return label.rename("segment")
