"""Incremental report runs: reuse a notebook's executed outputs when nothing it depends on changed.

A notebook's **cache key** is the sha256 of these components (:func:`components`):

``code``
    the sources of its code cells, in order (markdown and raw cells are narrative: not in the key);
``parameters``
    the parameters the runner passes to it, ``data_dir`` and the published ``findings_*`` paths included;
``data``
    the content hash of each data table it reads (:func:`tables_read` finds them in the code, or the
    plan declares them with ``reads:``); a notebook that cannot be analysed depends on every file;
``cxlib``
    the hash of the cxlib package's source files (:func:`source_hash`);
``environment``
    Python and every installed distribution's version, and a keyed fingerprint of the pseudonym
    secret (:func:`environment_fingerprint`);
``upstream``
    the findings sidecars of the notebooks it depends on (the executive summary reads them);
``kernel``
    the Jupyter kernel's name.

On a hit the cached executed notebook is **spliced** with the current source (:func:`splice`):
code cells keep their cached outputs, markdown and raw cells come from the current notebook, so an
edit of the narrative shows up without recomputation.  Entries live in
``<cache>/<notebook>/<key>/`` (and the summary of a passed data validation, keyed by the hash of
every data file, cxlib and the environment, in ``<cache>/_validation/<key>/``) and are written
into a temporary folder renamed into place, so an
interrupted run never leaves a half-written entry; anything that fails to read back is a miss.
"""
from __future__ import annotations

import ast
import copy
import hashlib
import hmac
import importlib.metadata
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from .._fs import replace_folder
from ..data.mapping import MAPPING_FILE
from ..errors import CxError
from .execution import NotebookRun, Progress
from .plan import READS_ALL, NotebookSpec, parse_python
from .provenance import validation_records

__all__ = ["CACHE_SCHEMA", "CacheEntry", "CacheError", "NotebookCache", "cache_components", "cache_key",
           "components", "environment_fingerprint", "explain", "findings_digest", "notebook_code", "notebook_reads",
           "run_cached", "source_hash", "splice", "table_digests", "tables_read", "validate_data"]

#: Bumped when the key or the entry layout changes: older entries are then simply never hit.
CACHE_SCHEMA = 1
#: A notebook whose data use cannot be analysed reads every file of the data folder.
ALL_FILES = "*"
#: Folders of the package that only the renderer reads (a template change must not rerun the analyses).
RENDER_ONLY = ("report/templates", "report/filters")
#: Folder of the stored data-validation summaries (notebook names cannot start with "_").
VALIDATION = "_validation"
_PSEUDONYM_ENV = "CX_PSEUDONYM_KEY"
_LOADERS = {"load"}  # cxlib.data.load(data_dir, tables=[...])


class CacheError(CxError):
    """A cache entry does not fit the notebook it should stand for (treated as a miss by the runner)."""


# --------------------------------------------------------------------------- what a notebook depends on

def _tags(cell: Mapping[str, Any]) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def notebook_code(nb: nbformat.NotebookNode) -> list[str]:
    """The sources of a notebook's code cells, in order (the part of a notebook that computes).

    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Title"),
    ...                                      nbformat.v4.new_code_cell("x = 1")])
    >>> notebook_code(nb)
    ['x = 1']
    """
    return [c.source for c in nb.cells if c.cell_type == "code" and "injected-parameters" not in _tags(c)]


def _parse(source: str) -> ast.Module | None:
    """Parse a cell, IPython magics and shell lines blanked out; ``None`` when it is not Python."""
    lines = ["" if ln.lstrip().startswith(("%", "!")) else ln for ln in source.splitlines()]
    try:
        return parse_python("\n".join(lines))
    except SyntaxError:
        return None


def _str_list(node: ast.expr) -> list[str] | None:
    if isinstance(node, (ast.List, ast.Tuple)) and all(
            isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
        return [e.value for e in node.elts]
    return None


def _func_name(call: ast.Call) -> str:
    f = call.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""


def _use(node: ast.Name, parents: Mapping[ast.AST, ast.AST], all_tables: Sequence[str]) -> set[str] | None:
    """The data names one read of ``data_dir`` touches, or ``None`` when the use is not understood."""
    call = parents.get(node)
    if not isinstance(call, ast.Call) or not call.args or call.args[0] is not node:
        return None
    name = _func_name(call)
    if name in _LOADERS and len(call.args) == 1:
        kw = {k.arg: k.value for k in call.keywords}
        if "tables" not in kw:
            return set(all_tables)
        tables = _str_list(kw["tables"])
        return None if tables is None else set(tables)
    if name == "Path" and len(call.args) == 1:  # Path(data_dir) / "file.parquet"
        div = parents.get(call)
        if (isinstance(div, ast.BinOp) and isinstance(div.op, ast.Div) and div.left is call
                and isinstance(div.right, ast.Constant) and isinstance(div.right.value, str)):
            return {div.right.value}
        return None
    if name == "join" and len(call.args) == 2:  # os.path.join(data_dir, "file.parquet")
        arg = call.args[1]
        return {arg.value} if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else None
    return None


def tables_read(sources: Iterable[str], *, all_tables: Sequence[str], parameter: str = "data_dir"
                ) -> frozenset[str] | None:
    """The data tables (or files) a notebook's code reads through ``parameter``; ``None``: cannot tell.

    Understood reads are ``data.load(data_dir)`` (every table of ``all_tables``),
    ``data.load(data_dir, tables=[...literal names...])``, ``Path(data_dir) / "file"`` and
    ``os.path.join(data_dir, "file")``.  Any other use of the name (passing it to another
    function, an f-string, assigning it again) makes the answer ``None``, and the caller then
    treats the notebook as reading every file: a guess never narrows what invalidates it.

    >>> sorted(tables_read(['ds = data.load(data_dir, tables=["customers", "events"])'], all_tables=["x"]))
    ['customers', 'events']
    >>> sorted(tables_read(['ds = data.load(data_dir)', 'f = Path(data_dir) / "truth.json"'], all_tables=["a", "b"]))
    ['a', 'b', 'truth.json']
    >>> tables_read(['load_all(data_dir)'], all_tables=["a"]) is None
    True
    """
    found: set[str] = set()
    for source in sources:
        if parameter not in source:
            continue
        tree = _parse(source)
        if tree is None:
            return None
        parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id == parameter:
                if not isinstance(node.ctx, ast.Load):
                    return None  # data_dir rebound: later reads could point anywhere
                use = _use(node, parents, all_tables)
                if use is None:
                    return None
                found |= use
            elif isinstance(node, ast.arg) and node.arg == parameter:
                return None  # a function taking data_dir: its body's reads are not followed
    return frozenset(found)


def _matches(relpath: str, name: str) -> bool:
    return relpath in (name, f"{name}.parquet", f"{name}.csv") or relpath.startswith(f"{name}/")


def table_digests(file_hashes: Mapping[str, str], reads: Iterable[str] | None) -> dict[str, str]:
    """One digest per data name read: the hash of every file holding it (``"absent"`` when none).

    ``file_hashes`` maps paths relative to the data folder to their sha256
    (:func:`cxlib.report.provenance.file_hashes`); a table ``t`` is held by
    ``t.parquet``, ``t.csv`` or the files under ``t/``.  ``reads=None`` gives one
    digest, ``"*"``, over every file.

    >>> table_digests({"a.csv": "1", "b/p0.parquet": "2", "c.parquet": "3"}, ["b", "z"])["z"]
    'absent'
    """
    if reads is None:
        return {ALL_FILES: _digest(sorted(file_hashes.items()))}
    out = {}
    for name in sorted(set(reads)):
        held = sorted((p, h) for p, h in file_hashes.items() if _matches(p, name))
        out[name] = _digest(held) if held else "absent"
    return out


def findings_digest(findings_dir: Path, notebook: str) -> str:
    """Hash of every sidecar a notebook wrote (``<notebook>.json`` and ``<notebook>.*``); ``"absent"`` if none."""
    files = sidecars(findings_dir, notebook)
    if not files:
        return "absent"
    return _digest([(f.name, hashlib.sha256(f.read_bytes()).hexdigest()) for f in files])


def sidecars(findings_dir: Path, notebook: str) -> list[Path]:
    """The files a notebook wrote beside its findings (``<notebook>.json``, ``<notebook>.trends.csv``, ...)."""
    if not findings_dir.is_dir():
        return []
    return sorted(p for p in findings_dir.iterdir() if p.is_file() and p.name.startswith(f"{notebook}."))


def source_hash(package_dir: str | Path, *, skip: Sequence[str] = RENDER_ONLY) -> str:
    """sha256 over every source file of a package (path and bytes), caches and render-only folders skipped.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()); _ = (d / "m.py").write_text("x = 1\\n")
    >>> h = source_hash(d); _ = (d / "m.py").write_text("x = 2\\n"); h == source_hash(d)
    False
    """
    package_dir = Path(package_dir)
    h = hashlib.sha256()
    for path in sorted(package_dir.rglob("*")):
        rel = path.relative_to(package_dir).as_posix()
        if (not path.is_file() or "__pycache__" in path.parts or path.suffix in (".pyc", ".pyo")
                or any(rel.startswith(f"{s}/") for s in skip)):
            continue
        h.update(rel.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def environment_fingerprint() -> str:
    """What else changes results: Python, every installed distribution and version, the pseudonym secret.

    The secret enters only as ``HMAC(secret, "cx-report-cache")`` (pseudonymized outputs change with it;
    the cache must not keep it).
    """
    dists = sorted({(d.metadata["Name"] or "").lower(): d.version for d in importlib.metadata.distributions()
                    if d.metadata["Name"]}.items())
    secret = os.environ.get(_PSEUDONYM_ENV, "")
    key = hmac.new(secret.encode(), b"cx-report-cache", hashlib.sha256).hexdigest()[:16] if secret else "unset"
    return _digest([("python", sys.version), ("distributions", dists), ("pseudonym_key", key)])


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def components(*, code: Sequence[str], parameters: Mapping[str, Any], data: Mapping[str, str], cxlib: str,
               environment: str, upstream: Mapping[str, str], kernel: str) -> dict[str, Any]:
    """Everything a notebook's result depends on, as a JSON-able dict (see the module docstring)."""
    return {"schema": CACHE_SCHEMA, "code": _digest(list(code)),
            "parameters": json.loads(json.dumps(dict(parameters), sort_keys=True, default=str)),
            "data": dict(sorted(data.items())), "cxlib": cxlib, "environment": environment,
            "upstream": dict(sorted(upstream.items())), "kernel": kernel}


def cache_key(parts: Mapping[str, Any]) -> str:
    """The key of a components dict: sha256 of its canonical JSON."""
    return _digest(parts)


def explain(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> str:
    """Why ``new`` misses: what differs from the last stored components, in words.

    >>> explain({"code": "1", "data": {"events": "a"}}, {"code": "1", "data": {"events": "b"}})
    "data table 'events' changed"
    >>> explain(None, {"code": "1"})
    'no earlier result'
    """
    if old is None:
        return "no earlier result"
    reasons = []
    for part in new:
        a, b = old.get(part), new[part]
        if a == b:
            continue
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            what = {"data": "data table", "parameters": "parameter", "upstream": "findings of"}.get(part, part)
            reasons += [f"{what} {name!r} changed" for name in sorted(set(a) | set(b)) if a.get(name) != b.get(name)]
        else:
            reasons.append({"code": "code cells changed", "cxlib": "cxlib source changed",
                            "environment": "installed packages changed", "schema": "cache format changed",
                            "kernel": "kernel changed"}.get(part, f"{part} changed"))
    return ", ".join(reasons) or "entry unreadable"


# --------------------------------------------------------------------------- splicing

def splice(executed: nbformat.NotebookNode, source: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The executed notebook re-dressed with the current source's narrative.

    Code cells take the executed outputs and execution counts (their sources must be
    identical, which the cache key guarantees); markdown and raw cells, cell metadata and
    the notebook's own metadata come from ``source``, with papermill's additions (the
    injected-parameters cell after the ``parameters`` cell, cell status, ``papermill``
    and ``language_info`` metadata) taken from ``executed``.

    Raises
    ------
    CacheError
        The code cells of the two notebooks differ.
    """
    done = [c for c in executed.cells if c.cell_type == "code" and "injected-parameters" not in _tags(c)]
    injected = [c for c in executed.cells if "injected-parameters" in _tags(c)]
    if [c.source for c in done] != notebook_code(source):
        raise CacheError("The cached notebook's code cells differ from the current notebook's; it cannot "
                         "stand for it (the entry is ignored and the notebook is executed).")
    status = next((copy.deepcopy(c.metadata["papermill"]) for c in executed.cells if "papermill" in c.metadata), None)
    outputs = iter(done)
    cells = [] if not injected or any("parameters" in _tags(c) for c in source.cells) else [injected[0]]
    for cell in source.cells:
        new = copy.deepcopy(cell)
        new.metadata.setdefault("tags", [])
        if cell.cell_type == "code":
            ran = next(outputs)
            new.outputs, new.execution_count = copy.deepcopy(ran.outputs), ran.execution_count
            if "papermill" in ran.metadata:
                new.metadata["papermill"] = copy.deepcopy(ran.metadata["papermill"])
        elif status is not None:
            new.metadata["papermill"] = copy.deepcopy(status)
        cells.append(new)
        if injected and "parameters" in _tags(cell):
            cells.append(copy.deepcopy(injected[0]))
    out = copy.deepcopy(executed)
    out.metadata = copy.deepcopy(source.metadata)
    for key in ("papermill", "language_info", "kernelspec"):
        if key in executed.metadata:
            out.metadata[key] = copy.deepcopy(executed.metadata[key])
    out.cells = cells
    return out


# --------------------------------------------------------------------------- the store

@dataclass(frozen=True)
class CacheEntry:
    """One stored result: the executed notebook, the sidecars it wrote, and how long it took to compute."""

    folder: Path
    key: str
    seconds: float

    @property
    def notebook(self) -> Path:
        return self.folder / "notebook.ipynb"

    @property
    def sidecars(self) -> list[Path]:
        files = self.folder / "findings"
        return sorted(files.iterdir()) if files.is_dir() else []


_KEY = re.compile(r"^[0-9a-f]{64}$")


def _backup(tmp: Path) -> Path:
    """Where replacing an entry parks the one it replaces: a ``.tmp-*`` name, so :meth:`NotebookCache.clean`
    removes it if the process dies between the two renames (the entry is then a miss, never half an entry)."""
    return tmp.with_name(f"{tmp.name}-old")


class NotebookCache:
    """Executed notebooks stored by cache key under ``folder`` (``<folder>/<notebook>/<key>/``).

    Parameters
    ----------
    folder : path
        Where the entries live; the runner uses ``<reports>/_cache`` (git-ignored).
    reuse : bool
        False recomputes every notebook but still stores the fresh results (``cx report --no-cache``).
    keep : int
        Entries kept per notebook (the newest); older ones are removed after each store.
    code_version, environment : str, optional
        Override :func:`source_hash` of cxlib and :func:`environment_fingerprint` (computed once
        per cache otherwise).
    """

    def __init__(self, folder: str | Path, *, reuse: bool = True, keep: int = 3, code_version: str | None = None,
                 environment: str | None = None) -> None:
        if keep < 1:
            raise CacheError(f"keep={keep!r}: expected at least 1 entry per notebook.")
        self.folder = Path(folder)
        self.reuse = reuse
        self.keep = keep
        self._code_version = code_version
        self._environment = environment

    @property
    def code_version(self) -> str:
        if self._code_version is None:
            self._code_version = source_hash(Path(__file__).resolve().parents[1])
        return self._code_version

    @property
    def environment(self) -> str:
        if self._environment is None:
            self._environment = environment_fingerprint()
        return self._environment

    def _dir(self, notebook: str, key: str) -> Path:
        return self.folder / notebook / key

    def lookup(self, notebook: str, parts: Mapping[str, Any]) -> CacheEntry | None:
        """The entry stored for exactly these components, or ``None`` (also when ``reuse`` is off)."""
        if not self.reuse:
            return None
        key = cache_key(parts)
        folder = self._dir(notebook, key)
        try:
            meta = json.loads((folder / "entry.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if meta.get("key") != key or meta.get("components") != json.loads(json.dumps(parts, default=str)) \
                or not (folder / "notebook.ipynb").is_file():
            return None
        return CacheEntry(folder, key, float(meta.get("seconds", 0.0)))

    def last_components(self, notebook: str) -> dict[str, Any] | None:
        """The components of the newest entry of ``notebook`` (for :func:`explain`), or ``None``."""
        entries = self._entries(notebook)
        if not entries:
            return None
        try:
            return json.loads((entries[-1] / "entry.json").read_text(encoding="utf-8"))["components"]
        except (OSError, ValueError, KeyError):
            return None

    def _entries(self, notebook: str) -> list[Path]:
        base = self.folder / notebook
        if not base.is_dir():
            return []
        found = [p for p in base.iterdir() if _KEY.match(p.name) and (p / "entry.json").is_file()]
        return sorted(found, key=lambda p: ((p / "entry.json").stat().st_mtime_ns, p.name))

    def store(self, notebook: str, parts: Mapping[str, Any], executed: Path, files: Sequence[Path],
              seconds: float) -> CacheEntry:
        """Store an executed notebook and its sidecars atomically; return the entry.

        Written into a temporary folder beside the entries, then renamed into place:
        a crash leaves either no entry or a complete one.  Raises ``OSError`` (full
        disk, permissions); the runner reports it and goes on without caching.
        """
        key = cache_key(parts)
        base = self.folder / notebook
        base.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=base))
        try:
            shutil.copyfile(executed, tmp / "notebook.ipynb")
            if files:
                (tmp / "findings").mkdir()
                for f in files:
                    shutil.copyfile(f, tmp / "findings" / f.name)
            meta = {"key": key, "notebook": notebook, "seconds": round(float(seconds), 3),
                    "stored_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "components": json.loads(json.dumps(parts, default=str))}
            (tmp / "entry.json").write_text(json.dumps(meta, indent=1, sort_keys=True), encoding="utf-8")
            target = replace_folder(tmp, self._dir(notebook, key), backup=_backup(tmp))
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self.prune(notebook)
        return CacheEntry(target, key, float(seconds))

    def prune(self, notebook: str) -> list[Path]:
        """Remove all but the ``keep`` newest entries of ``notebook``; return what was removed."""
        old = self._entries(notebook)[:-self.keep]
        for folder in old:
            shutil.rmtree(folder, ignore_errors=True)
        return old

    def clean(self) -> list[Path]:
        """Remove temporary folders left by interrupted stores (call while holding the run lock)."""
        if not self.folder.is_dir():
            return []
        stale = sorted(self.folder.glob("*/.tmp-*"))
        for folder in stale:
            shutil.rmtree(folder, ignore_errors=True)
        return stale

    def validation(self, parts: Mapping[str, Any]) -> list[dict[str, Any]] | None:
        """The data-validation summary stored for these components (data hashes, cxlib, loader), or ``None``."""
        if not self.reuse:
            return None
        try:
            meta = json.loads((self._dir(VALIDATION, cache_key(parts)) / "entry.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        records = meta.get("validation")
        return records if meta.get("components") == json.loads(json.dumps(parts, default=str)) and isinstance(
            records, list) else None

    def store_validation(self, parts: Mapping[str, Any], records: list[dict[str, Any]]) -> None:
        """Store the summary of a *passed* data validation (atomically; raises ``OSError`` like :meth:`store`)."""
        key = cache_key(parts)
        base = self.folder / VALIDATION
        base.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=base))
        try:
            meta = {"key": key, "components": json.loads(json.dumps(parts, default=str)), "validation": records}
            (tmp / "entry.json").write_text(json.dumps(meta, indent=1, sort_keys=True), encoding="utf-8")
            replace_folder(tmp, self._dir(VALIDATION, key), backup=_backup(tmp))
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self.prune(VALIDATION)

    def drop(self, entry: CacheEntry) -> None:
        """Forget an entry that could not be used (unreadable, or not fitting its notebook)."""
        shutil.rmtree(entry.folder, ignore_errors=True)


# --------------------------------------------------------------------------- what the runner asks

def _qualname(func: Callable[..., Any]) -> str:
    kind = func if hasattr(func, "__qualname__") else type(func)
    return f"{kind.__module__}.{kind.__qualname__}"


def validate_data(data_loader: Callable[[str], Any] | None, data_dir: str, data_hashes: Mapping[str, str], *,
                  cache: NotebookCache | None = None, progress: Callable[[str], None] | None = None
                  ) -> list[dict[str, Any]] | None:
    """Validate the data folder with ``data_loader`` (raising on bad data); its summary as records.

    With a cache, a validation that passed on byte-identical files with the same cxlib,
    environment and loader is not repeated (the data are read in full to validate them).
    """
    if data_loader is None:
        return None
    say = progress or (lambda m: None)
    parts = {"data": dict(data_hashes), "cxlib": cache.code_version, "environment": cache.environment,
             "loader": _qualname(data_loader)} if cache is not None else {}
    if cache is not None and (records := cache.validation(parts)) is not None:
        say("data validation cached (files unchanged since it passed)")
        return records
    records = validation_records(data_loader(data_dir).validation)
    if cache is not None:
        try:
            cache.store_validation(parts, records)
        except OSError as exc:
            say(f"data validation not stored in the run cache ({exc})")
    return records


def notebook_reads(spec: NotebookSpec, source: nbformat.NotebookNode) -> frozenset[str] | None:
    """The data names a notebook reads: the plan's ``reads``, else detected in its code; ``None``: every file."""
    if spec.reads is not None:
        return None if READS_ALL in spec.reads else frozenset(spec.reads)
    from ..schema import TABLES

    code = [c.source for c in source.cells if c.cell_type == "code"
            and "parameters" not in c.get("metadata", {}).get("tags", [])]
    return tables_read(code, all_tables=list(TABLES))


def cache_components(spec: NotebookSpec, parameters: Mapping[str, Any], *, cache: NotebookCache,
                     data_hashes: Mapping[str, str], findings_dir: Path, paths: Mapping[str, str],
                     kernel: str) -> dict[str, Any]:
    """The cache components of one notebook about to run (see :mod:`cxlib.report.cache`).

    Build paths in the parameters are replaced by their published place (as in the
    executed notebook); upstream findings are those its ``depends_on`` notebooks wrote.
    """
    source = nbformat.read(spec.path, as_version=4)

    def moved(value: Any) -> Any:
        if isinstance(value, str):
            for old, new in paths.items():
                value = value.replace(old, new)
        return value

    return components(
        code=notebook_code(source), parameters={k: moved(v) for k, v in parameters.items()},
        # with a cx.yml mapping, tables live in files of any name (and the mapping itself changes what is read):
        # such a notebook depends on every file of the data folder
        data=table_digests(data_hashes, None if MAPPING_FILE in data_hashes else notebook_reads(spec, source)),
        cxlib=cache.code_version,
        environment=cache.environment, upstream={d: findings_digest(findings_dir, d) for d in spec.depends_on},
        kernel=kernel)


def run_cached(spec: NotebookSpec, parts: Mapping[str, Any], *, cache: NotebookCache, output: Path,
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
            spliced = splice(executed, source)
            output.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(spliced, output)
            findings_dir.mkdir(parents=True, exist_ok=True)
            for file in entry.sidecars:
                shutil.copyfile(file, findings_dir / file.name)
        except Exception as exc:  # noqa: BLE001 - an unusable entry is a miss, never a failed run or half a restore
            progress(f"[{spec.name}] cache entry unusable ({type(exc).__name__}: {exc}); executing")
            cache.drop(entry)
            output.unlink(missing_ok=True)
            for file in sidecars(findings_dir, spec.name):
                file.unlink()
        else:
            progress(f"[{spec.name}] cached (saved {entry.seconds:.1f} s)")
            return NotebookRun(spec.name, "ok", time.perf_counter() - t0, output, cached=True,
                               saved_seconds=entry.seconds)
    elif cache.reuse:
        progress(f"[{spec.name}] not cached: {explain(cache.last_components(spec.name), parts)}")
    run = execute()
    if run.status == "ok":
        try:
            cache.store(spec.name, parts, output, sidecars(findings_dir, spec.name), run.seconds)
        except OSError as exc:
            progress(f"[{spec.name}] result not stored in the run cache ({exc}); the report is not affected")
    return run
