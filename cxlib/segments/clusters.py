"""Data-driven behavioural segments: clustering standardized RFM, engagement and CX features.

:class:`BehaviouralSegments` follows the lifelines verbs (``fit`` returns ``self``, learned values end
in ``_``, ``predict``): it standardizes the features, fits k-means or a Gaussian mixture for every
``k`` of a range, chooses ``k`` by a stated criterion (mean silhouette width, or BIC for the mixture),
and names the segments S1, S2, ... by decreasing size.  :func:`stability` refits across seeds and
bootstrap resamples and reports the adjusted Rand index (ARI) with the reference labels;
:func:`profile_segments` and :func:`describe_segments` say in plain language what sets each segment
apart, with effect sizes.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.mixture import GaussianMixture
from threadpoolctl import threadpool_limits

from ..display import displayable
from ..errors import DataContractError, NotFittedError, ParameterError, check_choice
from ..significance.compare import compare_means
from ..stats import check_alpha

__all__ = ["CLUSTER_FEATURES", "LOG_FEATURES", "SELECTION_COLUMNS", "STABILITY_COLUMNS", "PROFILE_COLUMNS",
           "BehaviouralSegments", "StabilityResult", "stability", "profile_segments", "describe_segments",
           "standardize"]

#: Default clustering features: RFM, engagement and CX score (see :func:`cxlib.segments.customer_features`).
CLUSTER_FEATURES = ("recency_days", "frequency", "monetary", "active_days", "journeys", "latest_nps", "tickets")
#: Right-skewed counts and amounts, clustered on the ``log1p`` scale so a few heavy buyers do not make clusters.
LOG_FEATURES = ("recency_days", "frequency", "monetary", "total_spend", "events", "active_days", "journeys",
                "journeys_per_month",
                "tickets", "complaints", "open_tickets", "responses")
#: Columns of ``BehaviouralSegments.selection_``.
SELECTION_COLUMNS = ("k", "criterion", "value", "chosen", "smallest_share", "method")
#: Columns of :meth:`StabilityResult.to_frame`.
STABILITY_COLUMNS = ("kind", "k", "replicates", "mean_ari", "ci_lower", "ci_upper", "ci_level", "min_ari", "method")
#: Columns of :func:`profile_segments` (one row per segment and feature).
PROFILE_COLUMNS = ("segment", "n", "share", "feature", "mean", "mean_rest", "difference", "ci_lower", "ci_upper",
                   "ci_level", "p_value", "effect_size", "method")

Algorithm = Literal["kmeans", "gmm"]
Criterion = Literal["silhouette", "bic"]


def standardize(features: pd.DataFrame, *, columns: Sequence[str] = CLUSTER_FEATURES,
                log: Sequence[str] = LOG_FEATURES, center: pd.Series | None = None,
                scale: pd.Series | None = None) -> tuple[np.ndarray, pd.Series, pd.Series, pd.Series]:
    """z-scores of ``columns`` (``log1p`` first for those in ``log``; missing values at the median).

    Returns ``(X, center, scale, median)``; pass ``center`` and ``scale`` to reuse a fitted transform.

    >>> X, c, s, m = standardize(pd.DataFrame({"frequency": [0.0, 1.0, 3.0], "latest_nps": [0.0, np.nan, 10.0]}),
    ...                          columns=["frequency", "latest_nps"])
    >>> X.shape, np.round(X.mean(axis=0), 12).tolist()
    ((3, 2), [0.0, 0.0])
    """
    missing = [c for c in columns if c not in features.columns]
    if missing:
        raise DataContractError(f"Clustering feature(s) {missing} are missing; found {list(features.columns)}.",
                                column=missing[0], rule="column present")
    frame = features[list(columns)].astype(float).copy()
    for c in columns:
        if c in log:
            if (frame[c] < 0).any():
                raise DataContractError(f"Feature {c!r} has negative values; log1p needs values >= 0.", column=c,
                                        rule="non-negative")
            frame[c] = np.log1p(frame[c])
    median = frame.median()
    frame = frame.fillna(median).fillna(0.0)
    center = frame.mean() if center is None else center
    scale = frame.std(ddof=0).replace(0.0, 1.0) if scale is None else scale
    return ((frame - center) / scale).to_numpy(), center, scale, median


def _fit_k(X: np.ndarray, k: int, algorithm: str, seed: int, n_init: int, n_threads: int | None = 1):
    # BLAS/OpenMP threads are capped (default 1): on a shared machine oversubscribed threads make
    # k-means tens of times slower, and one thread gives the same labels on every machine.
    with threadpool_limits(limits=n_threads):
        if algorithm == "kmeans":
            return KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(X)
        return GaussianMixture(n_components=k, covariance_type="full", n_init=max(1, n_init // 5),
                               random_state=seed, reg_covar=1e-4).fit(X)


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(0, 2**31 - 1))


@displayable(tables={"selection": lambda s: s.selection_}, fields=lambda s: {
    "algorithm": s.algorithm, "criterion": s.criterion, "fitted": hasattr(s, "labels_"),
    **({"k": s.k_, "n": s.n_, "method": s.method_} if hasattr(s, "labels_") else {})})
class BehaviouralSegments:
    """Clusters of customers on standardized behaviour, engagement and CX features.

    Parameters
    ----------
    algorithm : {"kmeans", "gmm"}
        k-means (Lloyd, ``n_init`` restarts) or a Gaussian mixture with full covariances.
    k : int, optional
        Number of segments; ``None`` chooses it over ``k_range`` by ``criterion``.
    k_range : sequence of int, default 2..8
        Candidate numbers of segments (a handful: more segments than a team can act on is no help).
    criterion : {"silhouette", "bic"}
        ``"silhouette"`` (default): the largest mean silhouette width (Rousseeuw 1987), computed on a
        seeded sample of ``silhouette_sample`` customers; ``"bic"``: the smallest Bayesian information
        criterion of the Gaussian mixture (``algorithm="gmm"`` only; Fraley & Raftery 2002).
    columns : sequence of str
        Features (default :data:`CLUSTER_FEATURES`); those in :data:`LOG_FEATURES` are ``log1p``-ed,
        missing values (customers who never answered a survey) are set to the median, then every
        column is standardized to mean 0 and standard deviation 1.
    min_share : float, default 0.02
        Candidate solutions with a segment smaller than this share of customers are not chosen
        (a segment of a few outliers is not a segment to act on).
    n_init : int, default 10
        Restarts per fit.
    silhouette_sample : int, default 2000
        Customers (a seeded random sample) on which the silhouette is computed; its cost grows with n^2.
    n_threads : int or None, default 1
        BLAS/OpenMP threads while fitting (``None``: the library default).

    Attributes
    ----------
    labels_ : pandas.Series
        ``"S1"``..``"Sk"`` per customer (S1 the largest), indexed like the fitted features.
    k_ : int
    selection_ : pandas.DataFrame
        :data:`SELECTION_COLUMNS`, one row per candidate ``k``.
    center_, scale_, median_ : pandas.Series
        The transform (on the log1p scale where used).
    model_ : fitted scikit-learn estimator
    method_ : str

    References
    ----------
    Rousseeuw, P. J. (1987). Silhouettes. J. Comput. Appl. Math. 20, 53-65. Fraley, C. & Raftery, A. E.
    (2002). Model-based clustering. JASA 97, 611-631. Hubert, L. & Arabie, P. (1985). Comparing partitions.
    J. Classification 2, 193-218 (adjusted Rand index).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> f = pd.DataFrame({"a": np.r_[rng.normal(0, 1, 60), rng.normal(8, 1, 40)],
    ...                   "b": np.r_[rng.normal(0, 1, 60), rng.normal(8, 1, 40)]})
    >>> m = BehaviouralSegments(columns=["a", "b"], k_range=range(2, 5)).fit(f, rng=rng)
    >>> m.k_, m.labels_.value_counts().to_dict()
    (2, {'S1': 60, 'S2': 40})
    """

    def __init__(self, *, algorithm: Algorithm = "kmeans", k: int | None = None,
                 k_range: Sequence[int] = range(2, 9), criterion: Criterion = "silhouette",
                 columns: Sequence[str] = CLUSTER_FEATURES, min_share: float = 0.02, n_init: int = 10,
                 silhouette_sample: int = 2000, n_threads: int | None = 1):
        self.algorithm = check_choice("algorithm", algorithm, ("kmeans", "gmm"))
        self.criterion = check_choice("criterion", criterion, ("silhouette", "bic"))
        if criterion == "bic" and algorithm != "gmm":
            raise ParameterError("criterion='bic' needs algorithm='gmm' (k-means has no likelihood); use "
                                 "criterion='silhouette' with k-means.")
        ks = [k] if k is not None else sorted(set(int(v) for v in k_range))
        if not ks or min(ks) < 2:
            raise ParameterError(f"k / k_range must be integers of at least 2; found {ks}.")
        self.k, self.k_range, self.columns = k, ks, list(columns)
        self.min_share, self.n_init, self.silhouette_sample = float(min_share), int(n_init), int(silhouette_sample)
        self.n_threads = n_threads

    def _check_fitted(self) -> None:
        if not hasattr(self, "labels_"):
            raise NotFittedError("This BehaviouralSegments is not fitted yet; call .fit(features, rng=...) first.")

    def _score(self, X: np.ndarray, model, labels: np.ndarray, rng: np.random.Generator) -> float:
        if self.criterion == "bic":
            return float(model.bic(X))
        if len(np.unique(labels)) < 2:
            return math.nan
        size = min(self.silhouette_sample, X.shape[0])
        with threadpool_limits(limits=self.n_threads):
            return float(silhouette_score(X, labels, sample_size=size, random_state=_seed(rng)))

    def fit(self, features: pd.DataFrame, *, rng: np.random.Generator) -> BehaviouralSegments:
        """Standardize, fit every candidate ``k``, choose one by the criterion; returns ``self``."""
        if not isinstance(rng, np.random.Generator):
            raise ParameterError("rng must be a numpy.random.Generator (np.random.default_rng(seed)).")
        X, self.center_, self.scale_, self.median_ = standardize(features, columns=self.columns)
        if X.shape[0] < 3 * max(self.k_range):
            raise ParameterError(f"{X.shape[0]} customers are too few for up to {max(self.k_range)} segments "
                                 "(at least 3 per segment).")
        rows, fits = [], {}
        for k in self.k_range:
            model = _fit_k(X, k, self.algorithm, _seed(rng), self.n_init, self.n_threads)
            labels = model.predict(X)
            share = np.bincount(labels, minlength=k).min() / X.shape[0]
            rows.append({"k": k, "criterion": self.criterion, "value": self._score(X, model, labels, rng),
                         "smallest_share": share})
            fits[k] = (model, labels)
        sel = pd.DataFrame(rows)
        ok = sel[(sel["smallest_share"] >= self.min_share) & sel["value"].notna()]
        pool = ok if not ok.empty else sel
        best = pool.loc[pool["value"].idxmax() if self.criterion == "silhouette" else pool["value"].idxmin()]
        self.k_ = int(best["k"])
        sel["chosen"] = sel["k"] == self.k_
        what = {"kmeans": f"k-means ({self.n_init} restarts)", "gmm": "Gaussian mixture (full covariances)"}
        rule = ("largest mean silhouette width" if self.criterion == "silhouette" else "smallest BIC")
        self.method_ = (f"{what[self.algorithm]} on {len(self.columns)} standardized features "
                        f"({', '.join(self.columns)}; log1p for counts, amounts and recency, missing at the median); "
                        f"k = {self.k_} chosen by the {rule} over k = {min(self.k_range)}..{max(self.k_range)}"
                        f" among solutions whose smallest segment holds at least {self.min_share:.0%}")
        sel["method"] = self.method_
        self.selection_ = sel[list(SELECTION_COLUMNS)]
        self.model_, raw = fits[self.k_]
        order = np.argsort(-np.bincount(raw, minlength=self.k_), kind="stable")
        self._names = {int(c): f"S{i + 1}" for i, c in enumerate(order)}
        self.labels_ = pd.Series([self._names[int(v)] for v in raw], index=features.index, name="segment")
        self.n_ = int(X.shape[0])
        return self

    def transform(self, features: pd.DataFrame) -> np.ndarray:
        """The standardized feature matrix of ``features`` under the fitted transform."""
        self._check_fitted()
        frame = features[self.columns].astype(float).copy()
        for c in self.columns:
            if c in LOG_FEATURES:
                frame[c] = np.log1p(frame[c])
        frame = frame.fillna(self.median_).fillna(0.0)
        return ((frame - self.center_) / self.scale_).to_numpy()

    def predict(self, features: pd.DataFrame) -> pd.Series:
        """Segment label of each row of ``features`` (new customers, or the same ones)."""
        self._check_fitted()
        raw = self.model_.predict(self.transform(features))
        return pd.Series([self._names[int(v)] for v in raw], index=features.index, name="segment")


@displayable()
@dataclass(frozen=True)
class StabilityResult:
    """Adjusted Rand indices of refits against the reference segmentation.

    ``seed_ari``: refits on all customers with other seeds; ``bootstrap_ari``: fits on bootstrap
    resamples, predicted for all customers.  ARI is 1 for identical partitions and about 0 for
    chance agreement (Hubert & Arabie 1985); above about 0.8 segments are usually read as stable.
    """

    k: int
    seed_ari: np.ndarray
    bootstrap_ari: np.ndarray
    ci_level: float
    method: str

    def to_frame(self) -> pd.DataFrame:
        """Two rows (seeds, bootstrap) with :data:`STABILITY_COLUMNS`; percentile intervals of the ARI."""
        q = (1 - self.ci_level) / 2
        rows = []
        for kind, v in (("seeds", self.seed_ari), ("bootstrap", self.bootstrap_ari)):
            v = np.asarray(v, dtype=float)
            rows.append({"kind": kind, "k": self.k, "replicates": int(v.size),
                         "mean_ari": float(v.mean()) if v.size else math.nan,
                         "ci_lower": float(np.quantile(v, q)) if v.size else math.nan,
                         "ci_upper": float(np.quantile(v, 1 - q)) if v.size else math.nan,
                         "ci_level": self.ci_level, "min_ari": float(v.min()) if v.size else math.nan,
                         "method": self.method})
        return pd.DataFrame(rows, columns=list(STABILITY_COLUMNS))


def stability(model: BehaviouralSegments, features: pd.DataFrame, *, seeds: int = 5, bootstraps: int = 20,
              alpha: float = 0.05, rng: np.random.Generator) -> StabilityResult:
    """Stability of a fitted segmentation across seeds and bootstrap resamples (adjusted Rand index).

    Parameters
    ----------
    model : fitted BehaviouralSegments
        The reference; its ``k_`` is kept fixed in every refit.
    features : DataFrame
        The features it was fitted on.
    seeds, bootstraps : int
        Refits on all customers with new seeds, and fits on bootstrap resamples (rows drawn with
        replacement) whose predictions for all customers are compared with the reference.
    alpha : float
        The ARI interval is the ``alpha/2`` and ``1 - alpha/2`` percentiles of the replicates.
    rng : numpy.random.Generator
        Seeds every refit and resample.

    Returns
    -------
    StabilityResult

    References
    ----------
    Lange, T., Roth, V., Braun, M. L. & Buhmann, J. M. (2004). Stability-based validation of clustering
    solutions. Neural Computation 16, 1299-1323. Hennig, C. (2007). Cluster-wise assessment of cluster
    stability. Comput. Stat. Data Anal. 52, 258-271.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> f = pd.DataFrame({"a": np.r_[rng.normal(0, 1, 50), rng.normal(9, 1, 50)]})
    >>> m = BehaviouralSegments(columns=["a"], k=2).fit(f, rng=rng)
    >>> s = stability(m, f, seeds=3, bootstraps=5, rng=rng)
    >>> s.to_frame()[["kind", "replicates", "mean_ari"]].values.tolist()
    [['seeds', 3, 1.0], ['bootstrap', 5, 1.0]]
    """
    model._check_fitted()
    check_alpha(alpha)
    X = model.transform(features)
    ref = model.labels_.reindex(features.index).to_numpy()
    seed_ari = [adjusted_rand_score(ref, _fit_k(X, model.k_, model.algorithm, _seed(rng), model.n_init,
                                                      model.n_threads).predict(X))
                for _ in range(int(seeds))]
    boot = []
    for _ in range(int(bootstraps)):
        idx = rng.integers(0, X.shape[0], X.shape[0])
        fit = _fit_k(X[idx], model.k_, model.algorithm, _seed(rng), model.n_init, model.n_threads)
        boot.append(adjusted_rand_score(ref, fit.predict(X)))
    method = (f"adjusted Rand index of {int(seeds)} refits with new seeds and {int(bootstraps)} bootstrap refits "
              f"(k = {model.k_} fixed) against the reference labels; percentile intervals")
    return StabilityResult(k=model.k_, seed_ari=np.asarray(seed_ari), bootstrap_ari=np.asarray(boot),
                           ci_level=1 - alpha, method=method)


def profile_segments(features: pd.DataFrame, labels: pd.Series, *, columns: Sequence[str] | None = None,
                     alpha: float = 0.05) -> pd.DataFrame:
    """What sets each segment apart: each feature's mean in the segment against the rest, with Hedges' g.

    Parameters
    ----------
    features : DataFrame
        Customer features (original units: days, purchases, EUR, 0-10 scores...).
    labels : Series
        Segment of each customer, same index (``BehaviouralSegments.labels_``, an RFM segment...).
    columns : sequence of str, optional
        Numeric features to profile; default every numeric column.
    alpha : float
        Level of the Welch intervals.

    Returns
    -------
    DataFrame
        :data:`PROFILE_COLUMNS`, one row per segment and feature: ``difference = mean - mean_rest`` with
        the Welch interval and p-value, and ``effect_size`` Hedges' g (standardized difference; 0.2 small,
        0.5 medium, 0.8 large by Cohen's conventions). Missing values (no survey answer) are left out
        of that feature's comparison.

    Examples
    --------
    >>> f = pd.DataFrame({"spend": [10.0, 12, 11, 30, 32, 31]})
    >>> p = profile_segments(f, pd.Series(["A", "A", "A", "B", "B", "B"]))
    >>> p[["segment", "n", "difference"]].values.tolist()
    [['A', 3, -20.0], ['B', 3, 20.0]]
    """
    check_alpha(alpha)
    if not labels.index.equals(features.index):
        labels = labels.reindex(features.index)
    cols = list(columns) if columns is not None else [c for c in features.columns
                                                      if pd.api.types.is_numeric_dtype(features[c])]
    rows = []
    levels = sorted(labels.dropna().unique().tolist(), key=str)
    for seg in levels:
        inside = (labels == seg).to_numpy()
        for col in cols:
            v = features[col].to_numpy(dtype=float)
            r = compare_means(v[inside], v[~inside], metric=col, alpha=alpha, warn=False)
            rows.append({"segment": str(seg), "n": int(inside.sum()), "share": float(inside.mean()), "feature": col,
                         "mean": r.estimate_a, "mean_rest": r.estimate_b, "difference": r.difference,
                         "ci_lower": r.ci_lower, "ci_upper": r.ci_upper, "ci_level": r.ci_level,
                         "p_value": r.p_value, "effect_size": r.effect_size, "method": r.method + " (segment vs rest)"})
    return pd.DataFrame(rows, columns=list(PROFILE_COLUMNS))


_WORDS = ((1.2, "much"), (0.5, ""), (0.2, "slightly"))


def describe_segments(profile: pd.DataFrame, *, top: int = 3, min_effect: float = 0.2,
                      labels: dict[str, str] | None = None) -> pd.DataFrame:
    """A plain-language profile per segment from :func:`profile_segments`: size and distinctive features.

    The ``top`` features with the largest absolute Hedges' g (at least ``min_effect``) are named with
    "much" (|g| >= 1.2), no adverb (>= 0.5) or "slightly" (>= 0.2), and the effect size in brackets.

    Returns
    -------
    DataFrame
        ``segment, n, share, description``.

    Examples
    --------
    >>> f = pd.DataFrame({"spend": [10.0, 12, 11, 30, 32, 31], "visits": [1.0, 2, 1, 2, 1, 1]})
    >>> d = describe_segments(profile_segments(f, pd.Series(list("AAABBB"))), labels={"spend": "spend"})
    >>> d.loc[1, "description"]
    'B (n = 3, 50% of customers): much higher spend (g = 16.0)'
    """
    labels = labels or {}
    rows = []
    for seg, sub in profile.groupby("segment", sort=True):
        sub = sub.assign(abs_g=sub["effect_size"].abs()).sort_values("abs_g", ascending=False)
        parts = []
        for r in sub[sub["abs_g"] >= min_effect].head(top).itertuples():
            adverb = next(w for cut, w in _WORDS if r.abs_g >= cut)
            direction = "higher" if r.effect_size > 0 else "lower"
            name = labels.get(r.feature, r.feature.replace("_", " "))
            parts.append(f"{adverb + ' ' if adverb else ''}{direction} {name} (g = {r.effect_size:.1f})")
        n, share = int(sub["n"].iloc[0]), float(sub["share"].iloc[0])
        text = f"{seg} (n = {n:,}, {share:.0%} of customers): " + (", ".join(parts) if parts else
                                                                   "no feature differs by g >= " f"{min_effect:g}")
        rows.append({"segment": seg, "n": n, "share": share, "description": text})
    return pd.DataFrame(rows, columns=["segment", "n", "share", "description"])
