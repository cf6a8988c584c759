"""Journey analysis benchmark: cxlib.journey (DuckDB SQL) against a pandas groupby and, when available,
pm4py and marketing-attribution-models, on the same Parquet event log in one run.

Not a test.  Usage::

    .venv/bin/python benchmarks/journey_benchmark.py --events 1000000 --threads 2
    # peers live in a throwaway venv (pm4py is AGPL-3.0: never a dependency of cxlib):
    .venv/bin/python benchmarks/journey_benchmark.py --events 1000000 --peer-python /tmp/oracle_venv/bin/python

The event log is simulated from a first-order Markov chain over the contract's touchpoints
(seeded), written to Parquet, and every tool reads that file.  Each line reports wall seconds,
events per second and the time relative to cxlib for the same task; result equality between
tools is checked where they compute the same thing (directly-follows counts, variant counts,
removal effects).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from cxlib.journey import attribute, directly_follows, funnel, journeyize, top_paths, transition_matrix

TPS = ["ad_click", "email_click", "homepage", "search", "product_page", "size_finder", "cart", "checkout",
       "chatbot", "purchase"]


def simulate(n_events: int, seed: int) -> pd.DataFrame:
    """Vectorised simulation of journeys until about ``n_events`` events exist."""
    rng = np.random.default_rng(seed)
    k = len(TPS)
    P = rng.dirichlet(np.full(k, 0.6), size=k) * 0.75
    P[:, TPS.index("ad_click")] *= 0.1
    P /= P.sum(axis=1, keepdims=True) / 0.75  # 25% abandonment from every state
    start = np.array([0.25, 0.15, 0.3, 0.3, 0, 0, 0, 0, 0, 0])
    n_j = max(1, n_events // 4)
    state = rng.choice(k, size=n_j, p=start)
    jid = np.arange(n_j)
    t = rng.integers(0, 180 * 86400, size=n_j).astype("int64")
    parts = []
    alive = np.ones(n_j, bool)
    while alive.any():
        idx = np.flatnonzero(alive)
        parts.append((jid[idx], t[idx].copy(), state[idx].copy()))
        ended = state[idx] == TPS.index("purchase")
        u = rng.random(idx.size)
        cum = P[state[idx]].cumsum(axis=1)
        nxt = (u[:, None] > cum).sum(axis=1)
        stop = ended | (nxt >= k)
        alive[idx[stop]] = False
        go = idx[~stop]
        state[go] = nxt[~stop]
        t[go] += rng.integers(10, 900, size=go.size)
    j = np.concatenate([p[0] for p in parts])
    ts = np.concatenate([p[1] for p in parts])
    s = np.concatenate([p[2] for p in parts])
    order = np.lexsort((ts, j))
    j, ts, s = j[order], ts[order], s[order]
    return pd.DataFrame({"event_id": np.arange(j.size), "customer_id": (j % max(1, n_j // 3)).astype(str),
                         "journey_id": j.astype(str),
                         "timestamp": pd.Timestamp("2025-01-01") + pd.to_timedelta(ts, unit="s"),
                         "touchpoint": pd.Categorical.from_codes(s, TPS).astype(str)})


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def pandas_peer(path: Path) -> dict:
    res = {}
    dt, ev = timed(lambda: pd.read_parquet(path, columns=["journey_id", "timestamp", "touchpoint"]))
    res["read"] = dt

    def dfg():
        e = ev.sort_values(["journey_id", "timestamp"], kind="stable")
        nxt = e.groupby("journey_id", sort=False)["touchpoint"].shift(-1)
        return e.assign(target=nxt).dropna(subset=["target"]).groupby(["touchpoint", "target"]).size()

    res["dfg"], dfg_counts = timed(dfg)

    def variants():
        e = ev.sort_values(["journey_id", "timestamp"], kind="stable")
        return e.groupby("journey_id", sort=False)["touchpoint"].agg(" > ".join).value_counts()

    res["variants"], var_counts = timed(variants)
    res["_dfg"] = {f"{a}|{b}": int(n) for (a, b), n in dfg_counts.items()}
    res["_n_variants"] = int(var_counts.size)
    return res


PEER_SCRIPT = r"""
import json, sys, time
import pandas as pd
out = {}
path, paths_csv = sys.argv[1], sys.argv[2]
ev = pd.read_parquet(path, columns=["journey_id", "timestamp", "touchpoint"])
try:
    import pm4py
    t0 = time.perf_counter()
    df = pm4py.format_dataframe(ev, case_id="journey_id", activity_key="touchpoint", timestamp_key="timestamp")
    dfg, _, _ = pm4py.discover_dfg(df)
    out["pm4py_dfg"] = time.perf_counter() - t0
    out["_dfg"] = {f"{a}|{b}": int(n) for (a, b), n in dfg.items()}
    t0 = time.perf_counter()
    v = pm4py.get_variants(df)
    out["pm4py_variants"] = time.perf_counter() - t0
    out["_n_variants"] = len(v)
except ImportError:
    pass
try:
    from mam.core import MAM
    g = pd.read_csv(paths_csv)
    t0 = time.perf_counter()
    m = MAM(df=g, format_type="grouped_journey", channels_colname="path", journey_with_conv_colname="converted",
            occurrences_colname="n", path_separator=" > ")
    r = m.run_markov(transition_to_same_state=False)
    out["mam_markov"] = time.perf_counter() - t0
    out["_re"] = {k: float(v) for k, v in r.metadata["removal_effect"]["removal_effect"].items()}
except ImportError:
    pass
print(json.dumps(out))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=20261123)
    ap.add_argument("--n-boot", type=int, default=200)
    ap.add_argument("--peer-python", default=None, help="python of a venv with pm4py and/or marketing-attribution-models")
    ap.add_argument("--workdir", default=None)
    a = ap.parse_args()
    work = Path(a.workdir or tempfile.mkdtemp(prefix="cx_journey_bench_"))
    work.mkdir(parents=True, exist_ok=True)
    path = work / "events.parquet"
    ev = simulate(a.events, a.seed)
    ev.to_parquet(path, index=False)
    n = len(ev)
    del ev
    print(f"events: {n:,} in {path} ({path.stat().st_size / 1e6:.1f} MB); DuckDB threads: {a.threads}")

    con = duckdb.connect()
    con.execute(f"SET threads TO {a.threads}")
    con.execute(f"CREATE VIEW events AS SELECT * FROM read_parquet('{path}')")
    rows = []
    t_j, js = timed(lambda: journeyize(con))
    rows.append(("journeyize (sessions table)", "cxlib/duckdb", t_j))
    t_dfg, dfg = timed(lambda: directly_follows(js))
    rows.append(("directly-follows graph", "cxlib/duckdb", t_dfg))
    t_var, tp = timed(lambda: top_paths(js, k=20, include_conversion=True))
    rows.append(("variants (top 20 + other)", "cxlib/duckdb", t_var))
    t_fun, _ = timed(lambda: funnel(js, ["homepage", "product_page", "cart", "checkout", "purchase"]))
    rows.append(("funnel (5 steps)", "cxlib/duckdb", t_fun))
    t_tm, _ = timed(lambda: transition_matrix(js))
    rows.append(("transition matrix", "cxlib/duckdb", t_tm))
    t_att, att = timed(lambda: attribute(js, n_boot=0))
    rows.append(("markov attribution (exact)", "cxlib/duckdb", t_att))
    t_boot, _ = timed(lambda: attribute(js, n_boot=a.n_boot, rng=np.random.default_rng(a.seed)))
    rows.append((f"attribution + {a.n_boot} bootstrap", "cxlib/duckdb", t_boot))

    pdres = pandas_peer(path)
    ours_dfg = {f"{s}|{t}": int(f) for s, t, f in dfg.edges[["source", "target", "frequency"]].itertuples(index=False)}
    assert pdres["_dfg"] == ours_dfg, "pandas and cxlib directly-follows counts differ"
    rows.append(("read parquet into pandas", "pandas", pdres["read"]))
    rows.append(("directly-follows graph", "pandas", pdres["dfg"]))
    rows.append(("variants (all)", "pandas", pdres["variants"]))
    assert pdres["_n_variants"] == tp.n_variants, "pandas and cxlib variant counts differ"

    if a.peer_python:
        paths_csv = work / "paths.csv"
        js.sql("SELECT array_to_string(path, ' > ') AS path, converted, sum(weight)::BIGINT AS n FROM {journeys} "
               "WHERE outcome != 'censored' AND len(path) > 0 GROUP BY ALL").to_csv(paths_csv, index=False)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        proc = subprocess.run([a.peer_python, "-c", PEER_SCRIPT, str(path), str(paths_csv)], capture_output=True,
                              text=True, env=env, check=False)
        try:
            peer = json.loads(proc.stdout.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError):
            print("peer run failed:", proc.stderr[-2000:], file=sys.stderr)
            peer = {}
        if "pm4py_dfg" in peer:
            assert peer["_dfg"] == ours_dfg, "pm4py and cxlib directly-follows counts differ"
            assert peer["_n_variants"] == tp.n_variants, "pm4py and cxlib variant counts differ"
            rows.append(("directly-follows graph", "pm4py", peer["pm4py_dfg"]))
            rows.append(("variants (all)", "pm4py", peer["pm4py_variants"]))
        if "mam_markov" in peer:
            ours = att.to_frame().query("method == 'markov'").set_index("channel")["removal_effect"]
            diff = max(abs(ours[k] - v) for k, v in peer["_re"].items())
            assert diff < 1e-9, f"removal effects differ by {diff}"
            rows.append(("markov attribution (exact)", "marketing-attribution-models (from path counts)",
                         peer["mam_markov"]))

    rows.append(("journeyize + directly-follows", "cxlib/duckdb", t_j + t_dfg))
    rows.append(("journeyize + directly-follows", "pandas (read + sort + shift)", pdres["read"] + pdres["dfg"]))
    ref = {task: s for task, tool, s in rows if tool == "cxlib/duckdb"}
    ref["variants (all)"] = ref["variants (top 20 + other)"]
    print(f"\n{'task':34} {'tool':50} {'seconds':>9} {'events/s':>14} {'x cxlib':>8}")
    for task, tool, s in rows:
        ratio = s / ref[task] if task in ref else float("nan")
        print(f"{task:34} {tool:50} {s:9.2f} {n / s:14,.0f} {ratio:8.1f}")


if __name__ == "__main__":
    main()
