"""Side-by-side fit times of cxlib.clv, lifetimes and pymc-marketing (MAP) on CDNOW and a large simulated base.

Not a test: run it by hand and paste the table into benchmarks/README.md.

    nice .venv/bin/python benchmarks/clv_benchmark.py --lifetimes-python /tmp/ltvenv/bin/python \
        --pymc-python /tmp/pymc_venv/bin/python [--customers 1000000]

lifetimes (abandoned) and pymc-marketing live in throwaway venvs and run in
subprocesses on the very same RFM table (written to a temporary CSV); every
tool times ``fit`` only, best of ``--repeats`` runs, in the same session.
pymc-marketing is fitted with ``method="map"`` and flat (``HalfFlat``) priors,
so that its MAP is the maximum-likelihood estimate and the estimates can be
compared; its first fit also compiles the model (pytensor, C), reported apart.
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


PYMC_SNIPPET = r"""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import pandas as pd
from pymc_marketing.clv import BetaGeoModel, GammaGammaModel, ParetoNBDModel
try:
    from pymc_extras.prior import Prior
except ImportError:
    from pymc_marketing.prior import Prior
d = pd.read_csv(sys.argv[1]); repeats = int(sys.argv[2]); models = sys.argv[3].split(",")
d["customer_id"] = range(len(d))
rb = d[(d.frequency > 0) & (d.monetary_value > 0)]
spec = {"BG/NBD": (BetaGeoModel, ("r", "alpha", "a", "b"), d[["customer_id", "frequency", "recency", "T"]]),
        "Pareto/NBD": (ParetoNBDModel, ("r", "alpha", "s", "beta"), d[["customer_id", "frequency", "recency", "T"]]),
        "Gamma-Gamma": (GammaGammaModel, ("p", "q", "v"), rb[["customer_id", "frequency", "monetary_value"]])}
out = {}
for name in models:
    cls, names, data = spec[name]
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        m = cls(data, model_config={k: Prior("HalfFlat") for k in names})
        m.fit(method="map", progressbar=False)
        times.append(time.perf_counter() - t)
    out[name] = {"seconds": min(times), "first_seconds": times[0],
                 "params": [float(m.idata.posterior[k].mean()) for k in names]}
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


def time_peer(python: str, snippet: str, data: pd.DataFrame, repeats: int, models: list[str]) -> dict:
    """Run a peer's timing snippet in its own interpreter on the same table; {} when it is unavailable."""
    if not python:
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rfm.csv"
        data.to_csv(path, index=False)
        try:
            res = subprocess.run([python, "-c", snippet, str(path), str(repeats), ",".join(models)],
                                 capture_output=True, text=True, check=True)
        except (OSError, subprocess.CalledProcessError) as exc:
            print(f"peer {python} unavailable: {exc}\n{getattr(exc, 'stderr', '')[-2000:]}", file=sys.stderr)
            return {}
    return json.loads(res.stdout.strip().splitlines()[-1])


def rel_diff(ours: list[float], theirs: list[float]) -> float:
    return float(np.max(np.abs(np.array(ours) / np.array(theirs) - 1))) if theirs else np.nan


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lifetimes-python", default="/tmp/ltvenv/bin/python")
    ap.add_argument("--pymc-python", default="", help="python of a venv with pymc-marketing (optional peer)")
    ap.add_argument("--customers", type=int, default=0, help="also time a simulated base of this size")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--pymc-repeats", type=int, default=2, help="the first pymc-marketing fit compiles")
    ap.add_argument("--seed", type=int, default=20261123)
    ap.add_argument("--models", default="BG/NBD,Pareto/NBD,Gamma-Gamma",
                    help="comma-separated; lifetimes' Pareto/NBD takes many minutes on 1M customers")
    ap.add_argument("--large-models", default=None, help="models for the simulated base (default: --models)")
    args = ap.parse_args()
    models = args.models.split(",")
    cases = [("CDNOW 1/10 (2,357)", cdnow(), args.repeats, models)]
    if args.customers:
        large = (args.large_models or args.models).split(",")
        cases.append((f"simulated ({args.customers:,})", simulated(args.customers, args.seed), 1, large))
    rows = []
    for label, data, reps, names in cases:
        ours = time_cxlib(data, reps, names)
        lt = time_peer(args.lifetimes_python, LIFETIMES_SNIPPET, data, reps, names)
        pm = time_peer(args.pymc_python, PYMC_SNIPPET, data, max(args.pymc_repeats, 1), names)
        for name in names:
            a = lt.get(name, {"seconds": np.nan, "params": []})
            b = pm.get(name, {"seconds": np.nan, "first_seconds": np.nan, "params": []})
            ours_s = ours[name]["seconds"]
            print(f"{label} {name}: cxlib {ours_s:.4g} s, lifetimes {a['seconds']:.4g} s, "
                  f"pymc-marketing {b['seconds']:.4g} s (first {b['first_seconds']:.4g} s)", file=sys.stderr, flush=True)
            rows.append({"data": label, "model": name, "cxlib_s": ours_s,
                         "lifetimes_s": a["seconds"], "x_lifetimes": a["seconds"] / ours_s,
                         "diff_lifetimes": rel_diff(ours[name]["params"], a["params"]),
                         "pymc_map_s": b["seconds"], "pymc_first_s": b["first_seconds"],
                         "x_pymc": b["seconds"] / ours_s, "diff_pymc": rel_diff(ours[name]["params"], b["params"]),
                         "cxlib_params": " ".join(f"{v:.6g}" for v in ours[name]["params"])})
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.4g}"))


if __name__ == "__main__":
    main()
