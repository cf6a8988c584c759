"""The Jupyter kernel the report runs on: its spec, the kernels of one run, and memory before they start.

- :func:`ensure_kernel`: the kernel ``cxlib`` exists and runs the project's Python (installed if missing);
- :class:`KernelRegistry`: the kernels one run started, with the environment they get, so that an
  interrupted run can stop them at once;
- :func:`release_memory`: give freed memory back to the operating system before the kernels start.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import NotebookExecutionError
from .plan import project_root

__all__ = ["KERNEL_DISPLAY", "KERNEL_NAME", "KernelRegistry", "ensure_kernel", "release_memory"]

KERNEL_NAME = "cxlib"
KERNEL_DISPLAY = "Python (cxlib workbook)"


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
