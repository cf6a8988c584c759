"""Small file-system helpers shared by the modules that publish folders atomically.

:func:`replace_folder` is the one way cxlib puts a finished folder in place of an older one: the
report runner's ``_output``, a ``cx synth`` dataset, an entry of the run cache.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import sys
import tempfile
from pathlib import Path


def exchange_paths(a: Path, b: Path) -> bool:
    """Atomically swap two paths with Linux ``renameat2(RENAME_EXCHANGE)``; False where unsupported.

    Used to replace a published folder (the last good report, a synthetic dataset) in one step:
    readers see either the old or the new folder, never a mix or nothing.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def replace_folder(new: str | os.PathLike, target: str | os.PathLike, *,
                   backup: str | os.PathLike | None = None) -> Path:
    """Move the finished folder ``new`` to ``target``, replacing the previous ``target`` in one step.

    ``target`` always holds a complete folder, the previous one or ``new``, never a mix:

    * no ``target`` yet: one rename;
    * otherwise the two folders are swapped with :func:`exchange_paths` (one system call), and the
      previous folder, now at ``new``, is deleted;
    * where that is unsupported: two renames, ``target`` to ``backup`` and ``new`` to ``target``.
      If the second fails (full disk) or is interrupted (Ctrl-C), ``backup`` is renamed back to
      ``target`` before the exception propagates.  Only a process killed between the two renames
      leaves ``target`` missing with the previous folder at ``backup``: a caller that must recover
      from that passes a fixed ``backup`` and restores it on its next run (the report runner's
      ``_build/run/previous``, see :func:`cxlib.report.publishing.clean_stale_builds`).

    Parameters
    ----------
    new : path
        The finished folder; on the same file system as ``target`` (a sibling, or a build folder
        beside it), since a rename cannot cross file systems.
    target : path
        Where the folder ends up.
    backup : path, optional
        Where the two-rename fallback parks the previous folder; default a fresh hidden sibling
        ``.<target name>.old-XXXXXX``.  Deleted once ``new`` is in place.

    Returns
    -------
    Path
        ``target``.

    Raises
    ------
    OSError
        A rename failed; ``target`` then still holds the previous folder (or nothing, if it had none)
        and ``new`` is left where it was for the caller to remove.
    """
    new, target = Path(new), Path(target)
    if not target.exists():
        os.replace(new, target)
        return target
    if exchange_paths(new, target):  # ``new`` now holds the previous folder
        shutil.rmtree(new, ignore_errors=True)
        return target
    if backup is None:
        backup = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old-"))
        os.rmdir(backup)
    os.replace(target, backup)
    try:
        os.replace(new, target)
    except BaseException:
        os.replace(backup, target)
        raise
    shutil.rmtree(backup, ignore_errors=True)
    return target
