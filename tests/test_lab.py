"""A real JupyterLab: the server starts on a loopback port, runs notebook cells on the project's kernel, shuts down.

This is what a researcher does after ``make lab``: open a notebook (its kernel "Python (cxlib workbook)" is
chosen by the notebook's metadata), run its cells and read the results. The cells run through the server's
REST API (contents, kernel specs, sessions) and the kernel's websocket channel, as the JupyterLab page does.
Skipped, with the reason, where JupyterLab (the ``lab`` extra) is not installed.
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"

needs_lab = pytest.mark.skipif(
    importlib.util.find_spec("jupyterlab") is None or importlib.util.find_spec("websocket") is None,
    reason="JupyterLab is not installed (the lab extra: `make lab` or `make setup` installs it)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A running Jupyter server: ``get``/``post``/``delete`` on its REST API, ``run`` code on a session's kernel."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url.rstrip("/"), token

    def request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.url}{path}", data=data, method=method,
                                     headers={"Authorization": f"token {self.token}",
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            text = resp.read().decode()
        return json.loads(text) if text else None

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def wait_ready(self, proc: subprocess.Popen, seconds: float = 120) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(f"the Jupyter server exited with status {proc.returncode}")
            try:
                self.get("/api/status")
                return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.5)
        raise AssertionError(f"the Jupyter server did not answer at {self.url} within {seconds:g} s")

    def run(self, kernel_id: str, codes: list[str], timeout: float = 300) -> list[dict[str, Any]]:
        """Execute each code on the kernel (websocket channel), in order; one record of outputs per code."""
        import websocket

        ws = websocket.create_connection(
            f"{self.url.replace('http', 'ws', 1)}/api/kernels/{kernel_id}/channels?token={self.token}", timeout=timeout)
        session, records = uuid.uuid4().hex, []
        try:
            for code in codes:
                msg_id = uuid.uuid4().hex
                ws.send(json.dumps({
                    "header": {"msg_id": msg_id, "username": "test", "session": session, "msg_type": "execute_request",
                               "version": "5.3", "date": ""},
                    "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
                    "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                                "allow_stdin": False, "stop_on_error": True}}))
                record: dict[str, Any] = {"stream": "", "data": [], "error": None, "status": None}
                idle = reply = False
                while not (idle and reply):
                    msg = json.loads(ws.recv())
                    if msg.get("parent_header", {}).get("msg_id") != msg_id:
                        continue
                    kind, content = msg["msg_type"], msg["content"]
                    if kind == "stream":
                        record["stream"] += content["text"]
                    elif kind in ("execute_result", "display_data"):
                        record["data"].append(content["data"])
                    elif kind == "error":
                        record["error"] = f"{content['ename']}: {content['evalue']}"
                    elif kind == "status" and content["execution_state"] == "idle":
                        idle = True
                    elif kind == "execute_reply":
                        record["status"], reply = content["status"], True
                records.append(record)
        finally:
            ws.close()
        return records


def start_server(tmp: Path) -> tuple[subprocess.Popen, Lab]:
    port, token = free_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"), "JUPYTER_CONFIG_DIR": str(tmp / "config"),
           "JUPYTER_DATA_DIR": str(tmp / "data"), "JUPYTER_TOKEN": token, "MPLBACKEND": "Agg"}
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           "--ServerApp.port_retries=0", f"--ServerApp.root_dir={NOTEBOOKS}"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    log = open(tmp / "server.log", "wb")  # noqa: SIM115 - closed with the server
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    lab = Lab(f"http://127.0.0.1:{port}", token)
    try:
        lab.wait_ready(proc)
    except AssertionError:
        stop_server(proc, lab)
        raise AssertionError((tmp / "server.log").read_text(errors="replace")[-3000:]) from None
    return proc, lab


def stop_server(proc: subprocess.Popen, lab: Lab) -> None:
    try:
        lab.request("POST", "/api/shutdown")  # shuts the kernels down too
        proc.wait(timeout=30)
    except (urllib.error.URLError, OSError, subprocess.TimeoutExpired):
        pass
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)  # the server we started, and only its process group
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Iterator[Lab]:
    proc, lab = start_server(tmp_path_factory.mktemp("lab"))
    yield lab
    stop_server(proc, lab)
    assert proc.poll() is not None


def code_cells(name: str) -> list[str]:
    nb = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


@needs_lab
def test_the_server_offers_the_project_kernel_and_the_notebooks(lab: Lab) -> None:
    specs = lab.get("/api/kernelspecs")["kernelspecs"]
    assert specs["cxlib"]["spec"]["display_name"] == "Python (cxlib workbook)"
    listing = {item["name"] for item in lab.get("/api/contents")["content"]}
    assert {"10_metrics.ipynb", "99_executive_summary.ipynb"} <= listing
    nb = lab.get("/api/contents/99_executive_summary.ipynb?content=1")["content"]
    assert nb["metadata"]["kernelspec"]["name"] == "cxlib"  # the kernel JupyterLab selects by itself


@needs_lab
def test_the_findings_notebook_run_alone_says_what_to_run_first_and_results_display_as_tables(lab, tmp_path) -> None:
    session = lab.request("POST", "/api/sessions", {"path": "99_executive_summary.ipynb", "type": "notebook",
                                                     "name": "99_executive_summary.ipynb", "kernel": {"name": "cxlib"}})
    try:
        assert session["kernel"]["name"] == "cxlib"
        parameters, *rest = code_cells("99_executive_summary.ipynb")
        empty = tmp_path / "findings"  # no report ran: no findings at all
        cells = [parameters, f"findings_dir = {str(empty)!r}", *rest,
                 "import sys, pandas as pd\nfrom cxlib.metrics import nps\nprint(sys.prefix)\n"
                 "nps(pd.DataFrame({'nps': [0, 6, 7, 9, 10, 10]}))"]
        records = lab.run(session["kernel"]["id"], cells)
        errors = [(i, r["error"]) for i, r in enumerate(records) if r["error"]]
        assert not errors, errors
        hint = records[2]["stream"]
        assert "No findings in" in hint and "10_metrics" in hint and "make report" in hint
        assert "60_segments" in hint and "99_executive_summary" not in hint
        *_, check = records
        assert check["stream"].strip() == sys.prefix  # the kernel runs the project's own Python
        result = check["data"][-1]
        assert "<b>MetricResult</b>" in result["text/html"] and "95% CI" in result["text/html"]
        assert result["text/plain"].startswith("MetricResult(metric='nps'") and len(result["text/plain"]) < 2000
    finally:
        lab.request("DELETE", f"/api/sessions/{session['id']}")
    assert session["kernel"]["id"] not in {k["id"] for k in lab.get("/api/kernels")}


needs_make_lab = pytest.mark.skipif(
    shutil.which("make") is None
    or subprocess.run(["make", "-q", ".venv/.installed", ".venv/.lab-installed"], cwd=ROOT,
                      capture_output=True).returncode != 0,
    reason="`make lab` has not been set up here (its stamp .venv/.lab-installed is missing or out of date); "
           "this check never installs anything")


@needs_lab
@needs_make_lab
def test_make_lab_prints_the_url_it_serves(tmp_path) -> None:
    port = free_port()
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), "JUPYTER_CONFIG_DIR": str(tmp_path)}
    proc = subprocess.Popen(["make", "--no-print-directory", "lab", f"LAB_PORT={port}", "LAB_ARGS=--no-browser",
                             "DATA=tests/data"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    lab = None
    try:
        for _ in range(20):
            line = proc.stdout.readline()
            if found := re.search(r"(http://127\.0\.0\.1:(\d+))/lab\?token=(\w+)", line):
                lab = Lab(found.group(1), found.group(3))
                break
        assert lab is not None and lab.url.endswith(f":{port}"), "make lab printed no URL"
        lab.wait_ready(proc)
        assert lab.get("/api/kernelspecs")["kernelspecs"]["cxlib"]
    finally:
        if lab is not None:
            stop_server(proc, lab)
        elif proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)


# -- the API a notebook discovers by tab completion ----------------------------------------------------------

def test_cxlib_load_and_packages_are_reached_from_import_cxlib_and_tab_completed() -> None:
    code = """
import sys, cxlib
light = "pandas" not in sys.modules  # `import cxlib` alone imports no package
from IPython.core.completer import provisionalcompleter
from IPython.testing.globalipapp import get_ipython
ip = get_ipython()
ip.user_ns["cxlib"] = cxlib
with provisionalcompleter():
    done = {t: [c.text for c in ip.Completer.completions(t, len(t))] for t in ("cxlib.me", "cxlib.lo", "cxlib.sur")}
print(light, cxlib.load is cxlib.data.load, cxlib.metrics.nps.__module__, done)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ("True True cxlib.metrics.survey {'cxlib.me': ['metrics'], 'cxlib.lo': ['load'], "
                           "'cxlib.sur': ['survival']}")


def test_an_unknown_cxlib_name_says_what_there_is() -> None:
    import cxlib

    with pytest.raises(AttributeError, match="has no attribute 'metrcs'; it has load, actions"):
        cxlib.metrcs  # noqa: B018
    assert {"load", "metrics", "journey", "clv"} <= set(dir(cxlib)) and "importlib" not in dir(cxlib)
