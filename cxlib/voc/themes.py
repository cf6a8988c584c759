"""Themes of comments: a configurable keyword taxonomy, theme shares and trends, and NMF topics.

Two complementary views:

- **Known themes** (:class:`Taxonomy`): keyword and phrase lists for the CX themes the business
  already tracks (sizing, waiting time, staff, price, delivery, returns, app, stock).  A comment
  may mention several themes.  Transparent and stable from quarter to quarter.
- **Discovered topics** (:func:`discover_topics`): TF-IDF and non-negative matrix factorisation
  (NMF) find the groups of words that co-occur, including themes nobody listed;
  :func:`match_topics` says which known theme each topic resembles.

Shares come with Wilson intervals, changes between periods with Newcombe intervals, and every
row carries its n; suppress small cells before showing them (:mod:`cxlib.privacy`).
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd
from scipy import stats

from .._deprecation import renamed_arguments
from ..display import displayable
from ..errors import DataContractError, ParameterError
from ..periods import period_labels
from ..stats import (
    Segment,
    check_alpha,
    check_segment,
    group_label,
    iter_groups,
    lead_columns,
    segment_keys,
    t_interval_mean,
    wilson_interval,
)

__all__ = ["DEFAULT_THEMES", "Taxonomy", "DEFAULT_TAXONOMY", "THEME_COLUMNS", "CHANGE_COLUMNS", "TOPIC_COLUMNS",
           "tag_themes", "theme_shares", "theme_trend", "theme_change", "TopicModel", "discover_topics",
           "match_topics"]

#: The default taxonomy.  Patterns are case-insensitive and match whole words; ``*`` at the end of
#: a word matches any ending ("deliver*" finds delivery, delivered); spaces match any whitespace.
#: A pattern starting with ``-`` is an exclusion: text it matches is ignored for that theme (so
#: "my size was out of stock" counts for stock, not for sizing).
DEFAULT_THEMES: dict[str, tuple[str, ...]] = {
    "sizing": ("size", "sizes", "sizing", "size guide", "fit", "fits", "fitted", "fitting well", "too small",
               "too big", "too tight", "too loose", "runs small", "runs large", "tight", "loose", "-sizes missing",
               "-sizes were missing",
               "-my size was out of stock", "-my size was in stock", "-in my size", "-my size is out of stock",
               "-my size is in stock", "-out of stock in my size"),
    "waiting_time": ("wait*", "queue*", "long line", "took ages", "slow service", "minutes", "hours",
                     "quick service", "-waiting for my refund", "-waiting for a refund", "-waiting for the refund"),
    "staff": ("staff", "assistant*", "employee*", "cashier*", "colleague*", "team member*", "salesperson",
              "rude", "friendly", "unhelpful", "helped me", "team", "service from"),
    "price": ("price*", "pricing", "pricey", "expensive", "cheap*", "overpriced", "value for money", "cost*",
              "discount*", "afford*", "rip off", "ripoff"),
    "delivery": ("deliver*", "courier*", "parcel*", "shipping", "shipped", "dispatch*", "package*", "postage"),
    "returns": ("return*", "refund*", "exchange*", "send back", "sent back"),
    "app": ("app", "apps", "application", "login", "log in", "crash*", "website", "checkout online"),
    "stock": ("stock", "stocked", "in stock", "available", "out of stock", "sold out", "unavailable", "availability", "restock*",
              "back in stock"),
}


def _compile(patterns: Iterable[str]) -> re.Pattern | None:
    parts = []
    for p in sorted({p.strip().lower() for p in patterns if p.strip()}, key=len, reverse=True):
        words = p.split()
        pieces = [re.escape(w[:-1]) + r"[\w'-]*" if w.endswith("*") else re.escape(w) for w in words]
        parts.append(r"\s+".join(pieces))
    if not parts:
        return None
    return re.compile(r"(?<![\w-])(?:" + "|".join(parts) + r")(?![\w-])", re.IGNORECASE)


@displayable()
@dataclass(frozen=True)
class Taxonomy:
    """Keyword/phrase lists for known themes (see :data:`DEFAULT_THEMES` for the pattern syntax).

    Parameters
    ----------
    themes : Mapping[str, Sequence[str]]
        Theme name to keywords and phrases.  Build your own with ``Taxonomy({...})`` or extend the
        default with :meth:`extend`.

    Examples
    --------
    >>> t = Taxonomy({"delivery": ["deliver*", "parcel"], "price": ["price*", "expensive", "-price match"]})
    >>> t.tag(["Delivered late, parcel damaged", "Prices are fine", "they offered a price match"]).sum().to_dict()
    {'delivery': 1, 'price': 1}
    """

    themes: Mapping[str, tuple[str, ...]]
    _patterns: Mapping[str, tuple[re.Pattern, re.Pattern | None]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.themes:
            raise ParameterError("A taxonomy needs at least one theme.")
        clean = {str(k): tuple(v) if not isinstance(v, str) else (v,) for k, v in self.themes.items()}
        object.__setattr__(self, "themes", MappingProxyType(clean))
        compiled = {}
        for k, v in clean.items():
            include = _compile([p for p in v if not p.strip().startswith("-")])
            if include is None:
                raise ParameterError(f"Theme {k!r} needs at least one keyword or phrase that is not an exclusion.")
            compiled[k] = (include, _compile([p.strip()[1:] for p in v if p.strip().startswith("-")]))
        object.__setattr__(self, "_patterns", MappingProxyType(compiled))

    @property
    def names(self) -> list[str]:
        """Theme names in their configured order."""
        return list(self.themes)

    def extend(self, extra: Mapping[str, Sequence[str]]) -> Taxonomy:
        """A new taxonomy with ``extra`` keywords added to existing themes or as new themes."""
        merged = {k: tuple(v) for k, v in self.themes.items()}
        for k, v in extra.items():
            merged[k] = (*merged.get(k, ()), *([v] if isinstance(v, str) else v))
        return Taxonomy(merged)

    def tag(self, texts: pd.Series | Sequence[object]) -> pd.DataFrame:
        """Boolean frame (one column per theme, same index as ``texts``): does the text mention it?"""
        series = texts if isinstance(texts, pd.Series) else pd.Series(list(texts), dtype=object)
        filled = series.where(series.notna(), "").astype(str)
        out = {}
        for name, (include, exclude) in self._patterns.items():
            text = filled.str.replace(exclude, " ", regex=True) if exclude is not None else filled
            out[name] = text.str.contains(include, regex=True)
        return pd.DataFrame(out, index=series.index)


DEFAULT_TAXONOMY = Taxonomy(DEFAULT_THEMES)

#: Columns of :func:`theme_shares` and :func:`theme_trend` (one row per theme and segment; ``segment`` is the
#: label of the split: ``"all"``, a segment level, or the period for :func:`theme_trend`).
THEME_COLUMNS = ("theme", "segment", "n", "mentions", "share", "ci_lower", "ci_upper", "ci_level", "score",
                 "mean_score", "score_ci_lower", "score_ci_upper", "n_scored", "method")
#: Columns of :func:`theme_change`.
CHANGE_COLUMNS = ("theme", "period", "comparison", "share", "comparison_share", "difference", "ci_lower",
                  "ci_upper", "ci_level", "p_value", "n", "n_comparison", "method")


def _comments(data: pd.DataFrame, col: str) -> pd.Series:
    if col not in data.columns:
        raise DataContractError(f"Column {col!r} is missing; the frame has {list(data.columns)}.", column=col,
                                rule="column present")
    text = data[col]
    return text.notna() & (text.astype(str).str.strip() != "")


def tag_themes(data: pd.DataFrame | pd.Series, *, col: str = "comment",
               taxonomy: Taxonomy = DEFAULT_TAXONOMY) -> pd.DataFrame:
    """Which known themes each comment mentions (multi-label, boolean, same index as ``data``).

    Examples
    --------
    >>> tag_themes(pd.Series(["Too expensive and the parcel came late", "Lovely staff"]))[
    ...     ["price", "delivery", "staff"]].to_numpy().tolist()
    [[True, True, False], [False, False, True]]
    """
    texts = data[col] if isinstance(data, pd.DataFrame) else data
    return taxonomy.tag(texts)


def _check_tags(data: pd.DataFrame, tags: pd.DataFrame) -> None:
    if not tags.index.equals(data.index):
        raise ParameterError("tags must have the same index as data (tag the same frame: "
                             "tags = tag_themes(data)).")


@renamed_arguments(by="segment")
def theme_shares(data: pd.DataFrame, *, tags: pd.DataFrame, col: str = "comment", segment: Segment = None,
                 score_col: str | None = "nps", alpha: float = 0.05) -> pd.DataFrame:
    """Share of comments mentioning each theme, with a Wilson interval and the mentioners' mean score.

    Parameters
    ----------
    data : DataFrame
        Responses with the comment (and the score and ``segment`` columns).
    tags : DataFrame
        :func:`tag_themes` of ``data`` (same index).
    col : str
        Comment column: the denominator ``n`` counts non-blank comments.
    segment : str or list of str, optional
        Segment columns (a customer segment, touchpoint, period; ``by`` is the deprecated old name);
        the ``segment`` column is ``"all"`` without it.
    score_col : str or None
        Score averaged over the comments that mention the theme (``None`` to skip).
    alpha : float
        ``1 - confidence level``.

    Returns
    -------
    DataFrame
        Columns :data:`THEME_COLUMNS`, one row per theme (and segment), themes in taxonomy order:
        ``n`` comments, ``mentions``, ``share = mentions / n`` with Wilson ``ci_lower``/``ci_upper``,
        ``score`` (the column averaged), ``mean_score`` with a Student-t interval over the
        ``n_scored`` mentioning comments that have a score.

    Notes
    -----
    Wilson interval: :math:`\\frac{\\hat p + z^2/2n \\pm z\\sqrt{\\hat p(1-\\hat p)/n + z^2/4n^2}}{1+z^2/n}`.
    Themes are not exclusive, so shares do not add up to 1.

    References
    ----------
    Wilson, E. B. (1927). JASA 22, 209-212.  Brown, Cai & DasGupta (2001). Statistical Science 16, 101-133.

    Examples
    --------
    >>> d = pd.DataFrame({"comment": ["late parcel", "rude staff", "parcel lost", "ok"], "nps": [2, 3, 4, 9]})
    >>> t = theme_shares(d, tags=tag_themes(d))
    >>> t.loc[t.theme == "delivery", ["mentions", "n", "share", "mean_score"]].to_numpy().tolist()
    [[2.0, 4.0, 0.5, 3.0]]
    """
    check_alpha(alpha)
    _check_tags(data, tags)
    has = _comments(data, col)
    keys = segment_keys(segment)
    missing = [k for k in keys + ([score_col] if score_col else []) if k not in data.columns]
    if missing:
        raise DataContractError(f"Column(s) {missing} are missing; the frame has {list(data.columns)}.",
                                column=missing[0], rule="column present")
    frame = data.loc[has]
    t = tags.loc[has]
    groups = frame.groupby(keys if len(keys) > 1 else keys[0], observed=True, sort=True).indices.items() \
        if keys else [("all", np.arange(len(frame)))]
    z_level = 1 - alpha
    parts = []
    for key, idx in groups:
        label = ", ".join(map(str, key)) if isinstance(key, tuple) else str(key)
        sub_t = t.iloc[idx].to_numpy(bool)
        n = len(idx)
        mentions = sub_t.sum(axis=0)
        lo, hi = wilson_interval(mentions, n, alpha=alpha)
        rows = {"theme": list(t.columns), "segment": label, "n": n, "mentions": mentions.astype(int),
                "share": mentions / n if n else np.nan, "ci_lower": lo, "ci_upper": hi, "ci_level": z_level,
                "score": score_col or "", "mean_score": np.nan, "score_ci_lower": np.nan, "score_ci_upper": np.nan,
                "n_scored": 0, "method": "share of comments mentioning the theme (keyword taxonomy); Wilson interval"}
        out = pd.DataFrame(rows)
        if score_col:
            scores = pd.to_numeric(frame[score_col].iloc[idx], errors="coerce").to_numpy(float)
            for j in range(sub_t.shape[1]):
                v = scores[sub_t[:, j] & ~np.isnan(scores)]
                m = float(v.mean()) if v.size else np.nan
                sd = float(v.std(ddof=1)) if v.size >= 2 else np.nan
                _, s_lo, s_hi = t_interval_mean(m, sd, v.size, alpha=alpha)
                out.loc[j, ["mean_score", "score_ci_lower", "score_ci_upper", "n_scored"]] = [m, float(s_lo),
                                                                                              float(s_hi), v.size]
            out["method"] += f"; mean {score_col} of mentioning comments, Student t interval"
        parts.append(out)
    result = pd.concat(parts, ignore_index=True)[list(THEME_COLUMNS)]
    return result.astype({"n": int, "mentions": int, "n_scored": int})


@renamed_arguments(by="segment")
def theme_trend(data: pd.DataFrame, *, tags: pd.DataFrame, col: str = "comment", time_col: str = "responded_at",
                freq: str = "Q", score_col: str | None = "nps", alpha: float = 0.05,
                segment: Segment = None) -> pd.DataFrame:
    """Theme shares per period (``segment`` is the period label, e.g. ``"2025Q4"``); columns :data:`THEME_COLUMNS`.

    With ``segment`` (segment columns of ``data``; ``by`` is the deprecated old name), each segment's own
    trend, led by the segment columns.

    Examples
    --------
    >>> d = pd.DataFrame({"comment": ["late parcel", "ok", "parcel lost", "parcel fine"],
    ...                   "responded_at": pd.to_datetime(["2025-08-01", "2025-09-01", "2025-11-01", "2025-12-01"]),
    ...                   "tier": ["gold", "silver", "gold", "gold"]})
    >>> tr = theme_trend(d, tags=tag_themes(d), score_col=None)
    >>> tr.loc[tr.theme == "delivery", ["segment", "share"]].to_numpy().tolist()
    [['2025Q3', 0.5], ['2025Q4', 1.0]]
    >>> tr = theme_trend(d, tags=tag_themes(d), score_col=None, segment="tier")
    >>> tr.loc[tr.theme == "delivery", ["tier", "segment", "share"]].to_numpy().tolist()
    [['gold', '2025Q3', 1.0], ['gold', '2025Q4', 1.0], ['silver', '2025Q3', 0.0]]
    """
    if segment is not None:
        _check_tags(data, tags)
        keys = check_segment(data, segment)
        parts = [lead_columns(theme_trend(sub, tags=tags.loc[sub.index], col=col, time_col=time_col, freq=freq,
                                          score_col=score_col, alpha=alpha), keys, key)
                 for key, sub in iter_groups(data, keys)]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[*keys, *THEME_COLUMNS])
    if time_col not in data.columns:
        raise DataContractError(f"Column {time_col!r} is missing; the frame has {list(data.columns)}.",
                                column=time_col, rule="column present")
    framed = data.assign(_period=period_labels(data[time_col], freq))
    out = theme_shares(framed, tags=tags, col=col, segment="_period", score_col=score_col, alpha=alpha)
    return out.assign(method=out["method"] + f"; by {freq} period of {time_col}")


@renamed_arguments(by="segment")
def theme_change(data: pd.DataFrame, *, tags: pd.DataFrame, period: str, comparison_period: str, col: str = "comment",
                 time_col: str = "responded_at", freq: str = "Q", alpha: float = 0.05,
                 segment: Segment = None) -> pd.DataFrame:
    """Change of each theme's share between two periods, with a Newcombe interval and a z-test.

    Parameters
    ----------
    segment : str or list of str, optional
        Segment column(s) of ``data`` (``by`` is the deprecated old name): each segment's own change
        (no adjustment across segments here; use :func:`cxlib.significance.adjust_pvalues` on ``p_value``
        for a family).

    Returns
    -------
    DataFrame
        Columns :data:`CHANGE_COLUMNS` (led by the segment columns when given): ``difference = share -
        comparison_share`` (fractions), Newcombe hybrid-score interval, two-sided p-value of the pooled
        two-proportion z-test.

    Raises
    ------
    ParameterError
        A period (of a segment, with ``segment``) has no comments.

    Notes
    -----
    Newcombe (1998) method 10: with Wilson limits :math:`(l_1, u_1)`, :math:`(l_2, u_2)`,
    :math:`d - \\sqrt{(p_1-l_1)^2 + (u_2-p_2)^2}` to :math:`d + \\sqrt{(u_1-p_1)^2 + (p_2-l_2)^2}`.

    References
    ----------
    Newcombe, R. G. (1998). Interval estimation for the difference between independent proportions:
    comparison of eleven methods. Statistics in Medicine 17, 873-890.

    Examples
    --------
    >>> d = pd.DataFrame({"comment": ["late parcel"] * 10 + ["ok"] * 30 + ["parcel lost"] * 20 + ["ok"] * 20,
    ...                   "responded_at": pd.to_datetime(["2025-08-01"] * 40 + ["2025-11-01"] * 40)})
    >>> c = theme_change(d, tags=tag_themes(d), period="2025Q4", comparison_period="2025Q3")
    >>> row = c.set_index("theme").loc["delivery"]
    >>> float(row.difference), round(float(row.ci_lower), 4), round(float(row.ci_upper), 4), round(float(row.p_value), 4)
    (0.25, 0.0379, 0.4333, 0.0209)
    """
    check_alpha(alpha)
    if segment is not None:
        _check_tags(data, tags)
        keys = check_segment(data, segment)
        parts = []
        for key, sub in iter_groups(data, keys):
            try:
                out = theme_change(sub, tags=tags.loc[sub.index], period=period, comparison_period=comparison_period,
                                   col=col, time_col=time_col, freq=freq, alpha=alpha)
            except ParameterError as exc:
                raise ParameterError(f"Segment {group_label(key)!r} of {keys}: {exc}") from exc
            parts.append(lead_columns(out, keys, key))
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[*keys, *CHANGE_COLUMNS])
    trend = theme_trend(data, tags=tags, col=col, time_col=time_col, freq=freq, score_col=None, alpha=alpha)
    periods = set(trend["segment"])
    for name, p in (("period", period), ("comparison_period", comparison_period)):
        if str(p) not in periods:
            raise ParameterError(f"{name}={p!r} has no comments; periods with comments: {sorted(periods)}.")
    a = trend[trend["segment"] == str(period)].set_index("theme")
    b = trend[trend["segment"] == str(comparison_period)].set_index("theme").loc[a.index]
    p1, p2, n1, n2 = a["share"], b["share"], a["n"], b["n"]
    d = p1 - p2
    # Wilson half-widths already carry z, so the square root needs no further factor
    lo = d - np.sqrt((p1 - a["ci_lower"]) ** 2 + (b["ci_upper"] - p2) ** 2)
    hi = d + np.sqrt((a["ci_upper"] - p1) ** 2 + (p2 - b["ci_lower"]) ** 2)
    pooled = (a["mentions"] + b["mentions"]) / (n1 + n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        zstat = d / np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    pval = pd.Series(2 * stats.norm.sf(np.abs(zstat)), index=d.index).where(pooled.between(0, 1, inclusive="neither"))
    return pd.DataFrame({
        "theme": a.index, "period": str(period), "comparison": str(comparison_period), "share": p1.to_numpy(),
        "comparison_share": p2.to_numpy(), "difference": d.to_numpy(), "ci_lower": lo.to_numpy(),
        "ci_upper": hi.to_numpy(), "ci_level": 1 - alpha, "p_value": pval.to_numpy(), "n": n1.to_numpy(),
        "n_comparison": n2.to_numpy(),
        "method": "difference in share of comments; Newcombe hybrid score interval; pooled two-proportion z-test",
    }, columns=list(CHANGE_COLUMNS)).reset_index(drop=True)


# --------------------------------------------------------------------------- data-driven topics

#: Columns of :meth:`TopicModel.to_frame` (one row per topic).
TOPIC_COLUMNS = ("topic", "label", "top_terms", "n", "documents", "share", "ci_lower", "ci_upper", "ci_level",
                 "method")


@displayable(tables=("terms",))
@dataclass(frozen=True)
class TopicModel:
    """Topics found by TF-IDF + NMF.

    Attributes
    ----------
    terms : DataFrame
        ``topic, rank, term, weight``: the ``n_terms`` heaviest words of each topic.
    assignments : DataFrame
        Same index as the comments: ``topic`` (dominant topic, -1 when the comment has no word of
        the vocabulary) and ``weight`` (its NMF weight).
    n_topics : int
    random_state : int
        The NMF seed drawn from the generator, for the provenance record.
    reconstruction_error : float
        Frobenius norm of ``X - WH``.
    ci_level : float
    """

    terms: pd.DataFrame
    assignments: pd.DataFrame
    n_topics: int
    random_state: int
    reconstruction_error: float
    ci_level: float = 0.95

    def to_frame(self) -> pd.DataFrame:
        """One row per topic: label (top 3 terms), top terms, share of comments with a Wilson interval."""
        n = int((self.assignments["topic"] >= -1).sum())
        docs = self.assignments["topic"].value_counts().reindex(range(self.n_topics), fill_value=0).to_numpy()
        lo, hi = wilson_interval(docs, n, alpha=1 - self.ci_level)
        top = self.terms.sort_values(["topic", "rank"]).groupby("topic")["term"].apply(list)
        return pd.DataFrame({
            "topic": np.arange(self.n_topics), "label": [" / ".join(top[k][:3]) for k in range(self.n_topics)],
            "top_terms": [", ".join(top[k]) for k in range(self.n_topics)], "n": n, "documents": docs,
            "share": docs / n if n else np.nan, "ci_lower": lo, "ci_upper": hi, "ci_level": self.ci_level,
            "method": f"TF-IDF + NMF ({self.n_topics} topics, random_state={self.random_state}); dominant topic "
                      "per comment; Wilson interval"}, columns=list(TOPIC_COLUMNS))


def discover_topics(data: pd.DataFrame | pd.Series, *, col: str = "comment", n_topics: int = 8, n_terms: int = 8,
                    rng: np.random.Generator, min_df: int = 3, max_df: float = 0.5, max_features: int = 5000,
                    alpha: float = 0.05) -> TopicModel:
    """Find topics in comments with TF-IDF weighting and non-negative matrix factorisation.

    Parameters
    ----------
    data : DataFrame or Series
        Comments.  Run it on *redacted* text: the top terms of a topic are printed, and names or
        e-mail fragments must not reach them.
    col : str
        Comment column of a frame.
    n_topics : int
        Topics to extract (8 matches the size of the default taxonomy).
    n_terms : int
        Top terms kept per topic.
    rng : numpy.random.Generator
        Seeds NMF (one integer is drawn), so topics are reproducible from the notebook seed.
    min_df, max_df : int, float
        Ignore words in fewer than ``min_df`` comments (typos, names) or in more than ``max_df``
        of them (words with no topical content).
    max_features : int
        Vocabulary size cap.
    alpha : float
        ``1 - confidence level`` for the share intervals of :meth:`TopicModel.to_frame`.

    Returns
    -------
    TopicModel

    Raises
    ------
    ParameterError
        Fewer comments than topics, or an empty vocabulary.

    Notes
    -----
    TF-IDF with sublinear term frequency and l2-normalised rows, English stop words, tokens of
    letters only (numbers such as phone fragments are never terms).  NMF
    :math:`X \\approx WH`, :math:`W, H \\ge 0`, minimises :math:`\\lVert X - WH\\rVert_F^2` from the
    NNDSVDa initialisation with coordinate descent; a comment's topic is the argmax of its row of W.

    References
    ----------
    Lee, D. D. & Seung, H. S. (1999). Learning the parts of objects by non-negative matrix
    factorization. Nature 401, 788-791.  Boutsidis, C. & Gallopoulos, E. (2008). SVD based
    initialization: a head start for NMF. Pattern Recognition 41, 1350-1362.

    Examples
    --------
    >>> texts = ["late parcel delivery", "parcel delivery slow", "delivery lost",
    ...          "rude staff member", "staff rude today", "helpful staff"] * 3
    >>> tm = discover_topics(pd.Series(texts), n_topics=2, n_terms=2, rng=np.random.default_rng(0), min_df=2)
    >>> sorted(tm.to_frame()["label"])
    ['delivery / parcel', 'staff / rude']
    """
    from sklearn.decomposition import NMF
    from sklearn.feature_extraction.text import TfidfVectorizer

    check_alpha(alpha)
    texts = data[col] if isinstance(data, pd.DataFrame) else data
    mask = texts.notna() & (texts.astype(str).str.strip() != "")
    # placeholders left by cxlib.privacy redaction are not words of the customers
    docs = texts[mask].astype(str).str.replace(r"\[(?:URL|EMAIL|CARD|PHONE|NAME)\]", " ", regex=True)
    if not isinstance(n_topics, int) or n_topics < 1 or len(docs) < n_topics:
        raise ParameterError(f"n_topics={n_topics!r} must be a positive integer no larger than the number of "
                             f"comments ({len(docs)}).")
    vectorizer = TfidfVectorizer(stop_words="english", token_pattern=r"(?u)\b[^\W\d_]{2,}\b", lowercase=True,
                                 min_df=min(min_df, len(docs)), max_df=max_df if len(docs) > 20 else 1.0,
                                 max_features=max_features, sublinear_tf=True)
    try:
        x = vectorizer.fit_transform(docs.tolist())
    except ValueError as exc:  # empty vocabulary
        raise ParameterError(f"No vocabulary left for topics ({exc}); lower min_df={min_df} or raise "
                             f"max_df={max_df}.") from exc
    seed = int(rng.integers(0, 2**31 - 1))
    model = NMF(n_components=n_topics, init="nndsvda", solver="cd", random_state=seed, max_iter=500, tol=1e-4)
    w = model.fit_transform(x)
    h = model.components_
    vocab = vectorizer.get_feature_names_out()
    rows = []
    for k in range(n_topics):
        order = np.argsort(-h[k], kind="stable")[:n_terms]
        rows += [{"topic": k, "rank": r + 1, "term": str(vocab[j]), "weight": float(h[k, j])}
                 for r, j in enumerate(order)]
    best = np.where(w.max(axis=1) > 0, w.argmax(axis=1), -1)
    assignments = pd.DataFrame({"topic": -1, "weight": 0.0}, index=texts.index)
    assignments.loc[docs.index, "topic"] = best
    assignments.loc[docs.index, "weight"] = w.max(axis=1)
    assignments.loc[~mask, "topic"] = -2  # no comment
    assignments = assignments[assignments["topic"] > -2]
    return TopicModel(pd.DataFrame(rows), assignments, n_topics, seed, float(model.reconstruction_err_),
                      ci_level=1 - alpha)


def match_topics(model: TopicModel, tags: pd.DataFrame) -> pd.DataFrame:
    """Which known theme each discovered topic resembles (Jaccard overlap of the comments).

    Returns
    -------
    DataFrame
        ``topic, theme, jaccard``: for every topic, the theme whose set of mentioning comments
        overlaps most with the topic's comments, and that Jaccard index |A and B| / |A or B|.

    Examples
    --------
    >>> texts = pd.Series(["late parcel delivery", "parcel delivery slow", "rude staff member",
    ...                    "staff rude today"] * 3)
    >>> tm = discover_topics(texts, n_topics=2, rng=np.random.default_rng(0), min_df=2)
    >>> match_topics(tm, tag_themes(texts)).sort_values("theme")[["theme", "jaccard"]].to_numpy().tolist()
    [['delivery', 1.0], ['staff', 1.0]]
    """
    if not set(model.assignments.index) <= set(tags.index):
        raise ParameterError("tags must cover the comments of the topic model (tag the same frame).")
    t = tags.loc[model.assignments.index].to_numpy(bool)
    topic = model.assignments["topic"].to_numpy()
    rows = []
    for k in range(model.n_topics):
        in_topic = topic == k
        union = (in_topic[:, None] | t).sum(axis=0)
        inter = (in_topic[:, None] & t).sum(axis=0)
        jac = np.divide(inter, union, out=np.zeros(t.shape[1]), where=union > 0)
        j = int(np.argmax(jac))
        rows.append({"topic": k, "theme": tags.columns[j], "jaccard": float(jac[j])})
    return pd.DataFrame(rows, columns=["topic", "theme", "jaccard"])
