"""Significance simulations: cxlib's vectorised tests against the loop a user would otherwise write.

Not a test: run it by hand and paste the table into benchmarks/README.md.

    nice .venv/bin/python benchmarks/significance_benchmark.py [--reps 2000] [--repeat 3]

The coverage and false-positive checks of the workbook (tests/test_significance.py) simulate thousands
of surveys. Each task below analyses the *same* simulated data three ways, in one run:

- **cxlib vectorised**: the array functions (``nps_difference``, ``newcombe_interval`` +
  ``pooled_z_test``, ``welch``) on all replicates at once;
- **cxlib loop**: the public DataFrame API (``compare_nps``, ``compare_csat``, ``compare_ces``) called
  once per replicate, the way a notebook loop would;
- **statsmodels loop**: the established library per replicate (Welch ``ttest_ind`` on the recoded NPS,
  ``confint_proportions_2indep(method="newcomb")`` + ``proportions_ztest``, Welch ``ttest_ind`` on CES).

The script stops unless the results agree: cxlib vectorised = cxlib loop to 1e-12 (same estimator),
and the statsmodels loop = the cxlib estimator of the same name to 1e-9 (Welch on the recoded NPS vs
cxlib's ``method="welch"``; Newcombe interval and pooled z p-value; Welch CES). Timings are the best of
``--repeat`` runs and include the analysis only (the simulated scores are drawn once, up front).
"""
from __future__ import annotations

import argparse
import platform
import sys
import time
import warnings
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import statsmodels  # noqa: E402
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest  # noqa: E402
from statsmodels.stats.weightstats import ttest_ind  # noqa: E402

from cxlib.significance import compare_ces, compare_csat, compare_nps  # noqa: E402
from cxlib.significance._core import newcombe_interval, nps_difference, pooled_z_test, welch  # noqa: E402

NPS_P = np.array([0.08, 0.04, 0.03, 0.03, 0.04, 0.05, 0.08, 0.15, 0.15, 0.15, 0.20])  # P(score = 0..10)
CSAT_P = np.array([0.05, 0.07, 0.13, 0.40, 0.35])  # 1..5
CES_P = np.array([0.25, 0.30, 0.20, 0.10, 0.07, 0.05, 0.03])  # 1..7


def best_of(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def frames(a: np.ndarray, b: np.ndarray, col: str) -> list[pd.DataFrame]:
    """One tidy survey frame per replicate: what a per-replicate loop over the public API consumes."""
    g = np.r_[np.zeros(a.shape[1], int), np.ones(b.shape[1], int)]
    return [pd.DataFrame({"g": g, col: np.r_[a[i], b[i]]}) for i in range(a.shape[0])]


def nps_task(a: np.ndarray, b: np.ndarray, repeat: int) -> list[dict]:
    na, nb = a.shape[1], b.shape[1]

    def vectorised() -> np.ndarray:
        pa, da = (a >= 9).sum(1), (a <= 6).sum(1)
        pb, db = (b >= 9).sum(1), (b <= 6).sum(1)
        return nps_difference(pa, da, na, pb, db, nb)["p_value"]

    dfs = frames(a, b, "nps")

    def loop() -> np.ndarray:
        return np.array([compare_nps(d, group="g", a=0, b=1).p_value for d in dfs])

    def loop_welch() -> np.ndarray:
        return np.array([compare_nps(d, group="g", a=0, b=1, method="welch").p_value for d in dfs])

    def recode(x: np.ndarray) -> np.ndarray:
        return np.where(x >= 9, 100.0, np.where(x <= 6, -100.0, 0.0))

    def statsmodels_loop() -> np.ndarray:
        return np.array([ttest_ind(recode(a[i]), recode(b[i]), usevar="unequal")[1] for i in range(a.shape[0])])

    rows = []
    tv, pv = best_of(vectorised, repeat)
    tl, pl = best_of(loop, repeat)
    tw, pw = best_of(loop_welch, 1)
    ts, ps = best_of(statsmodels_loop, repeat)
    assert np.allclose(pv, pl, atol=1e-12, rtol=0), "cxlib vectorised != cxlib loop (NPS)"
    assert np.allclose(pw, ps, atol=1e-9, rtol=0), "cxlib welch != statsmodels welch (NPS)"
    task = f"NPS difference, {a.shape[0]:,} replicates of {na}+{nb} respondents"
    rows += [dict(task=task, tool="cxlib vectorised (adjusted Wald)", seconds=tv),
             dict(task=task, tool="cxlib compare_nps per replicate", seconds=tl),
             dict(task=task, tool="statsmodels ttest_ind per replicate (Welch)", seconds=ts)]
    return rows


def csat_task(a: np.ndarray, b: np.ndarray, repeat: int) -> list[dict]:
    na, nb = a.shape[1], b.shape[1]

    def vectorised() -> tuple[np.ndarray, ...]:
        xa, xb = (a >= 4).sum(1), (b >= 4).sum(1)
        lo, hi = newcombe_interval(xa, na, xb, nb)
        return lo, hi, pooled_z_test(xa, na, xb, nb)[1]

    dfs = frames(a, b, "csat")

    def loop() -> tuple[np.ndarray, ...]:
        res = [compare_csat(d, group="g", a=0, b=1) for d in dfs]
        return (np.array([r.ci_lower for r in res]), np.array([r.ci_upper for r in res]),
                np.array([r.p_value for r in res]))

    def statsmodels_loop() -> tuple[np.ndarray, ...]:
        lo, hi, p = [], [], []
        for i in range(a.shape[0]):
            xa, xb = int((a[i] >= 4).sum()), int((b[i] >= 4).sum())
            ci = confint_proportions_2indep(xa, na, xb, nb, method="newcomb", compare="diff")
            lo.append(ci[0]), hi.append(ci[1])
            p.append(proportions_ztest([xa, xb], [na, nb])[1])
        return np.array(lo), np.array(hi), np.array(p)

    tv, rv = best_of(vectorised, repeat)
    tl, rl = best_of(loop, repeat)
    ts, rs = best_of(statsmodels_loop, repeat)
    scale = 100.0 if np.nanmax(np.abs(rl[0])) > 2 else 1.0  # compare_csat reports points
    for v, l_, s in zip(rv, rl, rs):
        is_p = v is rv[2]
        assert np.allclose(v, l_ / (1.0 if is_p else scale), atol=1e-12, rtol=0), "cxlib vectorised != loop (CSAT)"
        assert np.allclose(v, s, atol=1e-9, rtol=0), "cxlib != statsmodels (CSAT)"
    task = f"CSAT top-2-box difference, {a.shape[0]:,} replicates of {na}+{nb} respondents"
    return [dict(task=task, tool="cxlib vectorised (Newcombe + pooled z)", seconds=tv),
            dict(task=task, tool="cxlib compare_csat per replicate", seconds=tl),
            dict(task=task, tool="statsmodels Newcombe + z test per replicate", seconds=ts)]


def ces_task(a: np.ndarray, b: np.ndarray, repeat: int) -> list[dict]:
    na, nb = a.shape[1], b.shape[1]

    def vectorised() -> np.ndarray:
        return welch(a.mean(1), a.var(1, ddof=1), na, b.mean(1), b.var(1, ddof=1), nb)["p_value"]

    dfs = frames(a, b, "ces")

    def loop() -> np.ndarray:
        return np.array([compare_ces(d, group="g", a=0, b=1).p_value for d in dfs])

    def statsmodels_loop() -> np.ndarray:
        return np.array([ttest_ind(a[i], b[i], usevar="unequal")[1] for i in range(a.shape[0])])

    tv, pv = best_of(vectorised, repeat)
    tl, pl = best_of(loop, repeat)
    ts, ps = best_of(statsmodels_loop, repeat)
    assert np.allclose(pv, pl, atol=1e-12, rtol=0), "cxlib vectorised != loop (CES)"
    assert np.allclose(pv, ps, atol=1e-9, rtol=0), "cxlib != statsmodels (CES)"
    task = f"CES mean difference, {a.shape[0]:,} replicates of {na}+{nb} respondents"
    return [dict(task=task, tool="cxlib vectorised (Welch)", seconds=tv),
            dict(task=task, tool="cxlib compare_ces per replicate", seconds=tl),
            dict(task=task, tool="statsmodels ttest_ind per replicate (Welch)", seconds=ts)]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=2000, help="simulated survey pairs per task")
    ap.add_argument("--repeat", type=int, default=3, help="timings are the best of this many runs")
    ap.add_argument("--seed", type=int, default=20261123)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    r = args.reps
    warnings.simplefilter("ignore")  # small-sample warnings are not what is measured here
    rows = nps_task(rng.choice(11, p=NPS_P, size=(r, 150)), rng.choice(11, p=NPS_P, size=(r, 150)), args.repeat)
    rows += csat_task(rng.choice(np.arange(1, 6), p=CSAT_P, size=(r, 180)),
                      rng.choice(np.arange(1, 6), p=CSAT_P, size=(r, 160)), args.repeat)
    rows += ces_task(rng.choice(np.arange(1, 8), p=CES_P, size=(r, 120)),
                     rng.choice(np.arange(1, 8), p=CES_P, size=(r, 90)), args.repeat)
    table = pd.DataFrame(rows)
    first = table.groupby("task", sort=False)["seconds"].transform("first")
    table["ratio"] = (table["seconds"] / first).round(1)
    table["rate"] = (args.reps / table["seconds"]).round(0).astype(int)
    print(f"# {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
          f"numpy {np.__version__}, pandas {pd.__version__}, statsmodels {statsmodels.__version__}; "
          f"best of {args.repeat}; results agree (see the script's docstring)")
    print("| task | tool | seconds | replicates/s | x cxlib vectorised |")
    print("|---|---|---:|---:|---:|")
    for t in table.itertuples(index=False):
        print(f"| {t.task} | {t.tool} | {t.seconds:.4f} | {t.rate:,} | {t.ratio} |")


if __name__ == "__main__":
    main()
