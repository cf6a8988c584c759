"""Executing notebooks with papermill: one notebook, its progress lines, and a plan's notebooks in parallel.

- :func:`execute_notebook`: run one notebook on the ``cxlib`` kernel into an output file, printing
  progress (``[10_metrics] cell 7/23 fig-nps``) and turning a notebook error into a
  :class:`NotebookRun` that names the cell and the exception;
- :func:`schedule`: run a plan's notebooks as their dependencies allow, ``jobs`` at a time, skipping
  the dependants of a failed notebook and stopping every kernel on Ctrl-C.
"""
from __future__ import annotations

import re
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

from ..privacy import REDACTION_KINDS, Redactor, redact_notebook
from .kernels import KERNEL_NAME, KernelRegistry
from .plan import NotebookSpec, Plan

__all__ = ["RUN_COLUMNS", "NotebookRun", "Progress", "cell_label", "execute_notebook", "print_progress", "schedule"]

RUN_COLUMNS = ("notebook", "status", "seconds", "cell_index", "cell_label", "ename", "evalue", "output", "message",
               "cached", "saved_seconds")
Progress = Callable[[str], None]


def print_progress(message: str) -> None:
    """Default progress sink: one line on stderr, flushed (safe from several threads)."""
    with _PRINT_LOCK:
        print(message, file=sys.stderr, flush=True)


_PRINT_LOCK = threading.Lock()


@dataclass(frozen=True)
class NotebookRun:
    """Outcome of one notebook: ``status`` is ``"ok"``, ``"failed"`` or ``"skipped"`` (a dependency failed).

    A section the data cannot support (:mod:`cxlib.report.coverage`) is ``"ok"`` with a stand-in chapter
    and its reason in ``skipped_section``.

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
    skipped_section: str = ""  # why the data cannot support the notebook's section ('' when it ran)

    def to_frame(self) -> pd.DataFrame:
        row = {c: getattr(self, c) for c in RUN_COLUMNS}
        row["output"] = None if self.output is None else str(self.output)
        row["cell_index"] = pd.NA if self.cell_index is None else self.cell_index
        return pd.DataFrame([row], columns=list(RUN_COLUMNS))


class _Cancelled(Exception):
    """Raised inside a kernel-driving thread when the run was interrupted."""


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


#: papermill writes an executed notebook to ``cx-clean://<path>`` through :class:`_CleanWriter`, never to disk directly.
CLEAN_SCHEME = "cx-clean://"
_CLEANERS: dict[str, Callable[[nbformat.NotebookNode], nbformat.NotebookNode]] = {}
_CLEAN_LOCK = threading.Lock()
_REGISTERED: list[bool] = []


class _CleanWriter:
    """papermill I/O handler: the executed notebook is scrubbed and redacted in memory, then written.

    papermill saves the executed notebook itself (also the notebook of a failed run, before it raises);
    through this handler nothing it writes reaches the disk before :func:`_scrub` and
    :func:`cxlib.privacy.redact_notebook` have run on it.
    """

    def read(self, path: str) -> str:
        raise NotImplementedError("cx-clean:// paths are written only")

    def listdir(self, path: str) -> list[str]:
        raise NotImplementedError("cx-clean:// paths are written only")

    def write(self, buf: str, path: str) -> None:
        target = path[len(CLEAN_SCHEME):]
        clean = _CLEANERS[target]
        nbformat.write(clean(nbformat.reads(buf, as_version=4)), target)

    def pretty_path(self, path: str) -> str:
        return path[len(CLEAN_SCHEME):]


def _clean_path(output: Path, clean: Callable[[nbformat.NotebookNode], nbformat.NotebookNode]) -> str:
    """Register ``clean`` for ``output`` and return the papermill path that writes through it."""
    from papermill.iorw import papermill_io

    with _CLEAN_LOCK:
        if not _REGISTERED:  # once per process, on first use (nothing happens at import)
            papermill_io.register(CLEAN_SCHEME, _CleanWriter())
            _REGISTERED.append(True)
        _CLEANERS[str(output)] = clean
    return CLEAN_SCHEME + str(output)


def _redact_text(redactor: Redactor | None, text: str) -> str:
    return text if redactor is None or not text else redactor.redact(text).text


def execute_notebook(spec: NotebookSpec, parameters: Mapping[str, Any], *, output: Path, cwd: Path,
                     kernel: str = KERNEL_NAME, progress: Progress | None = None,
                     cancel: threading.Event | None = None, timeout: int | None = None,
                     kernels: KernelRegistry | None = None,
                     paths: Mapping[str, str] | None = None, redactor: Redactor | None = None) -> NotebookRun:
    """Execute one notebook with papermill into ``output``; never raises for a notebook error.

    Returns a :class:`NotebookRun` whose ``message`` names the notebook, the
    failing cell (0-based index in the source notebook, label or first line)
    and the exception.  ``KeyboardInterrupt`` propagates.

    ``paths`` maps build folders to their final place (see :func:`_scrub`), so
    the published notebook names where its findings really are.

    ``redactor`` (:class:`cxlib.privacy.Redactor`, built from the data's customers by the runner)
    redacts every text output before the notebook is written, and the error of a failed cell before
    it is reported: no personal data reaches the executed notebook, ``_failed/`` or the log.

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
    redacted = dict.fromkeys(REDACTION_KINDS, 0)

    def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
        nb = _scrub(nb, name, paths)
        if redactor is not None:
            for kind, n in redact_notebook(nb, redactor).items():
                redacted[kind] += n
        return nb

    try:
        extra = {"kernel_manager_class": kernels.manager_class()} if kernels is not None else {}
        # sorted: the injected cell must not depend on the order a plan (or provenance.json) lists them in
        pm.execute_notebook(str(spec.path), _clean_path(output, clean), parameters=dict(sorted(parameters.items())),
                            kernel_name=kernel, progress_bar=False, log_output=False, request_save_on_cell_execute=False,
                            resources={"metadata": {"path": str(cwd)}}, on_cell_start=on_cell_start,
                            on_notebook_start=on_notebook_start, execution_timeout=timeout, **extra)
    except PapermillExecutionError as err:
        seconds = time.perf_counter() - t0
        index = _source_index(output, err.cell_index)
        label = _redact_text(redactor, cell_label(err.source or ""))  # a cell's first line may quote data too
        evalue = _redact_text(redactor, str(err.evalue))
        msg = (f"Notebook {name!r} failed in cell {index} ({label!r}) with {err.ename}: {evalue} "
               f"[after {seconds:.1f} s; executed notebook kept]")
        progress(f"[{name}] FAILED in cell {index} ({label}): {err.ename}: {evalue}")
        return NotebookRun(name, "failed", seconds, output if output.exists() else None, index, label,
                           str(err.ename), evalue, msg)
    except _Cancelled:
        raise KeyboardInterrupt(f"run interrupted while executing {name}") from None
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # kernel died, bad notebook file, ...: still a notebook failure
        seconds = time.perf_counter() - t0
        text = _redact_text(redactor, str(exc))
        msg = f"Notebook {name!r} could not be executed: {type(exc).__name__}: {text}"
        progress(f"[{name}] FAILED: {type(exc).__name__}: {text}")
        return NotebookRun(name, "failed", seconds, output if output.exists() else None, None, "",
                           type(exc).__name__, text, msg)
    finally:
        with _CLEAN_LOCK:
            _CLEANERS.pop(str(output), None)
    seconds = time.perf_counter() - t0
    if sum(redacted.values()):
        progress(f"[{name}] redacted {sum(redacted.values())} personal item(s) from the outputs ("
                 + ", ".join(f"{n} {k}" for k, n in redacted.items() if n) + ")")
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


def schedule(plan: Plan, run_one: Callable[[NotebookSpec], NotebookRun], jobs: int,
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
