"""Glue for the VoC notebook: the comment frame, the display tables and the headline findings.

Kept here (not in notebook cells) so that the notebook stays a few calls and the logic is tested.
"""
from __future__ import annotations

import math

import pandas as pd

from .._deprecation import renamed_arguments
from ..findings import Finding
from ..periods import period_labels
from ..stats import Segment, segment_keys
from ..voc.drivers import DriverResult, impact_performance, key_drivers, theme_sentiment_drivers
from ..voc.sentiment import SentimentAgreement, score_sentiment

__all__ = ["comment_frame", "customers_of", "theme_key_drivers", "theme_overview", "voc_findings"]

SECTION = "voc"


def customers_of(data) -> pd.DataFrame:
    """The ``customers`` table of a dataset, or an empty one (only ``customer_id``) when the data have none."""
    return data.customers if "customers" in data else pd.DataFrame({"customer_id": pd.Series(dtype=object)})


def theme_key_drivers(comments: pd.DataFrame, tags: pd.DataFrame, themes, *, alpha: float = 0.05, rng=None,
                      n_boot: int = 500) -> tuple[DriverResult, pd.DataFrame]:
    """Key drivers of NPS among ``themes`` (each theme's comment sentiment) and their impact-performance quadrant.

    ``comments`` are one period's comments (``nps``, ``compound``) and ``tags`` their theme flags; the
    performance of a theme is the mean sentiment of its mentions on a 0-100 scale. Returns
    ``(drivers, quadrant)`` of :func:`cxlib.voc.key_drivers` and :func:`cxlib.voc.impact_performance`.
    """
    themes = list(themes)
    sentiment = theme_sentiment_drivers(tags[themes], comments["compound"])
    found = key_drivers(pd.concat([comments[["nps"]], sentiment], axis=1), outcome="nps", drivers=themes,
                        alpha=alpha, rng=rng, n_boot=n_boot)
    perf = {t: 50 * (1 + comments.loc[tags[t], "compound"].mean()) for t in themes}
    return found, impact_performance(found, performance=perf)


@renamed_arguments(segment_columns="segment")
def comment_frame(responses: pd.DataFrame, customers: pd.DataFrame, *,
                  segment: Segment = ("loyalty_tier", "region"), freq: str = "Q") -> pd.DataFrame:
    """Responses with a comment, their customer segments (the ``segment`` columns of ``customers``; old name
    ``segment_columns``), VADER sentiment and period (column ``quarter``: the label of the period of kind
    ``freq`` holding the answer, a quarter unless the review is monthly or yearly).

    Raw text stays in this in-memory frame for analysis; everything shown is redacted later.
    ``customer_id`` is dropped so that no raw id can reach an output.

    Examples
    --------
    >>> r = pd.DataFrame({"response_id": ["R1", "R2"], "customer_id": ["C1", "C2"], "nps": [9, 2],
    ...                   "comment": ["Lovely staff", None],
    ...                   "responded_at": pd.to_datetime(["2025-11-02", "2025-11-03"])})
    >>> c = pd.DataFrame({"customer_id": ["C1", "C2"], "loyalty_tier": ["gold", "bronze"]})
    >>> comment_frame(r, c, segment=["loyalty_tier"])[["loyalty_tier", "label", "quarter"]]
      loyalty_tier     label quarter
    0         gold  positive  2025Q4
    """
    segs = [c for c in segment_keys(segment) if c in customers.columns and c not in responses.columns]
    has = responses["comment"].notna() & (responses["comment"].astype(str).str.strip() != "")
    frame = responses.loc[has].merge(customers[["customer_id", *segs]], on="customer_id", how="left")
    frame = frame.drop(columns="customer_id").reset_index(drop=True)
    frame = frame.join(score_sentiment(frame))
    frame["quarter"] = period_labels(frame["responded_at"], freq)
    return frame


def theme_overview(shares: pd.DataFrame, change: pd.DataFrame) -> pd.DataFrame:
    """One display row per theme: this period's share and CI, the change since the comparison and its test.

    Columns ``theme, n, mentions, share, share_lower, share_upper, change, change_lower,
    change_upper, p_value, mean_score`` (shares and changes as fractions; formatting is the
    report layer's job).

    >>> shares = pd.DataFrame({"theme": ["staff"], "n": [200], "mentions": [50], "share": [0.25],
    ...                        "ci_lower": [0.19], "ci_upper": [0.31], "mean_score": [6.5]})
    >>> change = pd.DataFrame({"theme": ["staff"], "difference": [0.05], "ci_lower": [-0.02],
    ...                        "ci_upper": [0.12], "p_value": [0.16]})
    >>> theme_overview(shares, change)[["theme", "share", "change", "p_value"]].to_dict("records")
    [{'theme': 'staff', 'share': 0.25, 'change': 0.05, 'p_value': 0.16}]
    """
    s = shares.set_index("theme")
    c = change.set_index("theme").reindex(s.index)
    return pd.DataFrame({
        "theme": s.index, "n": s["n"].to_numpy(), "mentions": s["mentions"].to_numpy(),
        "share": s["share"].to_numpy(), "share_lower": s["ci_lower"].to_numpy(), "share_upper": s["ci_upper"].to_numpy(),
        "change": c["difference"].to_numpy(), "change_lower": c["ci_lower"].to_numpy(),
        "change_upper": c["ci_upper"].to_numpy(), "p_value": c["p_value"].to_numpy(),
        "mean_score": s["mean_score"].to_numpy()}).reset_index(drop=True)


def voc_findings(*, shares: pd.DataFrame, change: pd.DataFrame, agreement: SentimentAgreement | None,
                 drivers: DriverResult | None, period: str, comparison_period: str, k: int = 10) -> list[Finding]:
    """Headline findings of the VoC section for the executive summary.

    The most mentioned theme (share, Wilson CI), the largest significant change in a theme's
    share (Newcombe CI, z-test p) if any, the sentiment-score agreement (Spearman rho) and the
    top key driver (relative weight with bootstrap CI).  Cells under ``k`` comments are never used; an
    agreement or drivers that could not be estimated (``None``) give no finding.

    Examples
    --------
    >>> sh = pd.DataFrame({"theme": ["price", "staff"], "n": [200, 200], "mentions": [60, 20],
    ...                    "share": [0.3, 0.1], "ci_lower": [0.24, 0.07], "ci_upper": [0.37, 0.15]})
    >>> ch = pd.DataFrame({"theme": ["price", "staff"], "difference": [0.1, 0.0], "ci_lower": [0.02, -0.05],
    ...                    "ci_upper": [0.18, 0.05], "p_value": [0.01, 0.9], "n": [200, 200],
    ...                    "n_comparison": [190, 190], "ci_level": [0.95, 0.95]})
    >>> ag = SentimentAgreement("nps", 180, 0.7, 0.6, 0.77, 1e-20, 120, 0.95, 0.9, 0.98, 0.95, "m")
    >>> [f.key for f in voc_findings(shares=sh, change=ch, agreement=ag, drivers=None, period="2025Q4",
    ...                              comparison_period="2025Q3")]
    ['voc_top_theme', 'voc_theme_change', 'voc_sentiment_agreement']
    """
    out = []
    ok = shares[shares["n"] >= k]
    if len(ok):
        top = ok.sort_values("share", ascending=False, kind="stable").iloc[0]
        out.append(Finding(key="voc_top_theme", section=SECTION,
                           label=f"The share of comments on {top.theme} (the most mentioned theme)",
                           estimate=float(top.share), ci_lower=float(top.ci_lower), ci_upper=float(top.ci_upper),
                           n=float(top.n), unit="share", better="neutral", period=period,
                           method="share of comments mentioning the theme (keyword taxonomy); Wilson interval",
                           detail=f"{int(top.mentions)} of {int(top.n)} comments"))
    sig = change[(change["p_value"] < 1 - change["ci_level"]) & (change["n"] >= k) & (change["n_comparison"] >= k)]
    if len(sig):
        row = sig.loc[sig["difference"].abs().idxmax()]
        out.append(Finding(key="voc_theme_change", section=SECTION,
                           label=f"The share of comments on {row.theme}", estimate=float(row.difference),
                           ci_lower=float(row.ci_lower), ci_upper=float(row.ci_upper), p_value=float(row.p_value),
                           n=float(row.n + row.n_comparison), unit="share", better="neutral",
                           period=period, comparison=comparison_period,
                           method="difference in shares; Newcombe interval; two-proportion z-test"))
    if agreement is not None and not math.isnan(agreement.spearman_rho):
        out.append(Finding(key="voc_sentiment_agreement", section=SECTION,
                           label=f"The rank correlation of comment sentiment with {agreement.score.upper()}",
                           estimate=agreement.spearman_rho, ci_lower=agreement.rho_ci_lower,
                           ci_upper=agreement.rho_ci_upper, p_value=agreement.p_value, n=float(agreement.n),
                           unit="", better="higher", period=period,
                           method="VADER compound vs score; Spearman rho, Fisher-z (Bonett-Wright) interval",
                           detail=f"polarity agreement {agreement.agreement:.3f} of {agreement.n_polar}"))
    if drivers is not None and len(drivers.table):
        d = drivers.table.iloc[0]
        out.append(Finding(key="voc_top_driver", section=SECTION,
                           label=f"The share of explained {drivers.outcome.upper()} variance carried by {d.driver} "
                                 "(the strongest driver)",
                           estimate=float(d.importance), ci_lower=float(d.importance_ci_lower),
                           ci_upper=float(d.importance_ci_upper), p_value=float(d.p_value), n=float(d.n),
                           unit="share", better="neutral", period=period,
                           method="relative weights (Johnson 2000), percentile bootstrap interval"))
    return out
