"""Journey analysis benchmark: cxlib.journey (DuckDB SQL) against a pandas groupby and, when available,
pm4py, marketing-attribution-models and ChannelAttribution, on the same Parquet event log in one run.

Not a test.  Usage::

    .venv/bin/python benchmarks/journey_benchmark.py --events 1000000 --threads 2
    # peers live in a throwaway venv (pm4py is AGPL-3.0, ChannelAttribution GPL-3: never dependencies of cxlib):
    .venv/bin/python benchmarks/journey_benchmark.py --events 1000000 --peer-python /tmp/oracle_venv/bin/python
    # the scale run: events of a `cx synth` world, cxlib only, wall time and peak RSS per step
    .venv/bin/python benchmarks/journey_benchmark.py --scale /path/to/world --threads 2 --memory-limit 12GB

The event log is simulated from a first-order Markov chain over the contract's touchpoints
(seeded), written to Parquet, and every tool reads that file.  Every task is timed *end to end
from the Parquet file* for every tool (cxlib: a fresh ``journeyize`` plus the task, which cuts the
events inside its own query; pandas: read,
sort and the task; pm4py: read, format and the task), so no tool is charged for another's
caching.  Each line reports wall seconds, events per second and the time relative to cxlib for the
same task; results are checked equal between tools wherever they compute the same thing
(directly-follows counts, variant counts, funnel counts, transition counts, removal effects), and
the script stops with an error if they are not.  Two DuckDB limits are printed: the raw Parquet
scan (reading and hashing every column used) and a hand-written ``lead()`` directly-follows
query, the least any SQL implementation must do.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from cxlib.journey import (attribute, directly_follows, from_paths, funnel, journeyize, top_paths,
                           transition_matrix)
from cxlib.journey.transitions import CONVERSION, NULL, START

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


#: Runs per timing; the best (least disturbed by other work on the shared cores) is reported.
REPEAT = 1


class Seconds(float):
    """Best wall seconds of a timing, carrying the best CPU seconds (all threads of the process) as ``cpu``.

    The cores are shared: wall time moves with other work (a 2-thread DuckDB query loses more to a
    busy machine than single-threaded pandas), CPU time much less, so the table reports both.
    """

    cpu: float

    def __new__(cls, wall: float, cpu: float = float("nan")) -> "Seconds":
        obj = super().__new__(cls, wall)
        obj.cpu = cpu
        return obj


def timed(fn):
    best, cpu, out = float("inf"), float("inf"), None
    for _ in range(REPEAT):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        best, cpu = min(best, time.perf_counter() - t0), min(cpu, time.process_time() - c0)
    return Seconds(best, cpu), out


def reset_peak() -> None:
    """Reset the kernel's peak-RSS mark of this process (Linux ``clear_refs``), so each step reports its own peak."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_rss_gb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024 ** 2
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2


FUNNEL = ["homepage", "product_page", "cart", "checkout", "purchase"]


def connect(path: Path, threads: int, memory_limit: str, temp_dir: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"SET threads TO {int(threads)}")
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute(f"SET temp_directory = '{temp_dir}'")
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET enable_progress_bar = false")
    con.execute(f"CREATE VIEW events AS SELECT * FROM read_parquet('{path}')")
    return con


def duckdb_limits(con) -> dict:
    """The floor: a raw scan of every column used, and a hand-written lead() directly-follows query."""
    out = {}
    out["scan"], _ = timed(lambda: con.execute(
        "SELECT sum(hash(journey_id, customer_id, timestamp, touchpoint)) FROM events").fetchall())
    out["lead_dfg"], _ = timed(lambda: con.execute("""
SELECT touchpoint, nxt, count(*) FROM (
  SELECT touchpoint, lead(touchpoint) OVER (PARTITION BY journey_id ORDER BY timestamp) AS nxt FROM events)
WHERE nxt IS NOT NULL GROUP BY ALL""").fetchall())
    return out


def cxlib_tasks(con, n_boot: int, seed: int) -> tuple[list, dict]:
    """Every task end to end from the Parquet file (a fresh journeyize each time)."""
    rows, res = [], {}

    def run(task, fn):
        dt, out = timed(lambda: fn(journeyize(con)))
        rows.append((task, "cxlib", dt))
        return out

    dt, js = timed(lambda: journeyize(con))
    rows.append(("journeyize only (lazy: one count, nothing built)", "cxlib", dt))

    def build():
        j = journeyize(con)
        return j.events_table, j.journey_table

    rows.append(("journeyize + build event and journey tables", "cxlib", timed(build)[0]))
    res["dfg"] = run("directly-follows graph", directly_follows)
    res["paths"] = run("path variants (all, counted)", lambda j: top_paths(j, k=20, include_conversion=True))
    res["funnel"] = run("funnel (5 steps, ordered)", lambda j: funnel(j, FUNNEL))
    res["tm"] = run("transition matrix (order 1)", lambda j: transition_matrix(j, censored="abandonment"))
    res["att"] = run("markov attribution (exact)", lambda j: attribute(j, n_boot=0))
    rows.append((f"markov attribution + {n_boot} bootstrap", "cxlib",
                 timed(lambda: attribute(journeyize(con), n_boot=n_boot, rng=np.random.default_rng(seed)))[0]))
    res["js"] = js
    return rows, res


def pandas_tasks(path: Path) -> tuple[list, dict]:
    """The straightforward pandas groupby a user would write; each task reads and sorts the file itself."""
    rows, res = [], {}

    def read_sorted():
        ev = pd.read_parquet(path, columns=["journey_id", "timestamp", "touchpoint"])
        return ev.sort_values(["journey_id", "timestamp"], kind="stable", ignore_index=True)

    def dfg():
        e = read_sorted()
        nxt = e.groupby("journey_id", sort=False)["touchpoint"].shift(-1)
        return e.assign(target=nxt).dropna(subset=["target"]).groupby(["touchpoint", "target"]).size()

    def variants():
        e = read_sorted()
        return e.groupby("journey_id", sort=False)["touchpoint"].agg(" > ".join).value_counts()

    def fun():
        e = read_sorted()
        e["pos"] = e.groupby("journey_id", sort=False).cumcount()
        cur = e.loc[e["touchpoint"] == FUNNEL[0]].groupby("journey_id")["pos"].min()
        counts = [len(cur)]
        for step in FUNNEL[1:]:
            cand = e.loc[e["touchpoint"] == step, ["journey_id", "pos"]]
            m = cand.merge(cur.rename("p0"), left_on="journey_id", right_index=True)
            cur = m.loc[m["pos"] > m["p0"]].groupby("journey_id")["pos"].min()
            counts.append(len(cur))
        return counts

    def tm():
        e = read_sorted()
        g = e.groupby("journey_id", sort=False)["touchpoint"]
        src = g.shift(1).fillna(START)
        dst = e["touchpoint"].where(e["touchpoint"] != "purchase", CONVERSION)
        c = pd.DataFrame({"src": src, "dst": dst}).groupby(["src", "dst"]).size()
        last = g.last()
        ends = last[last != "purchase"].value_counts()
        ends.index = pd.MultiIndex.from_arrays([ends.index, [NULL] * len(ends)], names=["src", "dst"])
        return pd.concat([c, ends]).groupby(level=[0, 1]).sum()

    for task, fn, key in (("directly-follows graph", dfg, "dfg"), ("path variants (all, counted)", variants, "paths"),
                          ("funnel (5 steps, ordered)", fun, "funnel"), ("transition matrix (order 1)", tm, "tm")):
        dt, res[key] = timed(fn)
        rows.append((task, "pandas", dt))
    return rows, res


PEER_SCRIPT = r"""
import json, sys, time
import pandas as pd
out = {"versions": {}}
path, paths_csv, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
def best(fn):
    b, c, r = float("inf"), float("inf"), None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        r = fn()
        b, c = min(b, time.perf_counter() - t0), min(c, time.process_time() - c0)
    return [b, c], r
try:
    import pm4py
    out["versions"]["pm4py"] = pm4py.__version__
    def read():
        ev = pd.read_parquet(path, columns=["journey_id", "timestamp", "touchpoint"])
        return pm4py.format_dataframe(ev, case_id="journey_id", activity_key="touchpoint", timestamp_key="timestamp")
    out["pm4py_dfg"], (dfg, _, _) = best(lambda: pm4py.discover_dfg(read()))
    out["_dfg"] = {f"{a}|{b}": int(n) for (a, b), n in dfg.items()}
    out["pm4py_variants"], v = best(lambda: pm4py.get_variants(read()))
    out["_n_variants"] = len(v)
except ImportError:
    pass
g = pd.read_csv(paths_csv)
try:
    from mam.core import MAM
    import importlib.metadata as md
    out["versions"]["marketing-attribution-models"] = md.version("marketing_attribution_models")
    def mam():
        m = MAM(df=g.copy(), format_type="grouped_journey", channels_colname="path",
                journey_with_conv_colname="converted", occurrences_colname="n", path_separator=" > ")
        return m.run_markov(transition_to_same_state=False)
    out["mam_markov"], r = best(mam)
    out["_re"] = {k: float(v) for k, v in r.metadata["removal_effect"]["removal_effect"].items()}
except ImportError:
    pass
try:
    from ChannelAttribution import markov_model
    import importlib.metadata as md
    out["versions"]["ChannelAttribution"] = md.version("ChannelAttribution")
    w = g.pivot_table(index="path", columns="converted", values="n", aggfunc="sum", fill_value=0)
    d = pd.DataFrame({"path": w.index.str.replace(" > ", ">"), "total_conversions": w.get(True, 0), "total_null": w.get(False, 0)})
    out["ca_markov"], res = best(lambda: markov_model(d, var_path="path", var_conv="total_conversions",
                                 var_null="total_null", sep=">", order=1, out_more=True, verbose=0,
                                 seed=20261123, flg_pro=False))
    re = res["removal_effects"]
    out["_ca_re"] = {str(k).strip(): float(v) for k, v in zip(re.iloc[:, 0], re.iloc[:, 1])}
except ImportError:
    pass
print(json.dumps(out))
"""


def run_peers(peer_python: str, path: Path, work: Path, js) -> dict:
    paths_csv = work / "paths.csv"
    js.sql("SELECT array_to_string(path, ' > ') AS path, converted, sum(weight)::BIGINT AS n FROM {journeys} "
           "WHERE outcome != 'censored' AND len(path) > 0 GROUP BY ALL").to_csv(paths_csv, index=False)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([peer_python, "-c", PEER_SCRIPT, str(path), str(paths_csv), str(REPEAT)], capture_output=True,
                          text=True, env=env, check=False)
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        print("peer run failed:", proc.stderr[-2000:], file=sys.stderr)
        return {"versions": {}}


def check_equal(res: dict, pdres: dict) -> None:
    """Stop unless cxlib and pandas give the same counts."""
    ours = {f"{s}|{t}": int(f) for s, t, f in res["dfg"].edges[["source", "target", "frequency"]].itertuples(index=False)}
    assert {f"{a}|{b}": int(n) for (a, b), n in pdres["dfg"].items()} == ours, "directly-follows counts differ"
    assert int(pdres["paths"].size) == res["paths"].n_variants, "variant counts differ"
    top = pdres["paths"].head(5)
    tab = res["paths"].to_frame().head(5)
    assert list(top.to_numpy()) == tab["journeys"].tolist(), "top variant counts differ"
    assert pdres["funnel"] == res["funnel"].to_frame()["n_reached"].tolist(), "funnel counts differ"
    c = res["tm"].counts.stack()
    c = c[c > 0]
    assert c.to_dict() == pdres["tm"].to_dict(), "transition counts differ"


def dfg_point(con, path: Path, n: int, lim: dict) -> None:
    """The large-input point: directly-follows graph, cxlib against pandas (counts asserted equal)."""
    dt, dfg = timed(lambda: directly_follows(journeyize(con)))
    rows = [("directly-follows graph", "cxlib", dt)]
    reset_peak()

    def pandas_dfg():
        e = pd.read_parquet(path, columns=["journey_id", "timestamp", "touchpoint"])
        e = e.sort_values(["journey_id", "timestamp"], kind="stable", ignore_index=True)
        nxt = e.groupby("journey_id", sort=False)["touchpoint"].shift(-1)
        return e.assign(target=nxt).dropna(subset=["target"]).groupby(["touchpoint", "target"]).size()

    dt, ref = timed(pandas_dfg)
    rows.append(("directly-follows graph", "pandas", dt))
    ours = {(s, t): int(f) for s, t, f in dfg.edges[["source", "target", "frequency"]].itertuples(index=False)}
    assert ours == {k: int(v) for k, v in ref.items()}, "directly-follows counts differ"
    rows += [("limit: raw Parquet scan", "DuckDB", lim["scan"]), ("limit: lead() directly-follows", "DuckDB",
                                                                   lim["lead_dfg"])]
    print_table(rows, n, {"directly-follows graph": rows[0][2]})
    print(f"\npandas peak RSS {peak_rss_gb():.2f} GB; results equal (directly-follows counts)")


def machine() -> str:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())
    mem = next((int(ln.split()[1]) / 1024 ** 2 for ln in Path("/proc/meminfo").read_text().splitlines()
                if ln.startswith("MemTotal")), float("nan"))
    return f"{cpu}; {os.cpu_count()} cores; {mem:.0f} GiB RAM; {platform.platform()}"


def print_table(rows: list, n: int, ref: dict) -> None:
    """Wall and CPU seconds, events per wall second, and each time over cxlib's for the same task."""
    print("\n| task | tool | seconds | CPU seconds | events/s | x cxlib | x cxlib (CPU) |\n"
          "|---|---|---:|---:|---:|---:|---:|")
    for task, tool, s in rows:
        r = ref.get(task)
        ratio = s / r if r else float("nan")
        cpu = getattr(s, "cpu", float("nan"))
        ratio_cpu = cpu / r.cpu if r is not None and getattr(r, "cpu", 0) else float("nan")
        print(f"| {task} | {tool} | {s:.2f} | {cpu:.2f} | {n / s:,.0f} | {ratio:.1f} | {ratio_cpu:.1f} |")


def scale(a) -> None:
    """cxlib alone over the events of a synthetic world: wall time and peak RSS per step."""
    from cxlib.journey import time_to_convert

    folder = Path(a.scale)
    work = Path(a.workdir or tempfile.mkdtemp(prefix="cx_journey_scale_"))
    work.mkdir(parents=True, exist_ok=True)
    con = connect(folder / "events.parquet", a.threads, a.memory_limit, work / "duckdb_tmp")
    n = con.execute("SELECT count(*) FROM events").fetchone()[0]
    size = (folder / "events.parquet").stat().st_size / 1e9
    print(f"events: {n:,} in {folder / 'events.parquet'} ({size:.2f} GB); DuckDB {duckdb.__version__}, threads "
          f"{a.threads}, memory_limit {a.memory_limit}\nmachine: {machine()}", flush=True)
    rows = []

    def step(name, fn):
        reset_peak()
        dt, out = timed(fn)
        rows.append((name, dt, peak_rss_gb()))
        print(f"  {name}: {dt:.1f} s, peak RSS {rows[-1][2]:.2f} GB", flush=True)
        return out

    limits = step("DuckDB limits: raw Parquet scan + hand-written lead() directly-follows",
                  lambda: duckdb_limits(con))
    js = step("journeyize (explicit journey ids, 3-day gap)", lambda: journeyize(con, gap="3D"))
    step("directly-follows graph", lambda: directly_follows(js))
    step("transition matrix (order 1)", lambda: transition_matrix(js))
    step("build journey lists (first list use)", lambda: js.table)
    step("path variants (top 20)", lambda: top_paths(js, k=20))
    step("funnel (4 steps, ordered)", lambda: funnel(js, ["product_page", "cart", "checkout", "purchase"]))
    step("markov attribution (exact)", lambda: attribute(js, n_boot=0))
    step(f"markov attribution + {a.n_boot} bootstrap", lambda: attribute(js, n_boot=a.n_boot,
                                                                         rng=np.random.default_rng(a.seed)))
    step("time to convert (Aalen-Johansen)", lambda: time_to_convert(js))
    print(f"\njourneys: {js.n_journeys:,}; DuckDB raw scan {limits['scan']:.1f} s, lead() directly-follows "
          f"{limits['lead_dfg']:.1f} s")
    print("\n| step | seconds | events/s | peak RSS GB |\n|---|---:|---:|---:|")
    for name, dt, rss in rows:
        print(f"| {name} | {dt:.1f} | {n / dt:,.0f} | {rss:.2f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--memory-limit", default="8GB")
    ap.add_argument("--seed", type=int, default=20261123)
    ap.add_argument("--n-boot", type=int, default=200)
    ap.add_argument("--peer-python", default=None,
                    help="python of a venv with pm4py, marketing-attribution-models and/or ChannelAttribution")
    ap.add_argument("--scale", default=None, help="folder of a cx synth world: run the cxlib scale steps only")
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--repeat", type=int, default=1, help="runs per timing, best reported (every tool alike)")
    ap.add_argument("--dfg-only", action="store_true",
                    help="the large-input point: DuckDB limits, cxlib and pandas directly-follows graph only")
    a = ap.parse_args()
    global REPEAT
    REPEAT = max(1, a.repeat)
    if a.scale:
        scale(a)
        return
    work = Path(a.workdir or tempfile.mkdtemp(prefix="cx_journey_bench_"))
    work.mkdir(parents=True, exist_ok=True)
    path = work / "events.parquet"
    ev = simulate(a.events, a.seed)
    ev.to_parquet(path, index=False)
    n = len(ev)
    del ev
    con = connect(path, a.threads, a.memory_limit, work / "duckdb_tmp")
    print(f"events: {n:,} in {path} ({path.stat().st_size / 1e6:.1f} MB); DuckDB {duckdb.__version__} threads "
          f"{a.threads}; pandas {pd.__version__}; python {platform.python_version()}\nmachine: {machine()}")
    lim = duckdb_limits(con)
    if a.dfg_only:
        dfg_point(con, path, n, lim)
        return
    rows, res = cxlib_tasks(con, a.n_boot, a.seed)
    prow, pdres = pandas_tasks(path)
    check_equal(res, pdres)
    rows += prow
    if a.peer_python:
        peer = run_peers(a.peer_python, path, work, res["js"])
        print("peer versions:", peer.get("versions"))
        ours_dfg = {f"{s}|{t}": int(f) for s, t, f in
                    res["dfg"].edges[["source", "target", "frequency"]].itertuples(index=False)}
        if "pm4py_dfg" in peer:
            assert peer["_dfg"] == ours_dfg, "pm4py and cxlib directly-follows counts differ"
            assert peer["_n_variants"] == res["paths"].n_variants, "pm4py and cxlib variant counts differ"
            rows.append(("directly-follows graph", "pm4py", Seconds(*peer["pm4py_dfg"])))
            rows.append(("path variants (all, counted)", "pm4py", Seconds(*peer["pm4py_variants"])))
        ours = res["att"].to_frame().query("method == 'markov'").set_index("channel")["removal_effect"]
        g = pd.read_csv(work / "paths.csv")
        counts = g.pivot_table(index="path", columns="converted", values="n", aggfunc="sum", fill_value=0)
        counts = pd.DataFrame({"path": counts.index, "conversions": counts.get(True, 0), "nulls": counts.get(False, 0)})
        dt, from_counts = timed(lambda: attribute(from_paths(counts), n_boot=0))
        mine = from_counts.to_frame().query("method == 'markov'").set_index("channel")["removal_effect"]
        assert (mine - ours).abs().max() < 1e-9, "removal effects from path counts and from events differ"
        rows.append(("markov attribution from path counts", "cxlib", dt))
        if "mam_markov" in peer:
            diff = max(abs(ours[k] - v) for k, v in peer["_re"].items())
            assert diff < 1e-9, f"removal effects differ by {diff}"
            rows.append(("markov attribution from path counts", "marketing-attribution-models (exact)",
                         Seconds(*peer["mam_markov"])))
        if "ca_markov" in peer:
            diff = max(abs(ours[k] - v) for k, v in peer["_ca_re"].items())
            print(f"ChannelAttribution removal effects (simulated) differ from the exact ones by up to {diff:.4f}")
            rows.append(("markov attribution from path counts", "ChannelAttribution (simulated)",
                         Seconds(*peer["ca_markov"])))
    rows += [("limit: raw Parquet scan", "DuckDB", lim["scan"]), ("limit: lead() directly-follows", "DuckDB",
                                                                   lim["lead_dfg"])]
    ref = {task: s for task, tool, s in rows if tool == "cxlib"}
    print_table(rows, n, ref)
    print(f"\njourneys: {res['js'].n_journeys:,}; variants: {res['paths'].n_variants:,}; results equal across tools "
          "(directly-follows, variants, funnel, transitions" + (", removal effects)" if a.peer_python else ")"))


if __name__ == "__main__":
    main()
