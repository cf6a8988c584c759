"""Representative verbatims per theme and segment: chosen deterministically, redacted, never from small cells."""
from __future__ import annotations

import hashlib
import math

import numpy as np
import pandas as pd

from .._deprecation import renamed_arguments
from ..errors import DataContractError, ParameterError
from ..privacy import Redactor
from ..stats import Segment, segment_keys

__all__ = ["VERBATIM_COLUMNS", "representative_verbatims"]

#: Columns of :func:`representative_verbatims` (one row per quote, or one per suppressed cell).
VERBATIM_COLUMNS = ("theme", "segment", "rank", "quote", "sentiment", "score", "quantile", "n", "suppressed",
                    "redactions", "method")


def _stable_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _shorten(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars - 1].rsplit(" ", 1)[0]
    return cut + "…"


def _pick(candidates: pd.DataFrame, n_quotes: int) -> list[tuple[int, float]]:
    """Positions of the comments closest to evenly spaced sentiment quantiles, distinct texts only."""
    # one row per distinct text, the same whatever the row order (lowest score, then lowest index label)
    uniq = candidates.sort_index().sort_values(["key", "score"], kind="stable").drop_duplicates("text")
    values = uniq["sentiment"].to_numpy(float)
    keys = uniq["key"].to_numpy()
    taken: set[int] = set()
    chosen = []
    for i in range(min(n_quotes, len(uniq))):
        q = (i + 0.5) / n_quotes
        target = float(np.quantile(candidates["sentiment"].to_numpy(float), q))
        order = sorted((j for j in range(len(uniq)) if j not in taken),
                       key=lambda j: (abs(values[j] - target), uniq["length_penalty"].iat[j], keys[j]))
        if not order:
            break
        taken.add(order[0])
        chosen.append((int(uniq.index[order[0]]), q))
    return chosen


@renamed_arguments(by="segment")
def representative_verbatims(data: pd.DataFrame, *, tags: pd.DataFrame, redactor: Redactor, col: str = "comment",
                             segment: Segment = None, n_quotes: int = 3,
                             sentiment_col: str = "compound", score_col: str | None = "nps", k: int = 10,
                             max_chars: int = 240) -> pd.DataFrame:
    """Pick a few redacted quotes per theme (and segment) that span the range of opinion.

    Parameters
    ----------
    data : DataFrame
        Responses with the comment, the sentiment (``score_sentiment`` joined on) and the ``segment`` columns.
    tags : DataFrame
        :func:`~cxlib.voc.themes.tag_themes` of ``data`` (same index).
    redactor : Redactor
        Applied to every quote (build it with ``Redactor.from_customers(ds.customers)``).  Required:
        a quote never leaves this function unredacted.
    col : str
        Comment column.
    segment : str or list of str, optional
        Segment columns (``by`` is the deprecated old name); the ``segment`` column is ``"all"`` without it.
    n_quotes : int
        Quotes per cell (3: one negative-leaning, one typical, one positive-leaning).
    sentiment_col, score_col : str
        Sentiment used to spread the quotes, and a score shown beside each quote (``None`` to skip).
    k : int
        Cells with fewer than ``k`` comments give no quotes (one row with ``suppressed=True``): a
        quote from a small segment could identify its author even when redacted.
    max_chars : int
        Longer quotes are cut at a word boundary and end with an ellipsis.

    Returns
    -------
    DataFrame
        Columns :data:`VERBATIM_COLUMNS`: ``rank`` 1..n from the most negative to the most positive,
        ``quantile`` the sentiment quantile the quote stands for, ``n`` comments in the cell,
        ``redactions`` items replaced in the quote.

    Notes
    -----
    Comments are redacted first, so distinct means distinct once redacted.  Deterministic
    without a random generator: for quantiles :math:`q_i = (i - 1/2)/m`,
    :math:`i = 1..m`, the quote is the not yet chosen distinct comment whose sentiment is closest to
    the cell's :math:`q_i` sentiment quantile; ties go to comments of 40-240 characters, then to
    the smallest SHA-256 of the text, so the same data always give the same quotes whatever the
    row order.

    Examples
    --------
    >>> import numpy as np
    >>> from cxlib.voc._demo import demo_responses
    >>> from cxlib.voc.sentiment import score_sentiment
    >>> from cxlib.voc.themes import tag_themes
    >>> r, c, _ = demo_responses(300, rng=np.random.default_rng(2))
    >>> r = r.join(score_sentiment(r))
    >>> v = representative_verbatims(r, tags=tag_themes(r), redactor=Redactor.from_customers(c))
    >>> v[v.theme == "delivery"][["rank", "quote"]].to_numpy().tolist()  # doctest: +NORMALIZE_WHITESPACE
    [[1, 'The courier lost my parcel, awful.'], [2, 'My delivery was late and the parcel was damaged.'],
     [3, 'Delivery arrived early and the parcel was well packed.']]
    """
    if not isinstance(redactor, Redactor):
        raise ParameterError("redactor must be a cxlib.privacy.Redactor (e.g. Redactor.from_customers(customers)).")
    if not isinstance(n_quotes, int) or n_quotes < 1:
        raise ParameterError(f"n_quotes={n_quotes!r} must be a positive integer.")
    if not tags.index.equals(data.index):
        raise ParameterError("tags must have the same index as data (tags = tag_themes(data)).")
    keys = segment_keys(segment)
    needed = [col, sentiment_col, *keys, *([score_col] if score_col else [])]
    missing = [c for c in needed if c not in data.columns]
    if missing:
        raise DataContractError(f"Column(s) {missing} are missing; the frame has {list(data.columns)}.",
                                column=missing[0], rule="column present")
    has = data[col].notna() & (data[col].astype(str).str.strip() != "") & data[sentiment_col].notna()
    frame = data.loc[has]
    redacted = [redactor.redact(t) for t in frame[col].astype(str)]
    text = pd.Series([x.text for x in redacted], index=frame.index, dtype=object)
    base = pd.DataFrame({"text": text, "redactions": [x.total for x in redacted], "sentiment": frame[sentiment_col].astype(float),
                         "score": frame[score_col].astype(float) if score_col else np.nan,
                         "key": text.map(_stable_key),
                         "length_penalty": (~text.str.len().between(40, max_chars)).astype(int)})
    groups = frame.groupby(keys if len(keys) > 1 else keys[0], observed=True, sort=True).indices.items() \
        if keys else [("all", np.arange(len(frame)))]
    method = (f"quotes nearest to evenly spaced sentiment quantiles (VADER compound), distinct texts, "
              f"ties by SHA-256; redacted; cells under {k} comments suppressed")
    rows = []
    for gkey, idx in groups:
        label = ", ".join(map(str, gkey)) if isinstance(gkey, tuple) else str(gkey)
        sub_tags = tags.loc[has].iloc[idx]
        for theme in tags.columns:
            cand = base.iloc[idx][sub_tags[theme].to_numpy(bool)]
            n = len(cand)
            if n < k:
                rows.append({"theme": theme, "segment": label, "rank": 0, "quote": None, "sentiment": math.nan,
                             "score": math.nan, "quantile": math.nan, "n": n, "suppressed": True, "redactions": 0,
                             "method": method})
                continue
            picks = sorted(_pick(cand, n_quotes), key=lambda p: (cand.loc[p[0], "sentiment"], p[1]))
            for rank, (pos, q) in enumerate(picks, start=1):
                rows.append({"theme": theme, "segment": label, "rank": rank,
                             "quote": _shorten(cand.loc[pos, "text"], max_chars),
                             "sentiment": float(cand.loc[pos, "sentiment"]), "score": float(cand.loc[pos, "score"]),
                             "quantile": q, "n": n, "suppressed": False, "redactions": int(cand.loc[pos, "redactions"]),
                             "method": method})
    return pd.DataFrame(rows, columns=list(VERBATIM_COLUMNS))
