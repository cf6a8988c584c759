"""Sentiment of free-text comments (VADER, offline) and its agreement with the numeric scores.

VADER is a lexicon-and-rules model: its 7,500-word lexicon ships inside the ``vadersentiment``
wheel (``vader_lexicon.txt``) and is read from disk, so nothing is downloaded at run time (a test
runs it with sockets disabled).  It was built for short English social-media text, which survey
comments resemble; it knows negation ("not good"), intensifiers ("very"), capitals and "but".
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .._deprecation import renamed_arguments
from ..display import displayable
from ..errors import DataContractError, ParameterError
from ..metrics import by_segment, mean_score
from ..stats import Segment, check_alpha, wilson_interval, z_value

__all__ = ["SENTIMENT_COLUMNS", "AGREEMENT_COLUMNS", "SCORE_CUTOFFS", "CX_LEXICON", "score_sentiment", "SentimentAgreement",
           "sentiment_agreement", "sentiment_by"]

#: Columns of the per-comment sentiment table.
SENTIMENT_COLUMNS = ("compound", "positive", "neutral", "negative", "label")
#: Columns of :meth:`SentimentAgreement.to_frame`.
AGREEMENT_COLUMNS = ("score", "n", "spearman_rho", "rho_ci_lower", "rho_ci_upper", "p_value", "n_polar",
                     "agreement", "agreement_ci_lower", "agreement_ci_upper", "ci_level", "method")
#: Score scales known to :func:`sentiment_agreement`: (highest "negative" score, lowest "positive"
#: score, higher_is_better).  NPS: detractors 0-6, promoters 9-10; CSAT: 1-2 vs 4-5; CES (effort,
#: lower is better): 5-7 hard vs 1-3 easy.
SCORE_CUTOFFS = {"nps": (6, 9, True), "csat": (2, 4, True), "ces": (3, 5, False)}

#: VADER's own thresholds on the compound score (Hutto & Gilbert 2014, README of vaderSentiment).
POSITIVE_THRESHOLD = 0.05
NEGATIVE_THRESHOLD = -0.05


#: Retail-CX words missing from the VADER lexicon, with valences on VADER's -4..+4 scale set by
#: analogy with lexicon neighbours ("unhelpful" mirrors "helpful" 1.8, "crashing" copies "crash"
#: -1.7, "overpriced" sits near "ripoff"-like entries).  Pass ``lexicon=None`` for plain VADER.
CX_LEXICON = {
    "crashing": -1.7, "crashes": -1.7, "crashed": -1.7, "glitch": -1.3, "glitchy": -1.5, "buggy": -1.5,
    "unhelpful": -1.8, "overpriced": -2.0, "ripoff": -2.3, "expensive": -1.0, "late": -1.0, "slow": -1.0,
    "hassle": -1.5, "nightmare": -2.5, "froze": -1.5, "freezing": -1.0, "complicated": -1.0, "stained": -1.3, "scratched": -1.0, "unusable": -2.0,
    "quick": 0.8, "speedy": 1.0, "smooth": 1.0, "seamless": 1.5, "affordable": 1.2,
}


@lru_cache(maxsize=4)
def _analyzer(updates: tuple[tuple[str, float], ...] = ()):
    # imported here: no work at ``import cxlib`` time; the lexicon is read once per process
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    analyzer = SentimentIntensityAnalyzer()
    analyzer.lexicon.update(dict(updates))
    return analyzer


def _text_column(data: Any, col: str) -> pd.Series:
    if isinstance(data, pd.DataFrame):
        if col not in data.columns:
            raise DataContractError(f"Column {col!r} is missing; the frame has {list(data.columns)}. "
                                    "Pass col= with the name of the comment column.", column=col,
                                    rule="column present")
        return data[col]
    if isinstance(data, pd.Series):
        return data
    return pd.Series(list(data), dtype=object)


def score_sentiment(data: pd.DataFrame | pd.Series | list[str], *, col: str = "comment",
                    lexicon: dict[str, float] | None = CX_LEXICON) -> pd.DataFrame:
    """VADER sentiment of every comment.

    Parameters
    ----------
    data : DataFrame, Series or list of str
        Comments; missing or blank comments get NaN scores and no label.
    col : str
        Comment column when ``data`` is a frame.
    lexicon : dict, optional
        Words added to (or overriding) the VADER lexicon; default :data:`CX_LEXICON`, the
        retail words VADER lacks ("crashing", "overpriced", "late").  ``None`` is plain VADER.

    Returns
    -------
    DataFrame
        Same index as ``data``; columns :data:`SENTIMENT_COLUMNS`: ``compound`` (-1..1, the
        normalised sum of word valences), ``positive``, ``neutral``, ``negative`` (shares of the
        text, summing to 1) and ``label`` (``"positive"`` for compound >= 0.05, ``"negative"`` for
        <= -0.05, else ``"neutral"``).

    Notes
    -----
    compound :math:`= s/\\sqrt{s^2 + 15}` where :math:`s` is the sum of the rule-adjusted
    lexicon valences of the words (VADER's normalisation, alpha = 15).

    References
    ----------
    Hutto, C. J. & Gilbert, E. (2014). VADER: a parsimonious rule-based model for sentiment analysis
    of social media text. Proceedings of ICWSM-14, 216-225.

    Examples
    --------
    >>> s = score_sentiment(["The staff were friendly and really helpful.", "The app keeps crashing.", None])
    >>> s["label"].tolist()
    ['positive', 'negative', None]
    >>> s["compound"].round(4).tolist()
    [0.7425, -0.4019, nan]
    >>> score_sentiment(["The app keeps crashing."], lexicon=None)["label"].tolist()
    ['neutral']
    """
    texts = _text_column(data, col)
    analyzer = _analyzer(tuple(sorted((lexicon or {}).items())))
    rows = []
    for text in texts.tolist():
        if text is None or (isinstance(text, float) and math.isnan(text)) or text is pd.NA or not str(text).strip():
            rows.append((np.nan, np.nan, np.nan, np.nan, None))
            continue
        p = analyzer.polarity_scores(str(text))
        c = p["compound"]
        label = "positive" if c >= POSITIVE_THRESHOLD else "negative" if c <= NEGATIVE_THRESHOLD else "neutral"
        rows.append((c, p["pos"], p["neu"], p["neg"], label))
    out = pd.DataFrame(rows, columns=list(SENTIMENT_COLUMNS), index=texts.index)
    out["label"] = out["label"].astype(object)
    return out


@displayable()
@dataclass(frozen=True)
class SentimentAgreement:
    """How well comment sentiment agrees with a numeric score.

    Attributes
    ----------
    score : str
        The score compared (``"nps"``, ``"csat"``, ``"ces"``).
    n : int
        Responses with both a scored comment and the score.
    spearman_rho, rho_ci_lower, rho_ci_upper, p_value : float
        Spearman rank correlation of the compound score with the score (oriented so that positive
        means agreement, i.e. effort scores are negated), its interval and the p-value of rho = 0.
    n_polar : int
        Responses that are clearly negative or positive on both (see :func:`sentiment_agreement`).
    agreement, agreement_ci_lower, agreement_ci_upper : float
        Share of those whose comment polarity matches the score polarity, with a Wilson interval.
    ci_level : float
    method : str
    """

    score: str
    n: int
    spearman_rho: float
    rho_ci_lower: float
    rho_ci_upper: float
    p_value: float
    n_polar: int
    agreement: float
    agreement_ci_lower: float
    agreement_ci_upper: float
    ci_level: float
    method: str

    def to_frame(self) -> pd.DataFrame:
        """One row with the columns of :data:`AGREEMENT_COLUMNS`."""
        return pd.DataFrame([asdict(self)], columns=list(AGREEMENT_COLUMNS))


def sentiment_agreement(data: pd.DataFrame, *, score_col: str = "nps", sentiment_col: str = "compound",
                        cutoffs: tuple[float, float, bool] | None = None, alpha: float = 0.05) -> SentimentAgreement:
    """Agreement of comment sentiment with a numeric score: rank correlation and polarity match.

    Parameters
    ----------
    data : DataFrame
        One row per response with the score and the sentiment (``score_sentiment`` joined on).
    score_col : str
        Score column; its cut-offs come from :data:`SCORE_CUTOFFS` unless ``cutoffs`` is given.
    sentiment_col : str
        VADER compound score (-1..1).
    cutoffs : (negative_max, positive_min, higher_is_better), optional
        Score polarity: "negative" at or below ``negative_max`` (at or above when lower is better),
        "positive" at or beyond ``positive_min``.
    alpha : float
        ``1 - confidence level``.

    Returns
    -------
    SentimentAgreement

    Notes
    -----
    The rho interval uses Fisher's :math:`z = \\operatorname{atanh}\\rho` with the Bonett-Wright
    standard error :math:`\\sqrt{(1 + \\rho^2/2)/(n - 3)}` for Spearman's rho.  Polarity agreement
    counts responses where both the comment (compound beyond +-0.05) and the score (e.g. NPS
    detractor or promoter) take a side, and is the share where the sides match; passives and
    neutral comments are left out because neither has a side.

    References
    ----------
    Bonett, D. G. & Wright, T. A. (2000). Sample size requirements for estimating Pearson, Kendall
    and Spearman correlations. Psychometrika 65(1), 23-28.

    Examples
    --------
    >>> d = pd.DataFrame({"nps": [0, 2, 5, 6, 8, 9, 10, 10, 3, 9],
    ...                   "compound": [-0.8, -0.5, -0.4, 0.1, 0.2, 0.6, 0.9, 0.7, -0.2, -0.3]})
    >>> a = sentiment_agreement(d)
    >>> a.n, round(a.spearman_rho, 3), a.n_polar, a.agreement
    (10, 0.878, 9, 0.7777777777777778)
    """
    check_alpha(alpha)
    for c in (score_col, sentiment_col):
        if c not in data.columns:
            raise DataContractError(f"Column {c!r} is missing; the frame has {list(data.columns)}.", column=c,
                                    rule="column present")
    if cutoffs is None:
        if score_col not in SCORE_CUTOFFS:
            raise ParameterError(f"score_col={score_col!r} has no known cut-offs; pass cutoffs=(negative_max, "
                                 f"positive_min, higher_is_better) or use one of {list(SCORE_CUTOFFS)}.")
        cutoffs = SCORE_CUTOFFS[score_col]
    neg_max, pos_min, higher_better = cutoffs
    both = data[[score_col, sentiment_col]].apply(pd.to_numeric, errors="coerce").dropna()
    score = both[score_col].to_numpy(float)
    sent = both[sentiment_col].to_numpy(float)
    n = int(score.size)
    oriented = score if higher_better else -score
    if n >= 4 and np.ptp(score) > 0 and np.ptp(sent) > 0:
        rho, p = stats.spearmanr(sent, oriented)
        z = z_value(alpha)
        se = math.sqrt((1 + rho**2 / 2) / (n - 3))
        lo, hi = math.tanh(math.atanh(min(rho, 0.999999)) - z * se), math.tanh(math.atanh(min(rho, 0.999999)) + z * se)
    else:
        rho = p = lo = hi = math.nan
    if higher_better:
        score_neg, score_pos = score <= neg_max, score >= pos_min
    else:
        score_pos, score_neg = score <= neg_max, score >= pos_min
    sent_neg, sent_pos = sent <= NEGATIVE_THRESHOLD, sent >= POSITIVE_THRESHOLD
    polar = (score_neg | score_pos) & (sent_neg | sent_pos)
    match = (score_neg & sent_neg) | (score_pos & sent_pos)
    n_polar = int(polar.sum())
    k = int(match.sum())
    a_lo, a_hi = wilson_interval(k, n_polar, alpha=alpha)
    return SentimentAgreement(
        score=score_col, n=n, spearman_rho=float(rho), rho_ci_lower=float(lo), rho_ci_upper=float(hi),
        p_value=float(p), n_polar=n_polar, agreement=k / n_polar if n_polar else math.nan,
        agreement_ci_lower=float(a_lo), agreement_ci_upper=float(a_hi), ci_level=1 - alpha,
        method=(f"VADER compound vs {score_col}: Spearman rho with Fisher-z (Bonett-Wright) interval; "
                "polarity agreement among responses polar on both, Wilson interval"))


@renamed_arguments(by="segment")
def sentiment_by(data: pd.DataFrame, *, segment: Segment, sentiment_col: str = "compound",
                 alpha: float = 0.05) -> pd.DataFrame:
    """Mean VADER compound score per segment (touchpoint, customer segment, period) with a t interval.

    ``by_segment(mean_score, ...)`` of :mod:`cxlib.metrics`, so the result has the columns of
    :data:`cxlib.metrics.METRIC_COLUMNS` (``metric = "sentiment"``), one row per segment, indexed by
    the ``segment`` columns (``by`` is the deprecated old name); ``n`` counts scored comments.  Suppress
    small cells before showing it (:func:`cxlib.privacy.suppress_small_cells`).

    Examples
    --------
    >>> d = pd.DataFrame({"touchpoint": ["app"] * 3 + ["store_visit"] * 3,
    ...                   "compound": [-0.5, -0.2, 0.1, 0.4, 0.6, 0.8]})
    >>> r = sentiment_by(d, segment="touchpoint")
    >>> r.index.tolist(), r["estimate"].round(3).tolist(), r["n"].tolist()
    (['app', 'store_visit'], [-0.2, 0.6], [3, 3])
    """
    return by_segment(mean_score, data.dropna(subset=[sentiment_col]), segment, col=sentiment_col,
                      metric="sentiment", alpha=alpha, scale=(-1, 1), what="mean VADER compound sentiment (-1..1)")
