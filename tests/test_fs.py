"""Tests of cxlib._fs: swapping two paths, and replacing a folder so that the last good one is never lost."""
from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from cxlib import _fs


def make_folder(path: Path, **files: str) -> Path:
    path.mkdir(parents=True)
    for name, text in files.items():
        (path / name).write_text(text, encoding="utf-8")
    return path


def contents(path: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(path.iterdir())}


@pytest.fixture(params=[True, False], ids=["renameat2", "two-renames"])
def exchange(request, monkeypatch, tmp_path):
    """Run a test with the one-call swap, and again with it unavailable (the two-rename fallback)."""
    if not request.param:
        monkeypatch.setattr(_fs, "exchange_paths", lambda a, b: False)
    elif not _swap_works(tmp_path):
        pytest.skip("renameat2(RENAME_EXCHANGE) is not supported here")
    return request.param


def _swap_works(tmp: Path) -> bool:
    a, b = make_folder(tmp / "probe-a"), make_folder(tmp / "probe-b")
    ok = _fs.exchange_paths(a, b)
    a.rmdir()
    b.rmdir()
    return ok


def test_exchange_paths_swaps_two_folders(tmp_path):
    a = make_folder(tmp_path / "a", f="from a")
    b = make_folder(tmp_path / "b", f="from b")
    if not _fs.exchange_paths(a, b):
        pytest.skip("renameat2(RENAME_EXCHANGE) is not supported here")
    assert contents(a) == {"f": "from b"} and contents(b) == {"f": "from a"}


def test_replace_folder_replaces_an_existing_folder(tmp_path, exchange):
    target = make_folder(tmp_path / "out", old="1", both="old")
    new = make_folder(tmp_path / ".out.building", both="new", added="2")
    assert _fs.replace_folder(new, target) == target
    assert contents(target) == {"added": "2", "both": "new"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # the previous folder and ``new`` are gone


def test_replace_folder_creates_a_new_folder(tmp_path, exchange):
    new = make_folder(tmp_path / "build" / "report", f="new")
    target = tmp_path / "out"
    assert _fs.replace_folder(new, target) == target
    assert contents(target) == {"f": "new"} and not new.exists()


@pytest.mark.parametrize("fault", [OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)), KeyboardInterrupt()],
                         ids=["disk-full", "ctrl-c"])
def test_a_failed_second_rename_leaves_the_old_folder_intact(tmp_path, monkeypatch, fault):
    monkeypatch.setattr(_fs, "exchange_paths", lambda a, b: False)
    target = make_folder(tmp_path / "out", f="old")
    new = make_folder(tmp_path / ".out.building", f="new")
    real_replace, calls = os.replace, []

    def replace(src, dst):
        calls.append((Path(src).name, Path(dst).name))
        if Path(src) == new:
            raise fault  # moving the new folder into place fails
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(type(fault)):
        _fs.replace_folder(new, target)
    monkeypatch.undo()
    parked = calls[0][1]  # out -> .out.old-*, new -> out (fails), .out.old-* -> out
    assert parked.startswith(".out.old-") and calls == [("out", parked), (new.name, "out"), (parked, "out")]
    assert contents(target) == {"f": "old"}
    assert contents(new) == {"f": "new"}  # left for the caller to remove
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.building", "out"]  # no parked copy left behind


def test_a_process_killed_between_the_renames_leaves_the_old_folder_at_backup(tmp_path, monkeypatch):
    """The one window without ``target``: the previous folder waits at the caller's ``backup`` to be restored."""
    monkeypatch.setattr(_fs, "exchange_paths", lambda a, b: False)
    target = make_folder(tmp_path / "_output", f="old")
    new = make_folder(tmp_path / "_build" / "run" / "report", f="new")
    backup = new.parent / "previous"
    real_replace = os.replace

    def replace(src, dst):
        real_replace(src, dst)
        if Path(dst) == backup:
            raise SystemExit  # stands for SIGKILL right after the first rename

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(SystemExit):
        _fs.replace_folder(new, target, backup=backup)
    monkeypatch.undo()
    assert not target.exists() and contents(backup) == {"f": "old"} and contents(new) == {"f": "new"}
