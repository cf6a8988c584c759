"""The whole report at several sizes: wall time and peak memory of `cx report`, per notebook, and how they grow.

For each size N (customers) the script generates the synthetic world once (``cx synth --customers N``,
kept under ``--workdir`` for later runs), then runs the whole report on it **fresh** (``cx report
--no-cache``, its own reports folder) as a child process, and samples every 0.2 s the resident memory
(RSS) of that process and all its descendants (the runner and its Jupyter kernels).  From the runner's
progress lines it takes each notebook's wall time and each cell's time; each kernel's peak RSS is
attributed to the notebook whose run overlaps the kernel's life the most.

Results go to ``<workdir>/result-<N>.json``; ``--table`` prints the tables from every result found
there (so the heavy 1M point can be run alone, later).  ``--profile NOTEBOOK`` runs one notebook's
code in this process under cProfile on the data of the first size and prints the top functions.

    nice .venv/bin/python benchmarks/report_scaling.py --sizes 10000 100000
    nice .venv/bin/python benchmarks/report_scaling.py --sizes 1000000
    .venv/bin/python benchmarks/report_scaling.py --table
    nice .venv/bin/python benchmarks/report_scaling.py --sizes 100000 --profile 20_journeys

Memory is the sum of the processes' RSS: libraries mapped by several processes are counted in each,
so the tree figure is an upper bound of what the machine needed.
"""
from __future__ import annotations

import argparse
import cProfile
import contextlib
import io
import json
import os
import platform
import pstats
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
CX = Path(sys.executable).with_name("cx")
MB = 1024 * 1024
_CELL = re.compile(r"^\[(?P<nb>[^\]]+)\] cell (?P<i>\d+)/(?P<n>\d+) (?P<label>.*)$")
_STARTED = re.compile(r"^\[(?P<nb>[^\]]+)\] started$")
_DONE = re.compile(r"^\[(?P<nb>[^\]]+)\] (?:done in [\d.]+ s|FAILED.*)$")


@dataclass
class Sampled:
    """One child process run: wall time, exit code, peak tree RSS, each process's life and peak, stderr lines."""

    seconds: float
    returncode: int
    peak_tree_mb: float
    processes: dict[int, dict] = field(default_factory=dict)  # pid -> {cmd, start, end, peak_mb}
    lines: list[tuple[float, str]] = field(default_factory=list)  # (epoch seconds, line)


def run_sampled(cmd: list[str], *, interval: float = 0.2, log: Path | None = None) -> Sampled:
    """Run ``cmd``, sampling the RSS of it and its descendants; stderr lines are kept with their times."""
    t0 = time.time()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    lines: list[tuple[float, str]] = []
    sink = log.open("w", encoding="utf-8") if log else None

    def read() -> None:
        for line in proc.stderr:
            lines.append((time.time(), line.rstrip("\n")))
            if sink:
                sink.write(line)
                sink.flush()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    root, peak, seen = psutil.Process(proc.pid), 0.0, {}
    while proc.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            break
        total, now = 0.0, time.time()
        for p in tree:
            try:
                rss = p.memory_info().rss / MB
                info = seen.setdefault(p.pid, {"cmd": " ".join(p.cmdline()[:4]), "start": p.create_time(),
                                               "end": now, "peak_mb": 0.0})
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            info["end"], info["peak_mb"] = now, max(info["peak_mb"], rss)
            total += rss
        peak = max(peak, total)
        time.sleep(interval)
    proc.wait()
    reader.join(timeout=10)
    proc.stdout.read()
    if sink:
        sink.close()
    return Sampled(time.time() - t0, proc.returncode, peak, seen, lines)


def notebook_spans(lines: list[tuple[float, str]]) -> dict[str, dict]:
    """Per notebook: start and end (epoch), status, and the seconds of each cell, from the progress lines."""
    spans: dict[str, dict] = {}
    last_cell: dict[str, tuple[float, str]] = {}
    for t, line in lines:
        if m := _STARTED.match(line):
            spans[m["nb"]] = {"start": t, "end": None, "status": "running", "cells": {}}
        elif m := _CELL.match(line):
            nb = m["nb"]
            if nb in last_cell:
                t_prev, label = last_cell[nb]
                spans[nb]["cells"][label] = spans[nb]["cells"].get(label, 0.0) + (t - t_prev)
            last_cell[nb] = (t, f"{m['i']}: {m['label']}")
        elif m := _DONE.match(line):
            nb = m["nb"]
            spans.setdefault(nb, {"start": t, "cells": {}})
            spans[nb].update(end=t, status="ok" if " done in " in line else "failed")
            if nb in last_cell:
                t_prev, label = last_cell.pop(nb)
                spans[nb]["cells"][label] = spans[nb]["cells"].get(label, 0.0) + (t - t_prev)
        elif line.startswith("[") and "] cached (saved" in line:
            nb = line[1:line.index("]")]
            spans[nb] = {"start": t, "end": t, "status": "cached", "cells": {}}
    return spans


def kernel_peaks(spans: dict[str, dict], processes: dict[int, dict]) -> dict[str, float]:
    """Each kernel's peak RSS, given to the notebook whose run matches the kernel's life best.

    The match is the intersection over the union of the two time spans: a kernel lives inside its
    notebook's span, and a longer notebook running beside it scores lower.
    """
    out: dict[str, float] = {}
    for info in processes.values():
        if "ipykernel" not in info["cmd"]:
            continue
        best, score = None, 0.0
        for nb, span in spans.items():
            end = span.get("end") or info["end"]
            inter = min(end, info["end"]) - max(span["start"], info["start"])
            union = max(end, info["end"]) - min(span["start"], info["start"])
            if inter > 0 and inter / union > score:
                best, score = nb, inter / union
        if best is not None:
            out[best] = max(out.get(best, 0.0), info["peak_mb"])
    return out


def phase_seconds(lines: list[tuple[float, str]], t_start: float) -> dict[str, float]:
    """Wall seconds before the notebooks (validation, hashing, kernel check), of the notebooks, of rendering."""
    def first(prefix: str) -> float | None:
        return next((t for t, ln in lines if ln.startswith(prefix)), None)

    running, render = first("running "), first("rendering HTML and PDF")
    rendered = first("rendered (")
    end = lines[-1][0] if lines else t_start
    out = {"before_notebooks": (running or end) - t_start}
    if running:
        out["notebooks"] = (render or end) - running
    if render and rendered:
        out["render"] = rendered - render
    return out


def data_rows(folder: Path) -> dict[str, int]:
    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    return {k: int(v) for k, v in truth["sizes"]["rows"].items() if not k.startswith("truth_")}


def run_size(n: int, args: argparse.Namespace) -> dict:
    """Synthesize (once) and report (fresh) at ``n`` customers; return the measurements."""
    work = Path(args.workdir)
    data = work / f"data-{n}"
    result: dict = {"customers": n}
    if not (data / "truth.json").is_file():
        print(f"[{n:,}] cx synth ...", file=sys.stderr, flush=True)
        synth = run_sampled([str(CX), "synth", "--customers", str(n), "--seed", str(args.seed), "--out", str(data)],
                            log=work / f"synth-{n}.log")
        result["synth"] = {"seconds": synth.seconds, "peak_tree_mb": synth.peak_tree_mb, "returncode": synth.returncode}
        if synth.returncode != 0:
            return result
    result["rows"] = data_rows(data)
    result["data_mb"] = sum(p.stat().st_size for p in data.rglob("*") if p.is_file()) / MB
    print(f"[{n:,}] cx report --no-cache ...", file=sys.stderr, flush=True)
    cmd = [str(CX), "report", "--params", str(args.plan), "--data", str(data), "--out", str(work / f"reports-{n}"),
           "--no-cache", "--engine", args.engine]
    if args.jobs:
        cmd += ["--jobs", str(args.jobs)]
    t_start, load_before = time.time(), os.getloadavg()[0]
    rep = run_sampled(cmd, log=work / f"report-{n}.log")
    spans = notebook_spans(rep.lines)
    peaks = kernel_peaks(spans, rep.processes)
    runner_peak = max((p["peak_mb"] for p in rep.processes.values() if "ipykernel" not in p["cmd"]), default=0.0)
    result["report"] = {
        "seconds": rep.seconds, "returncode": rep.returncode, "peak_tree_mb": rep.peak_tree_mb,
        "runner_peak_mb": runner_peak, "phases": phase_seconds(rep.lines, t_start),
        "notebooks": {nb: {"seconds": (s["end"] - s["start"]) if s.get("end") else None, "status": s["status"],
                           "peak_mb": peaks.get(nb), "cells": s["cells"]} for nb, s in spans.items()},
        "tail": [ln for _, ln in rep.lines[-8:]],
        "processes": rep.processes,
        "load_average": {"before": load_before, "after": os.getloadavg()[0]},  # other work on the machine
    }
    return result


def machine() -> dict:
    import importlib.metadata as md

    versions = {}
    for name in ("cxlib", "duckdb", "pandas", "numpy", "scipy", "lifelines", "statsmodels", "papermill", "typst",
                 "pypandoc-binary"):
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:
            versions[name] = None
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_gb": round(psutil.virtual_memory().total / 1024 ** 3, 1),
            "kernel": platform.release(), "python": platform.python_version(), "versions": versions}


# --------------------------------------------------------------------------- tables

def _fmt(x: float | None, spec: str = ",.1f") -> str:
    return "-" if x is None else format(x, spec)


def print_tables(results: list[dict]) -> None:
    """Markdown tables: the whole report per size, growth against the previous size, notebooks per size."""
    results = sorted(results, key=lambda r: r["customers"])
    print("| customers | events | data MB | synth s | report s | before notebooks s | notebooks s | render s "
          "| peak RSS, tree (MB) | status |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in results:
        rep, ph = r.get("report", {}), r.get("report", {}).get("phases", {})
        status = "ok" if rep.get("returncode") == 0 else f"exit {rep.get('returncode')}"
        print(f"| {r['customers']:,} | {r.get('rows', {}).get('events', 0):,} | {_fmt(r.get('data_mb'))} "
              f"| {_fmt(r.get('synth', {}).get('seconds'))} | {_fmt(rep.get('seconds'))} "
              f"| {_fmt(ph.get('before_notebooks'))} | {_fmt(ph.get('notebooks'))} | {_fmt(ph.get('render'))} "
              f"| {_fmt(rep.get('peak_tree_mb'), ',.0f')} | {status} |")
    print("\nGrowth from the previous size (a cost ratio of 1.0 per customer is linear growth):\n")
    print("| from -> to | customers x | report time x | time per customer x | peak memory x |")
    print("|---|---:|---:|---:|---:|")
    for a, b in zip(results, results[1:]):
        ra, rb = a.get("report", {}), b.get("report", {})
        if not ra.get("seconds") or not rb.get("seconds"):
            continue
        k = b["customers"] / a["customers"]
        t = rb["seconds"] / ra["seconds"]
        print(f"| {a['customers']:,} -> {b['customers']:,} | {k:.0f} | {t:.2f} | {t / k:.2f} "
              f"| {rb['peak_tree_mb'] / ra['peak_tree_mb']:.2f} |")
    names = sorted({nb for r in results for nb in r.get("report", {}).get("notebooks", {})})
    print("\nPer notebook: wall seconds / peak kernel RSS (MB), and the time growth per customer:\n")
    print("| notebook | " + " | ".join(f"{r['customers']:,}" for r in results) + " | time per customer x |")
    print("|---|" + "---:|" * (len(results) + 1))
    for nb in names:
        cells, times = [], []
        for r in results:
            s = r.get("report", {}).get("notebooks", {}).get(nb)
            if s is None:
                cells.append("-")
                times.append(None)
                continue
            cells.append(f"{_fmt(s['seconds'])} s / {_fmt(s['peak_mb'], ',.0f')} MB"
                         + ("" if s["status"] == "ok" else f" ({s['status']})"))
            times.append(s["seconds"] if s["status"] == "ok" else None)
        growth = [f"{(tb / ta) / (rb['customers'] / ra['customers']):.2f}"
                  for (ta, ra), (tb, rb) in zip(zip(times, results), zip(times[1:], results[1:])) if ta and tb]
        print(f"| {nb} | " + " | ".join(cells) + f" | {', '.join(growth) or '-'} |")


def print_top_cells(result: dict, top: int = 12) -> None:
    cells = [(s, nb, label) for nb, info in result.get("report", {}).get("notebooks", {}).items()
             for label, s in info["cells"].items()]
    print(f"\nSlowest cells at {result['customers']:,} customers:\n")
    print("| notebook | cell | seconds |")
    print("|---|---|---:|")
    for s, nb, label in sorted(cells, reverse=True)[:top]:
        print(f"| {nb} | `{label[:60]}` | {s:.1f} |")


# --------------------------------------------------------------------------- profile one notebook

def profile_notebook(name: str, data: Path, *, plan: Path, top: int = 25) -> str:
    """Run a notebook's code cells in this process under cProfile (its parameters from the plan); the top functions."""
    import matplotlib

    matplotlib.use("Agg")
    import nbformat

    from cxlib.report.plan import load_plan, validate_plan

    p = load_plan(plan, data_dir=data)
    spec = p.notebook(name)
    params = validate_plan(p)[name]
    out = Path("/tmp") / f"cx-profile-{name}"
    out.mkdir(exist_ok=True)
    params |= {"findings_path": str(out / f"{name}.json"), "findings_dir": str(out)}
    nb = nbformat.read(spec.path, as_version=4)
    from IPython.display import display

    namespace: dict = {"display": display, "__name__": "__main__"}
    cwd = os.getcwd()
    os.chdir(spec.path.parent)
    prof = cProfile.Profile()
    try:
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            code = "\n".join(ln for ln in cell.source.splitlines() if not ln.lstrip().startswith(("%", "!")))
            with contextlib.redirect_stdout(io.StringIO()):
                prof.runctx(compile(code, f"<{name} cell>", "exec"), namespace, namespace)
            if "parameters" in cell.metadata.get("tags", []):
                namespace.update(params)
    finally:
        os.chdir(cwd)
    text = io.StringIO()
    stats = pstats.Stats(prof, stream=text).strip_dirs().sort_stats("cumulative")
    stats.print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return text.getvalue()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[])
    ap.add_argument("--workdir", default="/tmp/cx-scaling")
    ap.add_argument("--plan", default=str(ROOT / "reports" / "plan.yml"))
    ap.add_argument("--seed", type=int, default=20261123)
    ap.add_argument("--jobs", type=int, default=None, help="cx report --jobs [default: its own, the cores]")
    ap.add_argument("--engine", default="auto")
    ap.add_argument("--table", action="store_true", help="print the tables of every result in --workdir")
    ap.add_argument("--profile", default=None, help="a notebook (stem) to profile on the first size's data")
    args = ap.parse_args(argv)
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    if args.profile:
        n = args.sizes[0] if args.sizes else 100_000
        print(profile_notebook(args.profile, work / f"data-{n}", plan=Path(args.plan)))
        return
    for n in args.sizes:
        res = run_size(n, args) | {"machine": machine(), "finished_at": time.strftime("%Y-%m-%d %H:%M:%S")}
        (work / f"result-{n}.json").write_text(json.dumps(res, indent=1), encoding="utf-8")
        rep = res.get("report", {})
        print(f"[{n:,}] report exit {rep.get('returncode')} in {_fmt(rep.get('seconds'))} s, "
              f"peak {_fmt(rep.get('peak_tree_mb'), ',.0f')} MB", file=sys.stderr, flush=True)
    if args.table or args.sizes:
        results = [json.loads(p.read_text()) for p in sorted(work.glob("result-*.json"))]
        print_tables(results)
        for r in results:
            print_top_cells(r)
        if results:
            m = results[-1]["machine"]
            print(f"\nMachine: {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GiB, Linux {m['kernel']}, "
                  f"Python {m['python']}; " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()))


if __name__ == "__main__":
    main()
