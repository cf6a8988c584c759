"""Side-by-side fit times of cxlib.clv and lifetimes on CDNOW (and on a large simulated base).

Not a test: run it by hand and paste the table into the report.

    .venv/bin/python benchmarks/clv_benchmark.py --lifetimes-python /tmp/ltvenv/bin/python [--customers 1000000]

lifetimes (abandoned) lives in a throwaway venv and runs in a subprocess on the
very same RFM table (written to a temporary Parquet-free CSV); both sides time
``fit`` only, best of ``--repeats`` runs, in the same session.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cxlib.clv import BetaGeo, GammaGamma, ParetoNBD, repeat_buyers, rfm_summary  # noqa: E402

LIFETIMES_SNIPPET = r"""
import json, sys, time
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter, ParetoNBDFitter
d = pd.read_csv(sys.argv[1]); repeats = int(sys.argv[2]); models = sys.argv[3].split(",")
rb = d[(d.frequency > 0) & (d.monetary_value > 0)]
out = {}
for name in models:
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        if name == "BG/NBD":
            m = BetaGeoFitter().fit(d.frequency, d.recency, d["T"])
        elif name == "Pareto/NBD":
            m = ParetoNBDFitter().fit(d.frequency, d.recency, d["T"])
        else:
            m = GammaGammaFitter().fit(rb.frequency, rb.monetary_value)
        best = min(best, time.perf_counter() - t)
    out[name] = {"seconds": best, "params": [float(v) for v in m.params_.values]}
print(json.dumps(out))
"""


def cdnow() -> pd.DataFrame:
    tx = pd.read_csv(ROOT / "tests" / "data" / "CDNOW_sample.txt", sep=r"\s+", header=None,
                     names=["master_id", "customer_id", "date", "cds", "amount"])
    tx["timestamp"] = pd.to_datetime(tx["date"].astype(str), format="%Y%m%d")
    return rfm_summary(tx, observation_end="1997-09-30", time_unit="week")


def simulated(n: int, seed: int) -> pd.DataFrame:
    """A large base drawn from the CDNOW BG/NBD fit, with daily-resolution recency (as real logs have)."""
    rng = np.random.default_rng(seed)
    T = rng.integers(1, 84, n).astype(float)  # first purchase on one of 84 days -> T in days
    T = (273 - T) / 7.0
    d = BetaGeo.simulate({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}, T=T, rng=rng)
    d["recency"] = np.floor(d["recency"] * 7) / 7  # whole days, as from a transaction log
    m = rng.gamma(6.25 * np.maximum(d["frequency"], 1), 1 / (rng.gamma(3.74, 1 / 15.44, n) * np.maximum(d["frequency"], 1)))
    d["monetary_value"] = np.where(d["frequency"] > 0, m, np.nan)
    d.attrs["time_unit"] = "week"
    return d


def time_cxlib(data: pd.DataFrame, repeats: int, models: list[str]) -> dict:
    out = {}
    rb = repeat_buyers(data)
    for name in models:
        best = np.inf
        for _ in range(repeats):
            t = time.perf_counter()
            if name == "BG/NBD":
                m = BetaGeo().fit(data)
            elif name == "Pareto/NBD":
                m = ParetoNBD().fit(data)
            else:
                m = GammaGamma().fit(rb)
            best = min(best, time.perf_counter() - t)
        out[name] = {"seconds": best, "params": m.params_.tolist()}
    return out


def time_lifetimes(python: str, data: pd.DataFrame, repeats: int, models: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rfm.csv"
        data.to_csv(path, index=False)
        res = subprocess.run([python, "-c", LIFETIMES_SNIPPET, str(path), str(repeats), ",".join(models)],
                             capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lifetimes-python", default="/tmp/ltvenv/bin/python")
    ap.add_argument("--customers", type=int, default=0, help="also time a simulated base of this size")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seed", type=int, default=20261123)
    ap.add_argument("--models", default="BG/NBD,Pareto/NBD,Gamma-Gamma",
                    help="comma-separated; lifetimes' Pareto/NBD takes many minutes on 1M customers")
    args = ap.parse_args()
    models = args.models.split(",")
    cases = [("CDNOW 1/10 (2,357)", cdnow(), args.repeats)]
    if args.customers:
        cases.append((f"simulated ({args.customers:,})", simulated(args.customers, args.seed), 1))
    rows = []
    for label, data, reps in cases:
        ours = time_cxlib(data, reps, models)
        try:
            theirs = time_lifetimes(args.lifetimes_python, data, reps, models)
        except (OSError, subprocess.CalledProcessError) as exc:
            print(f"lifetimes unavailable for {label}: {exc}", file=sys.stderr)
            theirs = {}
        for name in models:
            lt = theirs.get(name, {"seconds": np.nan, "params": []})
            diff = (np.max(np.abs(np.array(ours[name]["params"]) / np.array(lt["params"]) - 1))
                    if lt["params"] else np.nan)
            print(f"{label} {name}: cxlib {ours[name]['seconds']:.4g} s, lifetimes {lt['seconds']:.4g} s",
                  file=sys.stderr, flush=True)
            rows.append({"data": label, "model": name, "cxlib_s": ours[name]["seconds"], "lifetimes_s": lt["seconds"],
                         "speed_up": lt["seconds"] / ours[name]["seconds"], "max_rel_param_diff": diff})
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.4g}"))


if __name__ == "__main__":
    main()
