"""Multi-touch attribution: exact Markov-chain removal effects, first/last/linear heuristics, bootstrap intervals.

The journeys define an absorbing Markov chain: transient states ``(start)`` and the touchpoints,
absorbing states ``(conversion)`` and ``(null)`` (abandonment).  The probability of converting
from ``(start)`` is the absorption probability ``h_start`` of the linear system
``(I - Q) h = r`` (Kemeny & Snell 1960, Thm 3.3.7), where ``Q`` holds the transient-to-transient
probabilities and ``r`` the one-step conversion probabilities.  Removing a channel sends every
visit to it to ``(null)``; its removal effect is ``RE_c = 1 - h_start(-c) / h_start``
(Anderl et al. 2016).  Both are computed exactly by a linear solve, never by simulating random
walks, so the answer does not move with the row order of the input.

Intervals come from a nonparametric bootstrap over journeys.  Journeys sharing the same path
and outcome are exchangeable, so a bootstrap sample is one multinomial draw of counts over the
distinct paths; transition counts of every replicate are one sparse matrix product, and the
removal effects of all replicates are one batched solve per channel.  Without a bootstrap
(``n_boot=0``) no per-path incidence is needed: the transition counts and heuristic credits are
summed over journeys in DuckDB and the chain is solved once.  Events not yet cut into tables are
first reduced, in one query, to their distinct (path, outcome) pairs with counts -- all that
attribution needs -- and the path-level code runs on that small table.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from ..display import displayable
from ..engine.sql import literal, with_ctes
from ..errors import DataContractError, ParameterError, check_choice
from ..stats import check_alpha
from .bysegment import by_segment, journey_split
from .sessions import Journeys, as_journeys
from .sql import decode_sql, paths_sql
from .transitions import (CONVERSION, NULL, START, STATE_SEP, _counts_from_events, check_order,
                          distinct_paths_sql, edges_sql)

__all__ = ["Attribution", "attribute", "removal_effects", "ATTRIBUTION_COLUMNS", "ATTRIBUTION_METHODS"]

#: Columns of :meth:`Attribution.to_frame`, in order (one row per method and channel).
ATTRIBUTION_COLUMNS = ("method", "channel", "removal_effect", "removal_effect_ci_lower", "removal_effect_ci_upper",
                       "share", "share_ci_lower", "share_ci_upper", "conversions", "conversions_ci_lower",
                       "conversions_ci_upper", "ci_level", "n_journeys", "n_conversions", "n_boot", "order")
ATTRIBUTION_METHODS = ("markov", "first_touch", "last_touch", "linear")
_MAX_CELLS = 20_000_000  # bootstrap chunk size bound: replicates x distinct paths


@displayable(tables=("table",))
@dataclass(frozen=True)
class Attribution:
    """Attribution of conversions to channels by several methods, with bootstrap intervals.

    Attributes
    ----------
    table : DataFrame
        Columns :data:`ATTRIBUTION_COLUMNS`; ``removal_effect`` is NaN for the heuristics.
    conversion_probability : float
        ``h_start`` of the fitted chain, with ``conversion_probability_ci``.
    n_journeys, n_conversions : int
    n_boot : int
        Bootstrap replicates (0: no intervals).
    order : int
    ci_level : float
    replicates : DataFrame
        Markov removal effects of each bootstrap replicate (rows) by channel (columns).
    """

    table: pd.DataFrame
    conversion_probability: float
    conversion_probability_ci: tuple[float, float]
    n_journeys: int
    n_conversions: int
    n_boot: int
    order: int
    ci_level: float
    replicates: pd.DataFrame = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()


def _probabilities(counts: np.ndarray) -> np.ndarray:
    tot = counts.sum(axis=-1, keepdims=True)
    return np.divide(counts, tot, out=np.zeros(counts.shape, dtype=float), where=tot > 0)


def _conversion_probability(P: np.ndarray, removed: np.ndarray | None = None) -> np.ndarray:
    """``h_start`` for transition probabilities ``P`` of shape (..., t, t + 2), column t = conversion.

    Rows of ``removed`` states are zeroed, which makes them lose every journey that enters them.
    """
    t = P.shape[-2]
    Q = P[..., :t].copy()
    r = P[..., t].copy()
    if removed is not None and removed.any():
        Q[..., removed, :] = 0.0
        r[..., removed] = 0.0
    A = np.eye(t) - Q
    try:
        h = np.linalg.solve(A, r[..., None])[..., 0]
    except np.linalg.LinAlgError:
        raise DataContractError("The journeys contain a closed loop of touchpoints that never ends in conversion or "
                                "abandonment, so absorption probabilities are undefined. Use censored='exclude' or "
                                "'abandonment'.", rule="absorbing chain") from None
    return h[..., 0]


def _markov(counts: np.ndarray, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Base conversion probability (...,) and removal effects (..., k) from counts (..., t, t + 2)."""
    P = _probabilities(counts)
    base = _conversion_probability(P)
    removed = np.stack([_conversion_probability(P, m) for m in masks], axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        re = 1.0 - removed / base[..., None]
    return base, re


def removal_effects(probabilities: pd.DataFrame) -> pd.DataFrame:
    """Exact removal effects of a first-order chain given as a transition-probability table.

    Parameters
    ----------
    probabilities : DataFrame
        Rows = from-states (``(start)`` and the channels), columns = to-states including
        ``(conversion)`` and ``(null)``; rows sum to 1 (as ``TransitionMatrix.probabilities``).

    Returns
    -------
    DataFrame
        ``channel, removal_effect, share, conversion_probability, conversion_probability_without``.

    Examples
    --------
    >>> P = pd.DataFrame({"a": [0.5, 0.0, 0.0], "b": [0.5, 0.5, 0.0], "(conversion)": [0.0, 0.0, 0.5],
    ...                   "(null)": [0.0, 0.5, 0.5]}, index=["(start)", "a", "b"])
    >>> removal_effects(P)[["channel", "removal_effect"]].round(4).values.tolist()
    [['a', 0.3333], ['b', 1.0]]
    """
    if START not in probabilities.index or CONVERSION not in probabilities.columns:
        raise ParameterError(f"The table needs a {START!r} row and a {CONVERSION!r} column; found rows "
                             f"{list(probabilities.index)} and columns {list(probabilities.columns)}.")
    transient = [START] + [s for s in probabilities.index if s != START]
    cols = transient + [CONVERSION, NULL]
    P = probabilities.reindex(index=transient, columns=cols, fill_value=0.0).to_numpy(float)
    channels = transient[1:]
    masks = np.eye(len(transient), dtype=bool)[1:]
    base, re = _markov(P, masks)
    without = float(base) * (1 - re)
    return pd.DataFrame({"channel": channels, "removal_effect": re, "share": re / re.sum(),
                         "conversion_probability": float(base), "conversion_probability_without": without})


def _inputs(js, order: int, censored: str):
    """Distinct paths, their edge incidence (sparse) and heuristic credits, all aggregated in DuckDB."""
    eng = js.backend
    d = eng.temp_name("distinct_paths")
    eng.execute(f"CREATE TEMP TABLE {d} AS {distinct_paths_sql(js, censored=censored)}")
    paths = eng.df(f"SELECT pid, n, outcome = 'conversion' AS converted FROM {d} ORDER BY pid")
    edges = eng.df(edges_sql(js, order=order, censored=censored, distinct=d))
    credit = eng.df(f"""
WITH u AS (SELECT pid, unnest(path) AS channel, unnest(generate_series(1, len(path))) AS i, len(path) AS l
      FROM {d} WHERE outcome = 'conversion' AND len(path) > 0)
SELECT pid, channel, sum((i = 1)::INT)::DOUBLE AS first_touch, sum((i = l)::INT)::DOUBLE AS last_touch,
       sum(1.0 / l)::DOUBLE AS linear
FROM u GROUP BY pid, channel""")
    eng.execute(f"DROP TABLE {d}")
    return paths, edges, credit


def _aggregated_inputs(js, order: int, censored: str):
    """Point-estimate inputs: everything summed over journeys in DuckDB, as a single pseudo-path ``pid = 0``.

    Without a bootstrap the per-path incidence is never needed: transition counts ``sum(n * k)``
    and heuristic credits ``sum(n * credit)`` are aggregated straight from the journey rows (each
    weighted by ``weight``), which skips numbering the distinct paths.  Returns the same frames
    as :func:`_inputs` plus ``(n_journeys, n_conversions, n_credited)``.
    """
    eng = js.backend
    if js.spec is not None and order == 1:
        return _aggregated_from_events(js, censored)
    keep = " AND outcome != 'censored'" if censored == "exclude" else ""
    rows = f"(SELECT path, outcome, weight AS n FROM {js.table} WHERE weight > 0{keep})"
    if order == 1:
        # First order: pairs of neighbours are two shifted unnests, plus the (start) and the final edge.
        end = (f"CASE WHEN outcome = 'conversion' THEN {literal(CONVERSION)} "
               f"WHEN outcome IN ('abandonment', 'censored') THEN {literal(NULL)} END")
        edges = eng.df(f"""
WITH r AS {rows}
SELECT 0::BIGINT AS pid, 1::BIGINT AS n, src, dst, sum(n)::BIGINT AS k FROM (
  SELECT n, unnest(list_slice(path, 1, len(path) - 1)) AS src, unnest(list_slice(path, 2, len(path))) AS dst
  FROM r WHERE len(path) > 1
  UNION ALL SELECT n, {literal(START)}, CASE WHEN len(path) > 0 THEN path[1] ELSE {end} END FROM r
  UNION ALL SELECT n, path[len(path)], {end} FROM r WHERE len(path) > 0)
WHERE dst IS NOT NULL GROUP BY src, dst""")
    else:
        numbered = (f"(SELECT row_number() OVER ()::BIGINT AS pid, path, outcome, n FROM {rows})")
        edges = eng.df(f"""SELECT 0::BIGINT AS pid, 1::BIGINT AS n, src, dst, sum(n * k)::BIGINT AS k
FROM ({edges_sql(js, order=order, censored=censored, distinct=numbered)}) GROUP BY src, dst""")
    credit = eng.df(f"""
WITH c AS (SELECT n, path, len(path) AS l FROM {rows} WHERE outcome = 'conversion' AND len(path) > 0)
SELECT 0::BIGINT AS pid, channel, sum(f)::DOUBLE AS first_touch, sum(la)::DOUBLE AS last_touch,
       sum(li)::DOUBLE AS linear FROM (
  SELECT unnest(path) AS channel, 0::BIGINT AS f, 0::BIGINT AS la, n * (1.0 / l) AS li FROM c
  UNION ALL SELECT path[1], n, 0, 0.0 FROM c
  UNION ALL SELECT path[l], 0, n, 0.0 FROM c) GROUP BY channel""")
    totals = eng.fetchall(f"""
SELECT coalesce(sum(n), 0)::BIGINT, coalesce(sum(n) FILTER (WHERE outcome = 'conversion'), 0)::BIGINT,
       coalesce(sum(n) FILTER (WHERE outcome = 'conversion' AND len(path) > 0), 0)::BIGINT FROM {rows}""")[0]
    return edges, credit, tuple(int(v) for v in totals)


def _aggregated_from_events(js, censored: str):
    """:func:`_aggregated_inputs` for first order from the event table of :func:`journeyize` (no lists).

    Transition counts as :func:`~cxlib.journey.transitions.transition_matrix` counts them; credits:
    first touch = the first touchpoint of a converted journey with a non-empty path, last touch = the
    touchpoint right before the conversion, linear = ``1 / (n_events - 1)`` to every other event of
    a converted journey (one join of those events to their journeys).
    """
    eng = js.backend
    ctes, ev, jt = js.sources()
    conv = literal(js.conversion)
    e, _ = _counts_from_events(js, censored)
    edges = pd.DataFrame({"pid": np.zeros(len(e), dtype=np.int64), "n": 1, "src": e["src"], "dst": e["dst"],
                          "k": e["c"]})
    keep = "outcome != 'censored'" if censored == "exclude" else "TRUE"
    # Credits per channel and the three totals (channel NULL) in one query.
    got = eng.df(with_ctes(ctes, f"""
SELECT channel, sum(f)::DOUBLE AS first_touch, sum(la)::DOUBLE AS last_touch, sum(li)::DOUBLE AS linear FROM (
  SELECT first_tp AS channel, count(*) AS f, 0 AS la, 0.0 AS li FROM {jt} WHERE converted AND n_events > 1 GROUP BY 1
  UNION ALL SELECT tp, 0, count(*), 0.0 FROM {ev} WHERE nxt = {conv} GROUP BY 1
  UNION ALL SELECT e.tp, 0, 0, sum(1.0 / (j.n_events - 1)) FROM {ev} e
    JOIN (SELECT jkey, k, n_events FROM {jt} WHERE converted AND n_events > 1) j
    ON e.jkey IS NOT DISTINCT FROM j.jkey AND e.k = j.k WHERE e.tp != {conv} GROUP BY 1) c
GROUP BY channel
UNION ALL
SELECT NULL, sum(CASE WHEN {keep} THEN 1 ELSE 0 END), sum(CASE WHEN converted THEN 1 ELSE 0 END),
       sum(CASE WHEN converted AND n_events > 1 THEN 1 ELSE 0 END) FROM {jt}"""))
    tot = got[got["channel"].isna()].iloc[0]
    credit = got[got["channel"].notna()].reset_index(drop=True)
    credit.insert(0, "pid", np.zeros(len(credit), dtype=np.int64))
    totals = (tot["first_touch"], tot["last_touch"], tot["linear"])
    return edges, credit, tuple(int(v) for v in totals)


def _distinct_paths(js: Journeys) -> tuple[Journeys, str | None]:
    """Fused events reduced to path level: one row per distinct (path, outcome) with its count.

    Attribution needs nothing of a journey but its path and outcome, so the events are cut and
    grouped in one query into a small table (tens of thousands of rows for millions of events) and
    the path-level code runs on it; returns the path-level journeys and the table to drop.  Journeys
    whose event table is built already are returned as they are (their route reads that table).
    """
    if js.fused is None:
        return js, None
    t = js.backend.temp_name("distinct_paths")
    js.backend.execute(f"""CREATE TEMP TABLE {t} AS
SELECT {decode_sql("p", js.codes)} AS path, outcome, outcome = 'conversion' AS converted, weight FROM (
  SELECT p, outcome, sum(weight)::BIGINT AS weight FROM ({paths_sql(js.fused, js.observation_end, js.codes)}) j
  GROUP BY p, outcome) g""")
    n = int(js.backend.fetchall(f"SELECT coalesce(sum(weight), 0) FROM {t}")[0][0])
    return dataclasses.replace(js, spec=None, _built={"table": t, "journeys": t, "n_journeys": n}), t


@journey_split
def attribute(journeys: Any, *, order: int = 1, n_boot: int = 1000, alpha: float = 0.05,
              rng: np.random.Generator | int | None = None, censored: str = "exclude",
              segment: str | None = None, segments: Any = None) -> Attribution:
    """Attribute conversions to channels: exact Markov removal effects and three heuristics, with intervals.

    Per segment: ``by_segment(attribute, journeys, segment=..., segments=...)``, a
    :class:`~cxlib.journey.BySegment` (:func:`cxlib.journey.by_segment`; ``by=`` here is deprecated).

    Parameters
    ----------
    journeys : Journeys or events
        Journeys (``from_paths`` for path-level counts).  Channels are the touchpoints of the paths.
    order : int
        Markov order; with ``m > 1`` a state is the last ``m`` touchpoints and removing a channel
        removes every state that contains it.
    n_boot : int
        Bootstrap replicates (0 for point estimates only).  1000 gives percentile limits stable to
        about 0.005 on 10,000 journeys.
    alpha : float
        1 - confidence level of the percentile intervals.
    rng : numpy Generator or int
        Source of the bootstrap randomness (required when ``n_boot > 0``); an int seeds a new Generator.
    censored : {"exclude", "abandonment"}
        Censored journeys have no known outcome: dropped (default) or counted as abandoned.

    Returns
    -------
    Attribution
        One row per method (``markov``, ``first_touch``, ``last_touch``, ``linear``) and channel.
        ``conversions`` are the observed conversions with a non-empty path, shared out in proportion
        to the removal effects (Markov) or the credits (heuristics: the first touch, the last touch,
        or ``1/L`` to each of the ``L`` touches).

    Notes
    -----
    ``h = (I - Q)^{-1} r`` and ``RE_c = 1 - h_start(-c) / h_start``; shares ``RE_c / sum_j RE_j``.
    Bootstrap: ``B`` draws ``w_b ~ Multinomial(N, n / N)`` over the distinct paths with counts
    ``n`` (Efron & Tibshirani 1993, ch. 6); percentile intervals.

    References
    ----------
    Anderl, E., Becker, I., von Wangenheim, F., Schumann, J. H. (2016). Mapping the customer
    journey: lessons learned from graph-based online attribution modeling. IJRM 33(3), 457-474.

    Examples
    --------
    >>> from cxlib.journey import from_paths
    >>> js = from_paths(pd.DataFrame({"path": ["a > b", "b", "a"], "conversions": [30, 10, 0],
    ...                               "nulls": [20, 30, 10]}))
    >>> res = attribute(js, n_boot=200, rng=1)
    >>> res.to_frame().query("method == 'markov'")[["channel", "removal_effect"]].round(3).values.tolist()
    [['a', 0.556], ['b', 1.0]]
    """
    if segment is not None:
        def run(j: Journeys) -> Any:
            return attribute(j, order=order, n_boot=n_boot, alpha=alpha, rng=rng, censored=censored)
        return by_segment(run, journeys, segment, segments)
    check_alpha(alpha)
    order = check_order(order)
    check_choice("censored", censored, ("exclude", "abandonment"))
    if not isinstance(n_boot, (int, np.integer)) or n_boot < 0:
        raise ParameterError(f"n_boot={n_boot!r} must be a whole number >= 0.")
    if n_boot > 0:
        if rng is None:
            raise ParameterError("Bootstrap intervals need a seeded generator: pass rng=np.random.default_rng(seed) "
                                 "(or n_boot=0 for point estimates).")
        rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    js, tmp = _distinct_paths(as_journeys(journeys))
    if n_boot == 0:
        # Point estimates only: aggregate in DuckDB and evaluate one pseudo-path holding all the counts.
        edges, credit, (n_all, n_converted, n_credited) = _aggregated_inputs(js, order, censored)
        n_total, n_conv_total, J = n_all, n_converted, 1
        n = np.array([1], dtype=np.int64)
    else:
        paths, edges, credit = _inputs(js, order, censored)
        n = paths["n"].to_numpy(np.int64)
        converted = paths["converted"].to_numpy(bool)
        n_total, n_conv_total, J = int(n.sum()), int(n[converted].sum()), len(paths)
    if n_conv_total == 0:
        raise DataContractError("No journey converted, so there is nothing to attribute (check conversion=...).",
                                rule="conversions present")
    transient = [START] + sorted(set(edges["src"]) - {START})
    index = {s: i for i, s in enumerate(transient + [CONVERSION, NULL])}
    t, width = len(transient), len(transient) + 2
    inc = sparse.csr_matrix((edges["k"].to_numpy(float), (edges["pid"].to_numpy(),
                             edges["src"].map(index).to_numpy() * width + edges["dst"].map(index).to_numpy())),
                            shape=(J, t * width))
    channels = sorted(set(credit["channel"]) | {c for s in transient[1:] for c in s.split(STATE_SEP)})
    masks = np.array([[c in s.split(STATE_SEP) for s in transient] for c in channels], dtype=bool)
    cidx = {c: i for i, c in enumerate(channels)}
    heur = {m: sparse.csr_matrix((credit[m].to_numpy(), (credit["pid"].to_numpy(), credit["channel"].map(cidx))),
                                 shape=(J, len(channels))) for m in ATTRIBUTION_METHODS[1:]}
    credited = np.zeros(J)
    if n_boot == 0:
        credited[0] = n_credited  # converted journeys with at least one touch
    else:
        credited[credit["pid"].unique()] = 1.0  # converted paths with at least one touch

    def evaluate(w: np.ndarray) -> dict[str, np.ndarray]:
        counts = np.asarray(inc.T @ w.T).T.reshape(-1, t, width)
        base, re = _markov(counts, masks)
        conv = w @ credited
        with np.errstate(invalid="ignore", divide="ignore"):
            share = re / re.sum(axis=-1, keepdims=True)
            out = {"base": base, "markov_re": re, "markov": share, "conv": conv}
            for m, mat in heur.items():
                cr = np.asarray(mat.T @ w.T).T
                out[m] = cr / cr.sum(axis=-1, keepdims=True)
        return out

    point = {k: v[0] for k, v in evaluate(n[None, :].astype(float)).items()}
    boot: dict[str, list[np.ndarray]] = {}
    if n_boot > 0:
        N = int(n.sum())
        chunk = max(1, min(n_boot, _MAX_CELLS // max(J, 1)))
        done = 0
        while done < n_boot:
            b = min(chunk, n_boot - done)
            w = rng.multinomial(N, n / N, size=b).astype(float)
            for k, v in evaluate(w).items():
                boot.setdefault(k, []).append(v)
            done += b
    boots = {k: np.concatenate(v, axis=0) for k, v in boot.items()}
    q = [alpha / 2, 1 - alpha / 2]

    def interval(key: str) -> tuple[np.ndarray, np.ndarray]:
        if not boots:
            nan = np.full(len(channels), np.nan)
            return nan, nan
        lo, hi = np.nanquantile(boots[key], q, axis=0)
        return lo, hi

    n_conv = float(point["conv"])
    rows = []
    for m in ATTRIBUTION_METHODS:
        s_lo, s_hi = interval(m)
        if boots:
            att = boots[m] * boots["conv"][:, None]
            c_lo, c_hi = np.nanquantile(att, q, axis=0)
        else:
            c_lo = c_hi = np.full(len(channels), np.nan)
        re, re_lo, re_hi = (point["markov_re"], *interval("markov_re")) if m == "markov" else (np.full(len(channels), np.nan),) * 3
        rows.append(pd.DataFrame({
            "method": m, "channel": channels, "removal_effect": re, "removal_effect_ci_lower": re_lo,
            "removal_effect_ci_upper": re_hi, "share": point[m], "share_ci_lower": s_lo, "share_ci_upper": s_hi,
            "conversions": point[m] * n_conv, "conversions_ci_lower": c_lo, "conversions_ci_upper": c_hi}))
    table = pd.concat(rows, ignore_index=True).assign(
        ci_level=1 - alpha, n_journeys=n_total, n_conversions=n_conv_total, n_boot=int(n_boot),
        order=order)
    if tmp is not None:
        js.backend.execute(f"DROP TABLE {tmp}")
    base_ci = tuple(np.nanquantile(boots["base"], q)) if boots else (np.nan, np.nan)
    reps = pd.DataFrame(boots["markov_re"], columns=channels) if boots else pd.DataFrame(columns=channels)
    return Attribution(table=table[list(ATTRIBUTION_COLUMNS)], conversion_probability=float(point["base"]),
                       conversion_probability_ci=(float(base_ci[0]), float(base_ci[1])), n_journeys=n_total,
                       n_conversions=n_conv_total, n_boot=int(n_boot), order=order, ci_level=1 - alpha,
                       replicates=reps)
