"""Execute a report plan with papermill, then render and publish it atomically.

What :func:`run_plan` does, in order:

1. validates every parameter of the plan against the notebooks' ``parameters``
   cells (:func:`cxlib.report.plan.validate_plan`) and, by default, the input
   data against the data contract, before anything executes;
2. checks that the Jupyter kernel ``cxlib`` exists and runs the project's
   Python (:func:`ensure_kernel`; installs it if missing);
3. removes stale build folders of interrupted runs and starts a fresh build in
   ``<out>/_build/run/`` (a lock file keeps two runs apart);
4. executes the notebooks with papermill (kernel ``cxlib``, working directory
   the plan's notebook folder), independent ones in parallel on ``jobs``
   threads (each with its own kernel), a notebook after those it depends on,
   printing progress lines (``[10_metrics] cell 7/23 fig-nps``) and wall times;
   with a run cache (:class:`cxlib.report.cache.NotebookCache`), a notebook whose
   code, parameters, data tables, cxlib source, environment and upstream findings
   are unchanged is not executed: its cached outputs are spliced with its current
   narrative (``[20_journeys] cached (saved 41.2 s)``);
5. on a failure: keeps the failed executed notebook in ``<out>/_failed/``,
   lets the other independent notebooks finish, skips the notebooks that
   depend on it, renders and publishes nothing, and reports the notebook, the
   cell (index and label or first line) and the exception;
6. otherwise writes ``provenance.json``, appends the provenance appendix,
   renders HTML and PDF (``cxlib.report.render.render_report``) in the build
   folder and swaps the finished folder into ``<out>/_output/`` in one atomic
   step (``renameat2(RENAME_EXCHANGE)`` on Linux), with stable links
   ``<out>/<output>.html`` and ``<out>/<output>.pdf`` pointing into it.

An interrupted run (Ctrl-C) stops the kernels at the next cell, leaves the
last good ``_output`` untouched, and its build folder is removed by the next
run.
"""
from __future__ import annotations

import datetime as _dt
import errno
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import nbformat
import pandas as pd

from .._fs import exchange_paths
from ..errors import CxError, NotebookExecutionError, ParameterError, check_choice
from . import cache as nbcache
from . import provenance as prov
from .plan import NotebookSpec, Plan, project_root, validate_plan

__all__ = ["KERNEL_NAME", "KernelRegistry", "NotebookRun", "RunResult", "ensure_kernel", "execute_notebook", "run_plan",
           "publish", "clean_stale_builds", "cell_label", "print_progress", "RUN_COLUMNS", "run_cached"]

KERNEL_NAME = "cxlib"
KERNEL_DISPLAY = "Python (cxlib workbook)"
RUN_COLUMNS = ("notebook", "status", "seconds", "cell_index", "cell_label", "ename", "evalue", "output", "message",
               "cached", "saved_seconds")
Progress = Callable[[str], None]
Renderer = Callable[..., Any]


def print_progress(message: str) -> None:
    """Default progress sink: one line on stderr, flushed (safe from several threads)."""
    with _PRINT_LOCK:
        print(message, file=sys.stderr, flush=True)


_PRINT_LOCK = threading.Lock()


@dataclass(frozen=True)
class NotebookRun:
    """Outcome of one notebook: ``status`` is ``"ok"``, ``"failed"`` or ``"skipped"`` (a dependency failed).

    ``cached`` is true when the outputs came from the run cache instead of an execution;
    ``saved_seconds`` is then the execution time of the cached result.
    """

    notebook: str
    status: Literal["ok", "failed", "skipped"]
    seconds: float
    output: Path | None = None
    cell_index: int | None = None
    cell_label: str = ""
    ename: str = ""
    evalue: str = ""
    message: str = ""
    cached: bool = False
    saved_seconds: float = 0.0

    def to_frame(self) -> pd.DataFrame:
        row = {c: getattr(self, c) for c in RUN_COLUMNS}
        row["output"] = None if self.output is None else str(self.output)
        row["cell_index"] = pd.NA if self.cell_index is None else self.cell_index
        return pd.DataFrame([row], columns=list(RUN_COLUMNS))


@dataclass(frozen=True)
class RunResult:
    """Outcome of :func:`run_plan`: the runs in plan order and, on success, the published files."""

    status: Literal["ok", "failed"]
    runs: tuple[NotebookRun, ...]
    seconds: float
    output_dir: Path | None = None
    html: Path | None = None
    pdf: Path | None = None
    provenance: Path | None = None
    engine: str = ""
    failed_dir: Path | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def saved_seconds(self) -> float:
        """Execution time the run cache saved (sum over the cached notebooks)."""
        return sum(r.saved_seconds for r in self.runs if r.cached)

    @property
    def failures(self) -> list[NotebookRun]:
        return [r for r in self.runs if r.status != "ok"]

    def to_frame(self) -> pd.DataFrame:
        return pd.concat([r.to_frame() for r in self.runs], ignore_index=True)

    def raise_for_failures(self) -> None:
        """Raise :class:`NotebookExecutionError` listing every failed or skipped notebook."""
        if self.failures:
            raise NotebookExecutionError("\n".join(r.message for r in self.failures))


# --------------------------------------------------------------------------- kernel

def _venv_python(root: Path) -> Path:
    return root / ".venv" / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_kernel(name: str = KERNEL_NAME, *, install: bool = True, manager: Any = None,
                  python: str | Path | None = None) -> Path:
    """Check that the Jupyter kernel ``name`` exists and runs the project's Python; return its folder.

    A kernel whose ``argv[0]`` is neither the project's ``.venv/bin/python``
    nor ``python`` (default ``sys.executable``) would run the notebooks in
    another environment, with another cxlib: that is an error.  A missing
    kernel is installed with ``python -m ipykernel install --sys-prefix``
    when ``install`` is true.

    Raises
    ------
    NotebookExecutionError
        The kernel is missing (and not installable) or points at another Python.
    """
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    manager = manager or KernelSpecManager()
    python = Path(python or sys.executable)
    expected = {os.path.abspath(python), os.path.abspath(_venv_python(project_root()))}
    try:
        spec = manager.get_kernel_spec(name)
    except NoSuchKernel:
        if not install:
            raise NotebookExecutionError(
                f"Jupyter kernel {name!r} is not installed. Install it with `{python} -m ipykernel install "
                f"--sys-prefix --name {name} --display-name \"{KERNEL_DISPLAY}\"` (or `make setup`).") from None
        cmd = [str(python), "-m", "ipykernel", "install", "--sys-prefix", "--name", name,
               "--display-name", KERNEL_DISPLAY]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise NotebookExecutionError(f"Installing the Jupyter kernel {name!r} failed ({' '.join(cmd)}): "
                                         f"{done.stderr.strip()}") from None
        manager = KernelSpecManager()
        spec = manager.get_kernel_spec(name)
    exe = spec.argv[0] if spec.argv else ""
    if os.path.abspath(exe) not in expected:
        raise NotebookExecutionError(
            f"Jupyter kernel {name!r} runs {exe!r}, not the project's Python ({sorted(expected)}): the notebooks "
            f"would use another environment. Remove the kernelspec at {spec.resource_dir} if it belongs to "
            f"another checkout, then reinstall it with `{python} -m ipykernel install --sys-prefix --name {name}`.")
    if not Path(exe).exists():
        raise NotebookExecutionError(f"Jupyter kernel {name!r} points at {exe!r}, which does not exist; "
                                     "recreate the virtualenv with `make setup`.")
    return Path(spec.resource_dir)


# --------------------------------------------------------------------------- one notebook

class _Cancelled(Exception):
    """Raised inside a kernel-driving thread when the run was interrupted."""


class KernelRegistry:
    """The kernels started by one run, so that an interrupted run can stop them at once.

    Kernels are launched in their own session and never see the terminal's
    Ctrl-C; :meth:`interrupt_all` sends each a SIGINT (the running cell fails
    with ``KeyboardInterrupt`` and papermill shuts the kernel down).
    """

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self._lock = threading.Lock()
        self._managers: list[Any] = []
        self.env = dict(env or {})  # added to every kernel's environment

    def manager_class(self) -> type:
        """A kernel manager class that registers every instance here (nbclient's default class otherwise)."""
        from jupyter_client.manager import AsyncKernelManager

        registry = self

        class TrackedKernelManager(AsyncKernelManager):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                with registry._lock:
                    registry._managers.append(self)

            async def _async_pre_start_kernel(self, **kw: Any) -> Any:
                if registry.env:
                    kw["env"] = {**(kw.get("env") or os.environ), **registry.env}
                return await super()._async_pre_start_kernel(**kw)

        return TrackedKernelManager

    def interrupt_all(self) -> int:
        """Send SIGINT to every live kernel; return how many were signalled."""
        import signal

        sent = 0
        with self._lock:
            managers = list(self._managers)
        for km in managers:
            process = getattr(getattr(km, "provisioner", None), "process", None)
            if process is not None and process.poll() is None:
                try:
                    process.send_signal(signal.SIGINT)
                    sent += 1
                except (OSError, ValueError):
                    pass
        return sent


def cell_label(source: str, width: int = 60) -> str:
    """A short name for a cell: its Quarto ``#| label:`` or its first non-empty line.

    >>> cell_label("#| label: fig-nps\\n#| fig-cap: NPS\\nplot(x)")
    'fig-nps'
    >>> cell_label("\\nresult = fit(data)  # the model")
    'result = fit(data)  # the model'
    """
    lines = [ln.strip() for ln in source.splitlines() if ln.strip()]
    for ln in lines:
        if ln.startswith("#|") and ln[2:].strip().startswith("label:"):
            return ln[2:].strip()[len("label:"):].strip()
    first = next((ln for ln in lines if not ln.startswith("#|")), lines[0] if lines else "")
    return first if len(first) <= width else first[: width - 1] + "…"


_TIMING_KEYS = ("start_time", "end_time", "duration")
_KERNEL_TMP = re.compile(r"ipykernel_\d+/")


def _scrub(nb: nbformat.NotebookNode, name: str,
           paths: Mapping[str, str] | None = None) -> nbformat.NotebookNode:
    """Drop run times, build paths and kernel pids from an executed notebook (times live in provenance.json).

    Papermill gives its injected-parameters cell a random id on every run; it gets the fixed id
    ``injected-parameters`` so that two runs give byte-identical notebooks.  ``paths`` maps build
    paths to where they end up (the staged report folder to the published ``_output``), rewritten
    in the injected parameters.

    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('findings_path = "/b/run/f.json"')])
    >>> nb.cells[0].metadata["tags"] = ["injected-parameters"]
    >>> nb.metadata["papermill"] = {"parameters": {"findings_path": "/b/run/f.json"}, "duration": 1.5}
    >>> out = _scrub(nb, "n", {"/b/run": "/r/_output"})
    >>> out.cells[0].id, out.cells[0].source, out.metadata.papermill.parameters["findings_path"]
    ('injected-parameters', 'findings_path = "/r/_output/f.json"', '/r/_output/f.json')
    """
    paths = dict(paths or {})

    def moved(text: str) -> str:
        for old, new in paths.items():
            text = text.replace(old, new)
        return text

    pm = nb.metadata.get("papermill", {})
    for key in _TIMING_KEYS:
        pm.pop(key, None)
    pm["input_path"] = f"{name}.ipynb"
    pm["output_path"] = f"{name}.ipynb"
    if isinstance(pm.get("parameters"), dict):
        pm["parameters"] = {k: moved(v) if isinstance(v, str) else v for k, v in pm["parameters"].items()}
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":  # warnings name the kernel's pid: /tmp/ipykernel_4242/...
                out["text"] = _KERNEL_TMP.sub("ipykernel/", out.get("text", ""))
        cell.metadata.pop("execution", None)
        cpm = cell.metadata.get("papermill")
        if isinstance(cpm, dict):
            for key in _TIMING_KEYS:
                cpm.pop(key, None)
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell.id = "injected-parameters"
            cell.source = moved(cell.source)
    return nb


def execute_notebook(spec: NotebookSpec, parameters: Mapping[str, Any], *, output: Path, cwd: Path,
                     kernel: str = KERNEL_NAME, progress: Progress | None = None,
                     cancel: threading.Event | None = None, timeout: int | None = None,
                     kernels: KernelRegistry | None = None,
                     paths: Mapping[str, str] | None = None) -> NotebookRun:
    """Execute one notebook with papermill into ``output``; never raises for a notebook error.

    Returns a :class:`NotebookRun` whose ``message`` names the notebook, the
    failing cell (0-based index in the source notebook, label or first line)
    and the exception.  ``KeyboardInterrupt`` propagates.

    ``paths`` maps build folders to their final place (see :func:`_scrub`), so
    the published notebook names where its findings really are.

    The kernel starts in ``cwd``; this process's own working directory is never
    changed (papermill's ``cwd=`` would ``chdir`` the whole process, which
    breaks relative paths of the other threads).
    """
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    progress = progress or (lambda m: None)
    name = spec.name
    total = [0]

    def on_cell_start(cell, cell_index, **_):
        if cancel is not None and cancel.is_set():
            raise _Cancelled(name)
        if cell.get("cell_type") == "code" and cell.get("source", "").strip():
            progress(f"[{name}] cell {cell_index + 1}/{total[0]} {cell_label(cell.source, 40)}")

    def on_notebook_start(notebook, **_):
        total[0] = len(notebook.cells)

    output.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    progress(f"[{name}] started")
    try:
        extra = {"kernel_manager_class": kernels.manager_class()} if kernels is not None else {}
        # sorted: the injected cell must not depend on the order a plan (or provenance.json) lists them in
        pm.execute_notebook(str(spec.path), str(output), parameters=dict(sorted(parameters.items())),
                            kernel_name=kernel, progress_bar=False, log_output=False, request_save_on_cell_execute=False,
                            resources={"metadata": {"path": str(cwd)}}, on_cell_start=on_cell_start,
                            on_notebook_start=on_notebook_start, execution_timeout=timeout, **extra)
    except PapermillExecutionError as err:
        seconds = time.perf_counter() - t0
        index = _source_index(output, err.cell_index)
        label = cell_label(err.source or "")
        msg = (f"Notebook {name!r} failed in cell {index} ({label!r}) with {err.ename}: {err.evalue} "
               f"[after {seconds:.1f} s; executed notebook kept]")
        progress(f"[{name}] FAILED in cell {index} ({label}): {err.ename}: {err.evalue}")
        return NotebookRun(name, "failed", seconds, output if output.exists() else None, index, label,
                           str(err.ename), str(err.evalue), msg)
    except _Cancelled:
        raise KeyboardInterrupt(f"run interrupted while executing {name}") from None
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # kernel died, bad notebook file, ...: still a notebook failure
        seconds = time.perf_counter() - t0
        msg = f"Notebook {name!r} could not be executed: {type(exc).__name__}: {exc}"
        progress(f"[{name}] FAILED: {type(exc).__name__}: {exc}")
        return NotebookRun(name, "failed", seconds, output if output.exists() else None, None, "",
                           type(exc).__name__, str(exc), msg)
    seconds = time.perf_counter() - t0
    nbformat.write(_scrub(nbformat.read(output, as_version=4), name, paths), output)
    progress(f"[{name}] done in {seconds:.1f} s")
    return NotebookRun(name, "ok", seconds, output)


def _source_index(output: Path, executed_index: int) -> int:
    """Map a cell index of the executed notebook back to the source notebook (drop injected cells)."""
    try:
        nb = nbformat.read(output, as_version=4)
    except Exception:  # noqa: BLE001 - the index is still useful unmapped
        return executed_index
    cells = [c for c in nb.cells if "papermill-error-cell-tag" not in c.metadata.get("tags", [])]
    injected = sum(1 for c in cells[:executed_index] if "injected-parameters" in c.metadata.get("tags", []))
    return executed_index - injected


# --------------------------------------------------------------------------- build folders, publishing

def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _acquire_lock(build_root: Path) -> Path:
    build_root.mkdir(parents=True, exist_ok=True)
    lock = build_root / ".lock"
    if lock.exists():
        try:
            pid = int(lock.read_text().strip() or 0)
        except ValueError:
            pid = 0
        if pid and pid != os.getpid() and _pid_alive(pid):
            raise NotebookExecutionError(f"Another `cx report` (pid {pid}) is building into {build_root}; "
                                         "wait for it, or remove the stale lock file if that process is gone.")
    lock.write_text(str(os.getpid()))
    return lock


def clean_stale_builds(out_dir: str | Path) -> list[Path]:
    """Remove the build folders left by interrupted runs (``<out>/_build/*``); return what was removed.

    If an interrupted publish left no ``<out>/_output`` but kept the previous
    one in a build folder, that previous report is restored first.
    """
    out_dir = Path(out_dir)
    build_root = out_dir / "_build"
    removed: list[Path] = []
    if not build_root.is_dir():
        return removed
    published = out_dir / "_output"
    if not published.exists():
        for previous in sorted(build_root.glob("*/previous")):
            os.replace(previous, published)
            break
    for child in sorted(build_root.iterdir()):
        if child.name == ".lock":
            continue
        shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
        removed.append(child)
    return removed


_exchange = exchange_paths  # module-level name, so tests can force the two-rename fallback


def _replace_link(link: Path, target: str) -> None:
    if link.is_symlink() and os.readlink(link) == target:
        return  # already right (the target name never changes): nothing to write
    tmp = link.with_name(f".{link.name}.tmp")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(target, tmp)
    os.replace(tmp, link)


def publish(staged: str | Path, out_dir: str | Path, *, output: str) -> Path:
    """Move the finished folder ``staged`` into ``<out>/_output`` in one atomic step; return it.

    ``staged`` must be inside ``<out>/_build/`` (same file system).  The old
    ``_output`` ends up in ``staged``'s place and is then deleted.  Stable
    links ``<out>/<output>.html`` and ``<out>/<output>.pdf`` point into
    ``_output``, so they always show one consistent report.
    """
    staged, out_dir = Path(staged), Path(out_dir)
    target = out_dir / "_output"
    if target.exists() and not _exchange(staged, target):
        previous = staged.parent / "previous"
        os.replace(target, previous)
        try:
            os.replace(staged, target)
        except BaseException:
            os.replace(previous, target)
            raise
        shutil.rmtree(previous, ignore_errors=True)
    elif not target.exists():
        os.replace(staged, target)
    else:  # exchanged: the old report now sits at ``staged``
        shutil.rmtree(staged, ignore_errors=True)
    for ext in ("html", "pdf"):
        if (target / f"{output}.{ext}").exists():
            _replace_link(out_dir / f"{output}.{ext}", f"_output/{output}.{ext}")
    return target


# --------------------------------------------------------------------------- the whole plan

def _schedule(plan: Plan, run_one: Callable[[NotebookSpec], NotebookRun], jobs: int,
              cancel: threading.Event, kernels: KernelRegistry | None = None) -> dict[str, NotebookRun]:
    """Run notebooks as their dependencies allow, ``jobs`` at a time; a failed dependency skips dependants."""
    results: dict[str, NotebookRun] = {}
    pending = {s.name: s for s in plan.notebooks}
    running: dict[Future, str] = {}
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="cx-notebook") as pool:
        try:
            while pending or running:
                for name, spec in list(pending.items()):
                    deps = [results.get(d) for d in spec.depends_on]
                    if any(r is not None and r.status != "ok" for r in deps):
                        bad = [r.notebook for r in deps if r is not None and r.status != "ok"]
                        results[name] = NotebookRun(name, "skipped", 0.0, message=(
                            f"Notebook {name!r} was not run: it depends on {bad}, which failed."))
                        del pending[name]
                    elif all(r is not None for r in deps) and len(running) < jobs:
                        running[pool.submit(run_one, spec)] = name
                        del pending[name]
                if not running:
                    continue
                done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for fut in done:
                    results[running.pop(fut)] = fut.result()
        except BaseException:
            cancel.set()
            for fut in running:
                fut.cancel()
            if kernels is not None:
                kernels.interrupt_all()
            raise
    return results


# --------------------------------------------------------------------------- the run cache

def run_cached(spec: NotebookSpec, parts: Mapping[str, Any], *, cache: nbcache.NotebookCache, output: Path,
               findings_dir: Path, execute: Callable[[], NotebookRun], progress: Progress) -> NotebookRun:
    """Restore ``spec`` from ``cache`` when its components match an entry, else ``execute()`` and store it.

    A hit writes the cached notebook spliced with the current narrative to ``output`` and
    its sidecars to ``findings_dir``; an unusable entry is dropped and the notebook executed.
    A result that cannot be stored (full disk) is reported and the run goes on.
    """
    t0 = time.perf_counter()
    entry = cache.lookup(spec.name, parts)
    if entry is not None:
        try:
            executed, source = (nbformat.read(p, as_version=4) for p in (entry.notebook, spec.path))
            spliced = nbcache.splice(executed, source)
            output.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(spliced, output)
            findings_dir.mkdir(parents=True, exist_ok=True)
            for file in entry.sidecars:
                shutil.copyfile(file, findings_dir / file.name)
        except Exception as exc:  # noqa: BLE001 - an unusable entry is a miss, never a failed run or half a restore
            progress(f"[{spec.name}] cache entry unusable ({type(exc).__name__}: {exc}); executing")
            cache.drop(entry)
            output.unlink(missing_ok=True)
            for file in nbcache.sidecars(findings_dir, spec.name):
                file.unlink()
        else:
            progress(f"[{spec.name}] cached (saved {entry.seconds:.1f} s)")
            return NotebookRun(spec.name, "ok", time.perf_counter() - t0, output, cached=True,
                               saved_seconds=entry.seconds)
    elif cache.reuse:
        progress(f"[{spec.name}] not cached: {nbcache.explain(cache.last_components(spec.name), parts)}")
    run = execute()
    if run.status == "ok":
        try:
            cache.store(spec.name, parts, output, nbcache.sidecars(findings_dir, spec.name), run.seconds)
        except OSError as exc:
            progress(f"[{spec.name}] result not stored in the run cache ({exc}); the report is not affected")
    return run


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def release_memory() -> None:
    """Return freed memory to the operating system: a garbage collection, Arrow's pool, then glibc's heap.

    Freed memory otherwise stays with the process: after validating 1M customers' tables the runner
    kept about 3.5 GB it no longer used (1.2 GB after Arrow's release, 0.25 GB after ``malloc_trim``),
    memory the notebook kernels need. Each step is skipped where it does not exist (no glibc, no pyarrow).
    """
    import ctypes
    import gc

    gc.collect()
    try:
        import pyarrow

        pyarrow.default_memory_pool().release_unused()
    except (ImportError, AttributeError):
        pass
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _default_loader(data_dir: str) -> Any:
    from ..data import load

    return load(data_dir)


def run_plan(plan: Plan, *, out_dir: str | Path | None = None, jobs: int | None = None,
             engine: Literal["auto", "quarto", "pandoc"] = "auto", renderer: Renderer | None = None,
             progress: Progress | None = print_progress, kernel: str = KERNEL_NAME,
             data_loader: Callable[[str], Any] | None = _default_loader, install_kernel: bool = True,
             timeout: int | None = None, cache: nbcache.NotebookCache | None = None) -> RunResult:
    """Validate, execute, render and publish ``plan``; see the module docstring for the steps.

    Parameters
    ----------
    plan : Plan
        From :func:`cxlib.report.plan.load_plan`; its ``data_dir`` must be set.
    out_dir : path, optional
        Reports folder (default ``<project>/reports``): ``_build/``, ``_failed/``,
        ``_output/`` and the links ``<output>.html|pdf`` live there.
    jobs : int, optional
        Notebooks executed at once (default: number of cores).
    engine : {"auto", "quarto", "pandoc"}
        Passed to the renderer.
    renderer : callable, optional
        ``render_report(notebooks, out_dir, *, title, subtitle, engine, progress)``;
        default :func:`cxlib.report.render.render_report` (imported when needed).
    progress : callable or None
        Receives one line of text per event; ``None`` is silent.
    data_loader : callable or None
        Validates the data folder before execution and returns an object with a
        ``validation`` frame (default :func:`cxlib.data.load`); ``None`` skips
        data validation (tests of the runner on toy notebooks).
    timeout : int, optional
        Per-cell time limit in seconds (default none).
    cache : NotebookCache, optional
        Run cache (``cx report`` uses ``<out_dir>/_cache``); ``None`` executes every
        notebook and stores nothing.  A hit restores the notebook's outputs and
        sidecars and splices in its current narrative; a miss is executed and stored.

    Returns
    -------
    RunResult
        ``status == "failed"`` when a notebook failed or was skipped; nothing
        was published then.  Raises ``ParameterError`` (bad plan) or
        ``DataContractError`` (bad data) before any notebook runs; raises
    ``RenderError`` when rendering or writing the report fails (a full
    disk, for instance), leaving the last good report untouched.
    """
    engine = check_choice("engine", engine, ["auto", "quarto", "pandoc"])
    say = progress or (lambda m: None)
    t_start, started_at = time.perf_counter(), _now()
    resolved = validate_plan(plan)
    data_dir = str(plan.parameters["data_dir"])
    data_hashes = prov.file_hashes(data_dir)  # once: for the cache keys and for provenance
    validation = nbcache.validate_data(data_loader, data_dir, data_hashes, cache=cache, progress=say)
    release_memory()  # the validated frames are gone; give their memory back before the kernels start
    ensure_kernel(kernel, install=install_kernel)
    out_dir = Path(out_dir).resolve() if out_dir is not None else project_root() / "reports"
    jobs = max(1, int(jobs or os.cpu_count() or 1))
    build_root = out_dir / "_build"
    lock = _acquire_lock(build_root)
    try:
        for stale in clean_stale_builds(out_dir):
            say(f"removed stale build folder {stale}")
        build = build_root / "run"
        staged = build / "report"
        (staged / "notebooks").mkdir(parents=True)
        (staged / "findings").mkdir()
        failed_dir = out_dir / "_failed"
        shutil.rmtree(failed_dir, ignore_errors=True)
        kernel_env = {}
        if validation is not None:  # kernels skip re-validating these very bytes (cxlib.data.load checks the hashes)
            from ..data import VALIDATED_ENV, write_validation_stamp

            stamp = write_validation_stamp(build / "validated.json", data_dir, data_hashes, validation)
            kernel_env[VALIDATED_ENV] = str(stamp)
        cancel, kernels = threading.Event(), KernelRegistry(env=kernel_env)
        paths = {str(staged): str(out_dir / "_output")}
        keys: dict[str, str] = {}
        if cache is not None:
            for stale in cache.clean():
                say(f"removed unfinished cache entry {stale}")

        def run_one(spec: NotebookSpec) -> NotebookRun:
            params = dict(resolved[spec.name])
            decl = set(_declared(spec))
            if "findings_path" in decl:
                params["findings_path"] = str(staged / "findings" / f"{spec.name}.json")
            if "findings_dir" in decl:
                params["findings_dir"] = str(staged / "findings")
            output = staged / "notebooks" / f"{spec.name}.ipynb"

            def execute() -> NotebookRun:
                return execute_notebook(spec, params, output=output, cwd=plan.notebooks_dir, kernel=kernel,
                                        progress=say, cancel=cancel, timeout=timeout, kernels=kernels, paths=paths)

            if cache is None:
                return execute()
            parts = nbcache.cache_components(spec, params, cache=cache, data_hashes=data_hashes,
                                     findings_dir=staged / "findings", paths=paths, kernel=kernel)
            keys[spec.name] = nbcache.cache_key(parts)
            return run_cached(spec, parts, cache=cache, output=output, findings_dir=staged / "findings",
                              execute=execute, progress=say)

        say(f"running {len(plan.notebooks)} notebook(s) on {jobs} job(s)")
        results = _schedule(plan, run_one, jobs, cancel, kernels)
        runs = tuple(results[n] for n in plan.names)
        timings = {r.notebook: r.seconds for r in runs}
        if any(r.status != "ok" for r in runs):
            failed_dir.mkdir(parents=True, exist_ok=True)
            for r in runs:
                if r.status == "failed" and r.output is not None and r.output.exists():
                    shutil.copy2(r.output, failed_dir / r.output.name)
            shutil.rmtree(build, ignore_errors=True)
            seconds = time.perf_counter() - t_start
            say(f"run FAILED after {seconds:.1f} s; nothing published (failed notebooks in {failed_dir})")
            for r in runs:
                if r.status != "ok":
                    say(r.message)
            return RunResult("failed", runs, seconds, failed_dir=failed_dir)

        try:
            cached = {r.notebook: {"cached": r.cached, "saved_seconds": round(r.saved_seconds, 3),
                                   "key": keys.get(r.notebook, "")} for r in runs} if cache is not None else None
            record = prov.collect(root=project_root(), plan=plan.to_dict(), parameters=resolved, data_dir=data_dir,
                                  validation=validation, timings=timings, started_at=started_at, status="executed",
                                  hashes=data_hashes, cache=cached)
            appendix = staged / "notebooks" / "zz_provenance.ipynb"
            nbformat.write(prov.appendix_notebook(record), appendix)
            say("rendering HTML and PDF")
            t_render = time.perf_counter()
            render = renderer or _default_renderer()
            rendered = render([r.output for r in runs] + [appendix], build / "render", title=plan.title,
                              subtitle=plan.subtitle, engine=engine, progress=say)
            timings["render"] = time.perf_counter() - t_render
            say(f"rendered ({rendered.engine}) in {timings['render']:.1f} s")
            os.replace(rendered.html, staged / f"{plan.output}.html")
            os.replace(rendered.pdf, staged / f"{plan.output}.pdf")
            timings["total"] = time.perf_counter() - t_start
            record["run"].update(finished_at=_now(), status="success", engine=str(rendered.engine),
                                 wall_seconds={k: round(v, 3) for k, v in timings.items()})
            prov.write(staged / "provenance.json", record)
            target = publish(staged, out_dir, output=plan.output)
        except OSError as exc:  # full disk, quota, permissions: a clear error, the last good report untouched
            raise _write_failure(exc, out_dir, published=not staged.exists()) from exc
        shutil.rmtree(build, ignore_errors=True)
        seconds = time.perf_counter() - t_start
        hits = [r for r in runs if r.cached]
        saved = f" ({len(hits)} notebook(s) from the cache saved {sum(r.saved_seconds for r in hits):.1f} s)" \
            if hits else ""
        say(f"published {target / (plan.output + '.html')} and .pdf in {seconds:.1f} s{saved}")
        return RunResult("ok", runs, seconds, target, target / f"{plan.output}.html",
                         target / f"{plan.output}.pdf", target / "provenance.json", str(rendered.engine))
    finally:
        if lock.exists() and lock.read_text().strip() == str(os.getpid()):
            lock.unlink()


def _write_failure(exc: OSError, out_dir: Path, *, published: bool = False) -> CxError:
    """The error for a report that could not be written (``ENOSPC`` and friends) after its notebooks ran."""
    from .render import RenderError

    reason = "the disk is full" if exc.errno == errno.ENOSPC else f"{type(exc).__name__}"
    if published:
        return RenderError(f"The report was published in {out_dir / '_output'}, but updating the links beside it "
                           f"failed: {reason} ({exc}). Open the files in _output/ directly, or free space and run "
                           "again.")
    return RenderError(f"Writing the report failed: {reason} ({exc}). Nothing was published: the last good report "
                       f"in {out_dir / '_output'} is untouched, and the next run removes the unfinished build "
                       f"folder {out_dir / '_build'} by itself. Free space (or fix the permissions) and run again.")


def _declared(spec: NotebookSpec) -> list[str]:
    from .plan import declared_parameters

    return list(declared_parameters(spec.path))


def _default_renderer() -> Renderer:
    try:
        from .render import render_report
    except ImportError as exc:
        raise NotebookExecutionError(f"The report renderer is not available ({exc}); cxlib.report.render "
                                     "must provide render_report().") from exc
    return render_report


def reproduce_plan(record: Mapping[str, Any]) -> tuple[Plan, list[str]]:
    """The plan recorded in a provenance record, and the differences of the inputs since then."""
    from .plan import plan_from_dict

    data_dir = record["data"]["folder"]
    if not Path(data_dir).is_dir():
        raise ParameterError(f"The recorded data folder {data_dir!r} does not exist any more; "
                             "regenerate it (e.g. `make data`) before reproducing.")
    plan = plan_from_dict(record["plan"], data_dir=data_dir)
    return plan, prov.compare_hashes(record["data"]["sha256"], prov.file_hashes(data_dir))


def run_single(spec: NotebookSpec, parameters: Mapping[str, Any], *, out_dir: str | Path,
               cwd: Path, progress: Progress | None = print_progress, kernel: str = KERNEL_NAME,
               timeout: int | None = None) -> NotebookRun:
    """Execute one notebook (``cx run``) into ``out_dir`` with its findings beside it; nothing is rendered."""
    ensure_kernel(kernel)
    out_dir = Path(out_dir).resolve()
    params = dict(parameters)
    decl = set(_declared(spec))
    if "findings_path" in decl:
        params["findings_path"] = str(out_dir / "findings" / f"{spec.name}.json")
    if "findings_dir" in decl:
        params["findings_dir"] = str(out_dir / "findings")
    return execute_notebook(spec, params, output=out_dir / f"{spec.name}.ipynb", cwd=cwd, kernel=kernel,
                            progress=progress, timeout=timeout)
