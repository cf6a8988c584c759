"""Execute a report plan with papermill, then render and publish it atomically.

What :func:`run_plan` does, in order:

1. validates every parameter of the plan against the notebooks' ``parameters``
   cells (:func:`cxlib.report.plan.validate_plan`) and, by default, the input
   data against the data contract, before anything executes, and decides which
   sections the data support (:func:`cxlib.report.coverage.plan_coverage`, the
   decision ``cx validate`` prints): a skipped section's notebook is not executed
   but keeps its place with a stand-in chapter, and a box at the top of the report
   lists the skipped and partial sections;
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

The steps live in their own modules, tied together here:
:mod:`cxlib.report.kernels` (the kernel spec, the kernels of a run, memory),
:mod:`cxlib.report.execution` (papermill, progress, parallel scheduling),
:mod:`cxlib.report.cache` (the run cache) and :mod:`cxlib.report.publishing`
(build folders, the lock, ``_failed``, the atomic swap into ``_output``).
Their public names are importable from here as well.
"""
from __future__ import annotations

import datetime as _dt
import os
import shutil
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import nbformat
import pandas as pd

from ..errors import NotebookExecutionError, ParameterError, check_choice
from ..escape import escape_markdown
from ..privacy import DEMO_ENV, PSEUDONYM_ENV, Redactor, pseudonym_key
from . import cache as nbcache
from . import provenance as prov
from .cache import run_cached
from .execution import RUN_COLUMNS, NotebookRun, Progress, cell_label, execute_notebook, print_progress, schedule
from .execution import _scrub  # noqa: F401 - re-exported: tests reach it as runner._scrub
from .kernels import KERNEL_DISPLAY, KERNEL_NAME, KernelRegistry, ensure_kernel, release_memory
from .coverage import COVERAGE_STEM, coverage_notebook, plan_coverage, skipped_notebook
from .plan import NotebookSpec, Plan, project_root, validate_plan
from .publishing import (acquire_lock, clean_stale_builds, clear_failed, keep_failed, publish, release_lock,
                         remove_empty_dirs, write_failure)

__all__ = ["KERNEL_NAME", "KernelRegistry", "NotebookRun", "RunResult", "ensure_kernel", "execute_notebook", "run_plan",
           "publish", "clean_stale_builds", "cell_label", "print_progress", "RUN_COLUMNS", "run_cached",
           "KERNEL_DISPLAY", "Progress", "release_memory", "reproduce_plan", "run_single"]

Renderer = Callable[..., Any]


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


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


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
    demo = check_pseudonym_secret(data_dir)  # real data without CX_PSEUDONYM_KEY stop here, before anything runs
    redactor = data_redactor(data_dir)
    say = redacting(say, redactor)  # the log never shows personal data either
    data_hashes = prov.file_hashes(data_dir)  # once: for the cache keys and for provenance
    validation = nbcache.validate_data(data_loader, data_dir, data_hashes, cache=cache, progress=say)
    sections = plan_coverage(plan, resolved)  # the one decision, as `cx validate` prints it
    release_memory()  # the validated frames are gone; give their memory back before the kernels start
    ensure_kernel(kernel, install=install_kernel)
    out_dir = Path(out_dir).resolve() if out_dir is not None else project_root() / "reports"
    jobs = max(1, int(jobs or os.cpu_count() or 1))
    build_root = out_dir / "_build"
    lock = acquire_lock(build_root, progress=say)
    try:
        for stale in clean_stale_builds(out_dir):
            say(f"removed stale build folder {stale}")
        build = build_root / "run"
        staged = build / "report"
        (staged / "notebooks").mkdir(parents=True)
        (staged / "findings").mkdir()
        failed_dir = clear_failed(out_dir)
        kernel_env = {DEMO_ENV: "1" if demo else "0"}  # pseudonyms in the kernels: demo key only on demo data
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
            if spec.name in sections and sections[spec.name].status == "skipped":  # no data for it: a stand-in
                cov = sections[spec.name]
                return skip_section(spec, cov.reason, output, say, label=cov.title, section=cov.section)

            def execute() -> NotebookRun:
                return execute_notebook(spec, params, output=output, cwd=plan.notebooks_dir, kernel=kernel,
                                        progress=say, cancel=cancel, timeout=timeout, kernels=kernels, paths=paths,
                                        redactor=redactor)

            if cache is None:
                return too_little_data(spec, execute(), say)
            parts = nbcache.cache_components(spec, params, cache=cache, data_hashes=data_hashes,
                                     findings_dir=staged / "findings", paths=paths, kernel=kernel)
            keys[spec.name] = nbcache.cache_key(parts)
            return too_little_data(spec, run_cached(spec, parts, cache=cache, output=output,
                                                    findings_dir=staged / "findings", execute=execute,
                                                    progress=say), say)

        say(f"running {len(plan.notebooks)} notebook(s) on {jobs} job(s)")
        results = schedule(plan, run_one, jobs, cancel, kernels)
        runs = tuple(results[n] for n in plan.names)
        timings = {r.notebook: r.seconds for r in runs}
        if any(r.status != "ok" for r in runs):
            keep_failed(runs, failed_dir)
            shutil.rmtree(build, ignore_errors=True)
            seconds = time.perf_counter() - t_start
            kept = f"failed notebooks in {failed_dir}" if failed_dir.is_dir() else "no executed notebook to keep"
            say(f"run FAILED after {seconds:.1f} s; nothing published ({kept})")
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
            # the renderer about to be used, so that the appendix names it (render_report makes the same choice)
            prov.set_renderer(record, engine)  # tools and run.engine: the renderer with its versions
            appendix = staged / "notebooks" / "zz_provenance.ipynb"
            nbformat.write(prov.appendix_notebook(record), appendix)
            say("rendering HTML and PDF")
            t_render = time.perf_counter()
            render = renderer or _default_renderer()
            top = coverage_notebook(sections)  # the box of skipped and partial sections, first
            if top is not None:
                nbformat.write(top, staged / "notebooks" / f"{COVERAGE_STEM}.ipynb")
            chapters = ([staged / "notebooks" / f"{COVERAGE_STEM}.ipynb"] if top is not None else []) + [
                r.output for r in runs] + [appendix]
            # the plan's title is text, not markup: escaped for the Markdown metadata both engines read
            rendered = render(chapters, build / "render", title=escape_markdown(plan.title),
                              subtitle=escape_markdown(plan.subtitle), engine=engine, progress=say)
            timings["render"] = time.perf_counter() - t_render
            say(f"rendered ({rendered.engine}) in {timings['render']:.1f} s")
            os.replace(rendered.html, staged / f"{plan.output}.html")
            os.replace(rendered.pdf, staged / f"{plan.output}.pdf")
            if getattr(rendered, "notebook", None) is not None:  # for `cd reports && quarto render` (index.ipynb)
                os.replace(rendered.notebook, staged / f"{plan.output}.ipynb")
            timings["total"] = time.perf_counter() - t_start
            record["run"].update(finished_at=_now(), status="success", engine=str(rendered.engine),
                                 wall_seconds={k: round(v, 3) for k, v in timings.items()})
            prov.write(staged / "provenance.json", record)
            remove_empty_dirs(staged / "findings")  # no notebook recorded findings: no empty folder published
            target = publish(staged, out_dir, output=plan.output)
        except OSError as exc:  # full disk, quota, permissions: a clear error, the last good report untouched
            raise write_failure(exc, out_dir, published=not staged.exists()) from exc
        shutil.rmtree(build, ignore_errors=True)
        seconds = time.perf_counter() - t_start
        hits = [r for r in runs if r.cached]
        saved = f" ({len(hits)} notebook(s) from the cache saved {sum(r.saved_seconds for r in hits):.1f} s)" \
            if hits else ""
        say(f"published {target / (plan.output + '.html')} and .pdf in {seconds:.1f} s{saved}")
        return RunResult("ok", runs, seconds, target, target / f"{plan.output}.html",
                         target / f"{plan.output}.pdf", target / "provenance.json", str(rendered.engine))
    finally:
        release_lock(lock)  # removes the lock file, and _build when nothing is left in it


def check_pseudonym_secret(data_dir: str | Path) -> bool:
    """Stop a run on real data without the pseudonym secret; return whether the data are the synthetic demo.

    The demo is a folder written by ``cx synth`` (:func:`cxlib.synth.writer.looks_like_synth_output`)
    or data declared synthetic with ``CX_DEMO_DATA=1``; only there may pseudonyms use the marked demo key.

    Raises
    ------
    PseudonymKeyError
        ``CX_PSEUDONYM_KEY`` is unset and the data are not the demo; the message says how to set it.
    """
    from ..synth.writer import looks_like_synth_output

    folder = Path(data_dir)
    demo = (folder.is_dir() and looks_like_synth_output(folder)) or os.environ.get(DEMO_ENV, "") == "1"
    if not demo and not os.environ.get(PSEUDONYM_ENV):
        pseudonym_key(demo=False)  # raises PseudonymKeyError with the how-to
    return demo


def data_redactor(data_dir: str | Path) -> Redactor:
    """The safety-net redactor of a run: the data's customer ids and full names, plus the pattern rules.

    Its :meth:`~cxlib.privacy.Redactor.strict` profile (names only as full names) runs over every output
    and log line; the notebooks redact their free text with the full redactor themselves.  Without a
    customers table (or with one that does not load) only the pattern rules apply.
    """
    from ..data import load
    from ..errors import CxError

    try:
        customers = load(data_dir, tables=["customers"]).customers
    except (CxError, OSError):
        return Redactor.from_names()
    return Redactor.from_customers(customers).strict()


def redacting(progress: Progress, redactor: Redactor) -> Progress:
    """``progress`` behind the redactor: a log line never shows personal data (an error quoting a comment)."""
    return lambda message: progress(redactor.redact(message).text)


def skip_section(spec: NotebookSpec, reason: str, output: Path, say: Progress, *, label: str | None = None,
                 section: str | None = None) -> NotebookRun:
    """Write the stand-in chapter of a section the data cannot support (:func:`skipped_notebook`)."""
    nbformat.write(skipped_notebook(spec.path, reason, label=label, section=section), output)
    say(f"[{spec.name}] skipped: {reason}")
    return NotebookRun(spec.name, "ok", 0.0, output=output, message=f"section skipped: {reason}",
                       skipped_section=reason)


def too_little_data(spec: NotebookSpec, run: NotebookRun, say: Progress) -> NotebookRun:
    """A notebook that stopped with :class:`~cxlib.errors.InsufficientDataError` becomes a skipped section.

    Its chapter is replaced by the stand-in of :func:`skip_section`, with the error's message (written for
    readers) as the reason; any other failure is returned unchanged.
    """
    if run.status != "failed" or run.ename != "InsufficientDataError" or run.output is None:
        return run
    return replace(skip_section(spec, run.evalue.strip().rstrip("."), run.output, say), seconds=run.seconds)


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
    """Execute one notebook (``cx run``) into ``out_dir`` with its findings beside it; nothing is rendered.

    As in :func:`run_plan`: real data need the pseudonym secret, and the outputs are redacted before the
    notebook is written.
    """
    ensure_kernel(kernel)
    out_dir = Path(out_dir).resolve()
    params = dict(parameters)
    decl = set(_declared(spec))
    if "findings_path" in decl:
        params["findings_path"] = str(out_dir / "findings" / f"{spec.name}.json")
    if "findings_dir" in decl:
        params["findings_dir"] = str(out_dir / "findings")
    data_dir = params.get("data_dir")
    demo = check_pseudonym_secret(data_dir) if data_dir else os.environ.get(DEMO_ENV, "") == "1"
    redactor = data_redactor(data_dir) if data_dir else Redactor.from_names()
    return execute_notebook(spec, params, output=out_dir / f"{spec.name}.ipynb", cwd=cwd, kernel=kernel,
                            progress=redacting(progress or (lambda m: None), redactor), timeout=timeout,
                            kernels=KernelRegistry(env={DEMO_ENV: "1" if demo else "0"}), redactor=redactor)
