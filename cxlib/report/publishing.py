"""Build folders and publishing: a run builds in ``<out>/_build/run/`` and swaps the result into ``<out>/_output``.

The reports folder ``<out>`` holds

``_build/``
    the build folder of the current run (``run/``) and its lock file (``.lock``, the runner's pid);
    what an interrupted run leaves there is removed by the next run (:func:`clean_stale_builds`);
``_output/``
    the last good report, replaced in one atomic step by :func:`publish`
    (:func:`cxlib._fs.replace_folder`), so a failed or interrupted run never replaces it;
``_failed/``
    the executed notebooks of the last failed run (:func:`keep_failed`);
``<output>.html``, ``<output>.pdf``
    stable links into ``_output``.
"""
from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from .._fs import replace_folder
from ..errors import CxError, NotebookExecutionError

if TYPE_CHECKING:
    from .execution import NotebookRun

__all__ = ["acquire_lock", "clean_stale_builds", "clear_failed", "keep_failed", "publish", "release_lock",
           "write_failure"]

#: Where :func:`publish` parks the previous ``_output`` inside the build folder when it needs two renames.
PREVIOUS = "previous"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def acquire_lock(build_root: Path) -> Path:
    """Create ``<build_root>/.lock`` holding this process's pid; refuse while another live run holds it."""
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
        for previous in sorted(build_root.glob(f"*/{PREVIOUS}")):
            os.replace(previous, published)
            break
    for child in sorted(build_root.iterdir()):
        if child.name == ".lock":
            continue
        shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
        removed.append(child)
    return removed


def release_lock(lock: Path) -> None:
    """Remove the lock file of :func:`acquire_lock` if this process still holds it."""
    if lock.exists() and lock.read_text().strip() == str(os.getpid()):
        lock.unlink()


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
    ``_output`` ends up in ``staged``'s place and is then deleted; without
    ``renameat2`` it is parked in ``_build/<run>/previous`` between two renames,
    where :func:`clean_stale_builds` finds it if the process died in between
    (:func:`cxlib._fs.replace_folder`).  Stable links ``<out>/<output>.html``
    and ``<out>/<output>.pdf`` point into ``_output``, so they always show one
    consistent report.
    """
    staged, out_dir = Path(staged), Path(out_dir)
    target = replace_folder(staged, out_dir / "_output", backup=staged.parent / PREVIOUS)
    for ext in ("html", "pdf"):
        if (target / f"{output}.{ext}").exists():
            _replace_link(out_dir / f"{output}.{ext}", f"_output/{output}.{ext}")
    return target


def clear_failed(out_dir: Path) -> Path:
    """Remove the failed notebooks of an earlier run (``<out>/_failed``); return that folder's path."""
    failed_dir = out_dir / "_failed"
    shutil.rmtree(failed_dir, ignore_errors=True)
    return failed_dir


def keep_failed(runs: Iterable[NotebookRun], failed_dir: Path) -> Path:
    """Copy the executed notebook of every failed run into ``failed_dir`` (created); return it."""
    failed_dir.mkdir(parents=True, exist_ok=True)
    for r in runs:
        if r.status == "failed" and r.output is not None and r.output.exists():
            shutil.copy2(r.output, failed_dir / r.output.name)
    return failed_dir


def write_failure(exc: OSError, out_dir: Path, *, published: bool = False) -> CxError:
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

