"""Build folders and publishing: a run builds in ``<out>/_build/run/`` and swaps the result into ``<out>/_output``.

The reports folder ``<out>`` holds

``_build/``
    the build folder of the current run (``run/``) and its lock file (``.lock``: an exclusive
    ``flock``, the runner's pid inside); removed when the run ends, and what a killed run leaves
    there is removed by the next run (:func:`clean_stale_builds`), which reports the stale lock;
``_output/``
    the last good report, replaced in one atomic step by :func:`publish`
    (:func:`cxlib._fs.replace_folder`), so a failed or interrupted run never replaces it;
``_failed/``
    the executed notebooks of the last failed run (:func:`keep_failed`);
``<output>.html``, ``<output>.pdf``
    stable links into ``_output``;
``index.ipynb``
    a stable link to ``_output/<output>.ipynb``, the report's notebook prepared for Quarto:
    ``quarto render`` or ``quarto preview`` in ``<out>`` (beside ``_quarto.yml``) renders it
    into ``<out>/_quarto_render/index.html`` and ``index.pdf``.  Its name differs from the
    published links on purpose: Quarto first writes ``<name>.html`` beside its input.
"""
from __future__ import annotations

import errno
import fcntl
import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from .._fs import replace_folder
from ..errors import CxError, NotebookExecutionError

if TYPE_CHECKING:
    from .execution import NotebookRun

__all__ = ["acquire_lock", "clean_stale_builds", "clear_failed", "keep_failed", "publish", "release_lock",
           "remove_empty_dirs", "write_failure", "LOCK_NAME"]

#: Extensions of the published files that get a stable link beside ``_output``.
LINKED = ("html", "pdf")
#: Name of the link to the report's Quarto-ready notebook (``quarto render`` in the reports folder).
QUARTO_INDEX = "index.ipynb"
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


#: Name of the lock file in ``<out>/_build``: it holds the pid of the run that holds the lock.
LOCK_NAME = ".lock"
_HELD: dict[Path, int] = {}  # lock path -> open descriptor holding the flock, in this process


def _read_pid(fd: int) -> int:
    os.lseek(fd, 0, os.SEEK_SET)
    text = os.read(fd, 64).decode("ascii", "replace").strip()
    return int(text) if text.isdigit() else 0


def acquire_lock(build_root: Path, *, progress: Callable[[str], None] | None = None) -> Path:
    """Take the report lock ``<build_root>/.lock`` atomically; refuse while another live run holds it.

    The lock is an exclusive ``flock`` on the lock file (taken and checked in one system call, so two
    runs starting together cannot both get it); the file holds the holder's pid.  The kernel drops
    the ``flock`` when its process dies, so a lock left by a killed run is taken over: that stale
    lock (the file still naming a process that is gone) is reported through ``progress``.  A file
    naming a live process that is not ours is refused, as a lock of an older cxlib would be.

    Raises
    ------
    NotebookExecutionError
        Another run holds the lock (its pid is named).
    """
    build_root.mkdir(parents=True, exist_ok=True)
    lock = build_root / LOCK_NAME
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except FileNotFoundError:  # a finishing run removed the empty build folder just now
            build_root.mkdir(parents=True, exist_ok=True)
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _read_pid(fd)
            os.close(fd)
            raise NotebookExecutionError(f"Another `cx report` (pid {pid or 'unknown'}) is building into "
                                         f"{build_root}; wait for it to finish.") from None
        try:
            same = os.fstat(fd).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if not same:  # the previous holder released (removed) the file between our open and our lock: again
            os.close(fd)
            continue
        pid = _read_pid(fd)
        if pid and pid != os.getpid() and _pid_alive(pid):
            os.close(fd)  # a lock file of a live process that does not use flock (an older cxlib)
            raise NotebookExecutionError(f"Another `cx report` (pid {pid}) is building into {build_root}; "
                                         "wait for it, or remove the stale lock file if that process is gone.")
        if pid and pid != os.getpid() and progress is not None:
            progress(f"stale report lock {lock} of process {pid}, which is gone (an interrupted run): taken over")
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        _HELD[lock] = fd
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
    """Release the lock of :func:`acquire_lock`: remove its file, then drop the ``flock``; no-op if not held.

    The build folder ``<out>/_build`` is removed too when nothing is left in it (no empty leftovers).
    """
    fd = _HELD.pop(lock, None)
    if fd is None:
        return
    try:
        lock.unlink(missing_ok=True)  # first: a run waiting on this file sees it gone and opens a fresh one
    finally:
        os.close(fd)
    remove_empty_dirs(lock.parent)


def remove_empty_dirs(folder: Path) -> None:
    """Remove ``folder`` and its sub-folders that hold no file (deepest first); folders with files stay."""
    folder = Path(folder)
    if not folder.is_dir() or folder.is_symlink():
        return
    for sub in sorted((p for p in folder.rglob("*") if p.is_dir() and not p.is_symlink()),
                      key=lambda p: len(p.parts), reverse=True):
        try:
            sub.rmdir()
        except OSError:
            pass  # not empty
    try:
        folder.rmdir()
    except OSError:
        pass


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
    (:func:`cxlib._fs.replace_folder`).  Stable links ``<out>/<output>.html``,
    ``<out>/<output>.pdf`` and ``<out>/index.ipynb`` (to ``<output>.ipynb``, when rendered)
    point into ``_output``, so they always show one consistent report.
    """
    staged, out_dir = Path(staged), Path(out_dir)
    target = replace_folder(staged, out_dir / "_output", backup=staged.parent / PREVIOUS)
    for ext in LINKED:
        if (target / f"{output}.{ext}").exists():
            _replace_link(out_dir / f"{output}.{ext}", f"_output/{output}.{ext}")
    if (target / f"{output}.ipynb").exists() and output != Path(QUARTO_INDEX).stem:
        _replace_link(out_dir / QUARTO_INDEX, f"_output/{output}.ipynb")  # (an output named "index" gets none)
    return target


def clear_failed(out_dir: Path) -> Path:
    """Remove the failed notebooks of an earlier run (``<out>/_failed``); return that folder's path."""
    failed_dir = out_dir / "_failed"
    shutil.rmtree(failed_dir, ignore_errors=True)
    return failed_dir


def keep_failed(runs: Iterable[NotebookRun], failed_dir: Path) -> Path:
    """Copy the executed notebook of every failed run into ``failed_dir``; return it.

    The folder is created only when there is a notebook to keep (a notebook whose kernel died before
    it was written leaves none): no empty ``_failed/``.
    """
    for r in runs:
        if r.status == "failed" and r.output is not None and r.output.exists():
            failed_dir.mkdir(parents=True, exist_ok=True)
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

