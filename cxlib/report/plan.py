"""The report plan: which notebooks run, in which order, with which parameters.

A plan is a small YAML file under ``reports/`` (the default is
``reports/plan.yml``)::

    title: CX quarterly review
    subtitle: Synthetic retail data
    output: cx-quarterly-review        # file stem of the published HTML and PDF
    notebooks_dir: notebooks            # relative to the project root
    parameters:                         # global: passed to every notebook that declares them
      period: "2025Q4"
      comparison_period: "2025Q3"
      alpha: 0.05
      seed: 20261123
      segment_columns: [loyalty_tier, region]
    notebooks:                          # in report order
      - notebook: 99_executive_summary.ipynb
        depends_on: all                 # runs after every other notebook
      - notebook: 10_metrics.ipynb
        parameters: {n_boot: 2000}      # per notebook: must be declared by it
        reads: [survey_responses]       # optional: the data tables it reads (for the run cache)

Every notebook declares its parameters, with defaults, in the code cell tagged
``parameters``.  :func:`validate_plan` reads those declarations (by parsing
the cell with :mod:`ast`, so nothing is executed) and checks every value of
the plan against them *before any notebook runs*: unknown names, wrong types
(compared with the type of the default; an int is accepted for a float), a
missing value, and bad values (``period`` not like ``2025Q4``, ``alpha``
outside (0, 0.5), a data folder that does not exist) raise one
:class:`~cxlib.errors.ParameterError` naming the notebook, the parameter, what
was expected and what was found.

The runner injects three parameters itself and a plan may not set them:
``data_dir`` (absolute path of the data folder, from ``--data`` or the plan's
``data_dir``), ``findings_path`` (the notebook's sidecar
``<build>/findings/<notebook-stem>.json``) and ``findings_dir`` (the folder of
all sidecars, for the executive summary).

``reads`` (optional) names the data tables (or files of the data folder) a
notebook reads, for the run cache (:mod:`cxlib.report.cache`): a change of any
other table does not rerun it.  Without it the runner finds the reads in the
notebook's code (``data.load(data_dir, tables=[...])``), and ``reads: all``
makes the notebook depend on every file of the data folder.
"""
from __future__ import annotations

import ast
import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import nbformat
import yaml

from .._deprecation import warn_deprecated
from ..errors import ParameterError
from ..periods import is_period_label

__all__ = ["NotebookSpec", "Plan", "declared_parameters", "load_plan", "plan_from_dict", "validate_plan",
           "validate_value", "resolve_notebook", "READS_ALL", "RESERVED", "REQUIRED_GLOBALS", "PERIOD_PATTERN",
           "project_root"]

#: Parameters the runner injects; a plan may not set them.
RESERVED = ("findings_path", "findings_dir")
#: Global parameters every plan must give (``data_dir`` may come from ``--data`` instead).
REQUIRED_GLOBALS = ("data_dir", "period", "comparison_period", "alpha", "seed")
#: A quarter such as ``2025Q4`` (kept for compatibility; plans are checked with
#: :func:`cxlib.periods.is_period_label`, the one period parser).
PERIOD_PATTERN = re.compile(r"^(19|20)\d{2}Q[1-4]$")
_PLAN_KEYS = {"title", "subtitle", "output", "notebooks_dir", "parameters", "notebooks"}
_ENTRY_KEYS = {"notebook", "parameters", "depends_on", "reads"}
#: ``reads: all``: the notebook depends on every file of the data folder.
READS_ALL = "*"
_STEM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def project_root() -> Path:
    """The project's root folder, found from cxlib's own location (never from the cwd).

    The root is the first parent of the ``cxlib`` package that holds a
    ``pyproject.toml`` naming the project ``cxlib``.

    >>> (project_root() / "cxlib" / "report" / "plan.py").is_file()
    True
    """
    here = Path(__file__).resolve()
    for parent in here.parents:
        marker = parent / "pyproject.toml"
        if marker.is_file() and 'name = "cxlib"' in marker.read_text(encoding="utf-8"):
            return parent
    raise ParameterError(f"Cannot find the project root above {here}: no pyproject.toml naming 'cxlib'. "
                         "Run from a source checkout installed with `pip install -e .`.")


_AST_LOCK = threading.Lock()


def parse_python(source: str) -> ast.Module:
    """``ast.parse`` behind one process-wide lock.

    CPython 3.11 keeps the AST converter's recursion counter in interpreter-wide state, so two
    threads parsing at once can fail with ``SystemError: AST constructor recursion depth mismatch``
    (CPython gh-106905; seen in our CI on 3.11.7). The report runner schedules notebooks on threads, so every
    parse in :mod:`cxlib.report` goes through here. Raises ``SyntaxError`` like ``ast.parse``.
    """
    with _AST_LOCK:
        return ast.parse(source)


@dataclass(frozen=True)
class NotebookSpec:
    """One notebook of the plan: its file, its own parameters, what it waits for and what data it reads.

    ``reads`` is ``None`` when the plan does not say (the runner detects the reads),
    else the table or file names, ``("*",)`` for every file of the data folder.
    """

    name: str
    path: Path
    parameters: Mapping[str, Any] = field(default_factory=dict)
    depends_on: tuple[str, ...] = ()
    reads: tuple[str, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {"notebook": self.path.name, "parameters": dict(self.parameters), "depends_on": list(self.depends_on)}
        if self.reads is not None:
            out["reads"] = "all" if self.reads == (READS_ALL,) else list(self.reads)
        return out


@dataclass(frozen=True)
class Plan:
    """A parsed report plan (see the module docstring for the YAML form).

    ``notebooks`` are in report order; ``depends_on`` gives the execution order.
    ``parameters`` are the global parameters, ``data_dir`` included once known.
    """

    title: str
    notebooks: tuple[NotebookSpec, ...]
    parameters: Mapping[str, Any]
    notebooks_dir: Path
    subtitle: str = ""
    output: str = "cx-quarterly-review"
    source: Path | None = None

    def notebook(self, name: str) -> NotebookSpec:
        for spec in self.notebooks:
            if spec.name == name:
                return spec
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.notebooks]

    def to_dict(self) -> dict[str, Any]:
        """A plain, JSON-able form that :func:`plan_from_dict` reads back (used by provenance)."""
        return {"title": self.title, "subtitle": self.subtitle, "output": self.output,
                "notebooks_dir": str(self.notebooks_dir), "parameters": _jsonable(dict(self.parameters)),
                "notebooks": [_jsonable(s.to_dict()) for s in self.notebooks]}


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _resolve(path: str | Path, base: Path) -> Path:
    p = Path(path).expanduser()
    return (p if p.is_absolute() else base / p).resolve()


def plan_from_dict(raw: Mapping[str, Any], *, base: Path | None = None, data_dir: str | Path | None = None,
                   source: Path | None = None) -> Plan:
    """Build a :class:`Plan` from its mapping form (the parsed YAML).

    Relative ``notebooks_dir`` and ``data_dir`` in the mapping are resolved
    against ``base`` (the project root by default); a ``data_dir`` argument
    (from ``--data``, relative to the cwd) overrides the plan's.
    """
    if not isinstance(raw, Mapping):
        raise ParameterError(f"A report plan must be a mapping; found {type(raw).__name__}.")
    unknown = sorted(set(raw) - _PLAN_KEYS)
    if unknown:
        raise ParameterError(f"Unknown key(s) {unknown} in the report plan; expected some of {sorted(_PLAN_KEYS)}.")
    base = project_root() if base is None else Path(base)
    if not isinstance(raw.get("parameters") or {}, Mapping):
        raise ParameterError("The plan's 'parameters' must be a mapping of global parameters.")
    params = _renamed_parameters(dict(raw.get("parameters") or {}), "the plan's global parameters")
    for name in RESERVED:
        if name in params:
            raise ParameterError(f"Global parameter {name!r} is set by the runner; remove it from the plan.")
    if data_dir is not None:
        params["data_dir"] = str(Path(data_dir).expanduser().resolve())
    elif params.get("data_dir") not in (None, ""):
        params["data_dir"] = str(_resolve(params["data_dir"], base))
    nb_dir = _resolve(raw.get("notebooks_dir") or "notebooks", base)
    entries = raw.get("notebooks")
    if not entries or not isinstance(entries, list):
        raise ParameterError("The plan lists no notebooks; expected a list under 'notebooks'.")
    specs = [_entry(e, nb_dir) for e in entries]
    names = [s.name for s in specs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ParameterError(f"Notebook(s) {dupes} are listed twice in the plan.")
    specs = [_resolve_deps(s, names) for s in specs]
    _check_acyclic(specs)
    output = str(raw.get("output") or "cx-quarterly-review")
    if not _STEM.match(output):
        raise ParameterError(f"output={output!r} must be a plain file stem such as 'cx-quarterly-review'.")
    return Plan(title=str(raw.get("title") or "CX quarterly review"), subtitle=str(raw.get("subtitle") or ""),
                output=output, notebooks_dir=nb_dir, parameters=MappingProxyType(params),
                notebooks=tuple(specs), source=source)


#: Plan parameters renamed in this release: old name -> new name (the old one warns and still works).
RENAMED_PARAMETERS = {"inactivity_gap": "journey_gap"}


def _renamed_parameters(params: dict[str, Any], where: str) -> dict[str, Any]:
    """``params`` with the old names of :data:`RENAMED_PARAMETERS` moved to their new names (with a warning)."""
    for old, new in RENAMED_PARAMETERS.items():
        if old in params:
            if new in params:
                raise ParameterError(f"{where}: both {old!r} and its new name {new!r} are set; keep {new!r}.")
            warn_deprecated(f"Plan parameter {old!r} ({where})", f"{new!r}")
            params[new] = params.pop(old)
    return params


def _entry(entry: Any, nb_dir: Path) -> NotebookSpec:
    if isinstance(entry, str):
        entry = {"notebook": entry}
    if not isinstance(entry, Mapping) or "notebook" not in entry:
        raise ParameterError(f"Each plan entry needs a 'notebook' file name; found {entry!r}.")
    unknown = sorted(set(entry) - _ENTRY_KEYS)
    if unknown:
        raise ParameterError(f"Notebook {entry['notebook']!r}: unknown key(s) {unknown}; "
                             f"expected some of {sorted(_ENTRY_KEYS)}.")
    path = _resolve(str(entry["notebook"]), nb_dir)
    if path.suffix != ".ipynb":
        path = path.with_suffix(".ipynb")
    params = entry.get("parameters") or {}
    if not isinstance(params, Mapping):
        raise ParameterError(f"Notebook {path.stem!r}: 'parameters' must be a mapping; found {params!r}.")
    params = _renamed_parameters(dict(params), f"notebook {path.stem!r}")
    deps = entry.get("depends_on") or ()
    deps = (deps,) if isinstance(deps, str) else tuple(str(d) for d in deps)
    return NotebookSpec(name=path.stem, path=path, parameters=MappingProxyType(dict(params)), depends_on=deps,
                        reads=_reads(path.stem, entry.get("reads")))


def _reads(notebook: str, value: Any) -> tuple[str, ...] | None:
    """The ``reads`` of a plan entry: ``None`` (detect), ``("*",)`` (``all``) or relative names."""
    if value is None:
        return None
    if value == "all":
        return (READS_ALL,)
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise ParameterError(f"Notebook {notebook!r}: 'reads' must be 'all' or a list of table names "
                             f"(e.g. [customers, events]); found {value!r}.")
    for name in names:
        if Path(name).is_absolute() or ".." in Path(name).parts or name == READS_ALL:
            raise ParameterError(f"Notebook {notebook!r}: 'reads' entry {name!r} must name a table or a file "
                                 "inside the data folder (no absolute path, no '..').")
    return tuple(sorted(set(names)))


def _resolve_deps(spec: NotebookSpec, names: list[str]) -> NotebookSpec:
    deps: list[str] = []
    for dep in spec.depends_on:
        if dep == "all":
            deps += [n for n in names if n != spec.name]
            continue
        dep = Path(dep).stem
        if dep not in names:
            raise ParameterError(f"Notebook {spec.name!r} depends on {dep!r}, which is not in the plan "
                                 f"(plan notebooks: {names}).")
        deps.append(dep)
    return NotebookSpec(spec.name, spec.path, spec.parameters, tuple(dict.fromkeys(deps)), spec.reads)


def _check_acyclic(specs: list[NotebookSpec]) -> None:
    deps = {s.name: set(s.depends_on) for s in specs}
    done: set[str] = set()
    while len(done) < len(deps):
        ready = [n for n, d in deps.items() if n not in done and d <= done]
        if not ready:
            cycle = sorted(set(deps) - done)
            raise ParameterError(f"The plan's dependencies form a cycle among {cycle}; "
                                 "only the executive summary should depend on others ('depends_on: all').")
        done.update(ready)


def load_plan(path: str | Path, *, data_dir: str | Path | None = None, base: Path | None = None) -> Plan:
    """Read a YAML report plan; ``data_dir`` (e.g. from ``--data``) overrides the plan's.

    Raises
    ------
    ParameterError
        The file is missing, is not valid YAML, or its structure is wrong.
        Parameter values are checked later, by :func:`validate_plan`.
    """
    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise ParameterError(f"Report plan {str(path)!r} not found; pass an existing YAML file to --params.")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ParameterError(f"Report plan {str(path)!r} is not valid YAML: {exc}") from exc
    return plan_from_dict(raw, base=base, data_dir=data_dir, source=path)


def declared_parameters(notebook: str | Path) -> dict[str, Any]:
    """The parameters a notebook declares, with their defaults, read from its ``parameters`` cell.

    The cell is parsed, never executed: each top-level assignment ``name = <literal>``
    (annotated or not) declares one parameter whose default is the literal.

    Raises
    ------
    ParameterError
        The notebook is missing, has no cell tagged ``parameters``, or a default
        is not a Python literal.
    """
    notebook = Path(notebook)
    if not notebook.is_file():
        raise ParameterError(f"Notebook {notebook.stem!r}: file {str(notebook)!r} not found.")
    nb = nbformat.read(notebook, as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code" and "parameters" in c.get("metadata", {}).get("tags", [])]
    if not cells:
        raise ParameterError(f"Notebook {notebook.stem!r} has no code cell tagged 'parameters'; "
                             "add one with the notebook's defaults.")
    try:
        tree = parse_python(cells[0].source)
    except SyntaxError as exc:
        raise ParameterError(f"Notebook {notebook.stem!r}: its parameters cell is not valid Python ({exc}).") from exc
    out: dict[str, Any] = {}
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, ast.AnnAssign) and node.value is not None else []
        for target in targets:
            if not isinstance(target, ast.Name):
                continue
            try:
                out[target.id] = ast.literal_eval(node.value)
            except ValueError as exc:
                raise ParameterError(f"Notebook {notebook.stem!r}: the default of {target.id!r} is not a literal "
                                     f"({ast.unparse(node.value)}); parameters must be plain values.") from exc
    return out


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def validate_value(notebook: str, name: str, value: Any, default: Any) -> Any:
    """Check one parameter value against its declared default and its own rules; return it.

    >>> validate_value("10_metrics", "alpha", 0.1, 0.05)
    0.1
    >>> validate_value("10_metrics", "alpha", 1, 0.05)
    Traceback (most recent call last):
    ...
    cxlib.errors.ParameterError: Notebook '10_metrics', parameter 'alpha': expected a number in (0, 0.5); found 1.
    """
    where = f"Notebook {notebook!r}, parameter {name!r}"
    if value is None or (isinstance(value, str) and value == "" and name in REQUIRED_GLOBALS):
        raise ParameterError(f"{where}: expected a value of type {_type_name(default)}; found a missing value "
                             "(null or empty) in the plan.")
    if default is not None:
        ok = isinstance(value, type(default))
        if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
            ok = True
        if isinstance(default, int) and not isinstance(default, bool) and isinstance(value, bool):
            ok = False
        if isinstance(default, (list, tuple)) and isinstance(value, (list, tuple)):
            ok = True
            kinds = {type(x) for x in default}
            if len(kinds) == 1 and not all(isinstance(x, next(iter(kinds))) for x in value):
                raise ParameterError(f"{where}: expected a list of {next(iter(kinds)).__name__}; found {value!r}.")
        if not ok:
            raise ParameterError(f"{where}: expected type {_type_name(default)} (like the default {default!r}); "
                                 f"found {_type_name(value)} {value!r}.")
    if name in ("period", "comparison_period") and not is_period_label(str(value), kind="quarter"):
        raise ParameterError(f"{where}: expected a quarter like '2025Q4'; found {value!r}.")
    if name == "alpha" and not 0 < float(value) < 0.5:
        raise ParameterError(f"{where}: expected a number in (0, 0.5); found {value!r}.")
    if name == "seed" and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
        raise ParameterError(f"{where}: expected a non-negative integer seed; found {value!r}.")
    if name == "data_dir" and not Path(str(value)).is_dir():
        raise ParameterError(f"{where}: expected an existing data folder; found {str(value)!r}, which does not "
                             "exist (generate it with `make data` or pass --data DIR).")
    return value


def validate_plan(plan: Plan) -> dict[str, dict[str, Any]]:
    """Check every parameter of ``plan`` against the notebooks' declarations; nothing is executed.

    Returns
    -------
    dict
        For each notebook (plan order), the parameters the runner will pass to it
        (global ones it declares, then its own), ``findings_*`` excluded.

    Raises
    ------
    ParameterError
        Naming the notebook, the parameter, the expected and the found value:
        a missing notebook or parameters cell; a per-notebook parameter the
        notebook does not declare; a global parameter no notebook declares;
        a required global (``data_dir``, ``period``, ``comparison_period``,
        ``alpha``, ``seed``) missing; a value of the wrong type or out of range.
    """
    missing = [g for g in REQUIRED_GLOBALS if g not in plan.parameters]
    if missing:
        what = "pass --data DIR" if missing == ["data_dir"] else "add it under 'parameters'"
        raise ParameterError(f"Report plan: global parameter(s) {missing} missing; expected a value ({what}).")
    declared = {spec.name: declared_parameters(spec.path) for spec in plan.notebooks}
    for name in plan.parameters:
        if not any(name in d for d in declared.values()):
            raise ParameterError(f"Report plan, global parameter {name!r}: unknown; no notebook declares it "
                                 f"(notebooks: {plan.names}).")
    return {spec.name: resolve_notebook(spec, plan.parameters, declared[spec.name]) for spec in plan.notebooks}


def resolve_notebook(spec: NotebookSpec, global_parameters: Mapping[str, Any],
                     declared: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Parameters for one notebook: the global ones it declares, then its own, each validated.

    Global parameters the notebook does not declare are left out (another
    notebook uses them); a per-notebook parameter it does not declare is an error.
    """
    decl = declared_parameters(spec.path) if declared is None else declared
    for reserved in RESERVED:
        if reserved in spec.parameters:
            raise ParameterError(f"Notebook {spec.name!r}, parameter {reserved!r}: set by the runner; "
                                 "remove it from the plan.")
    unknown = sorted(set(spec.parameters) - set(decl))
    if unknown:
        raise ParameterError(f"Notebook {spec.name!r}, parameter {unknown[0]!r}: unknown; expected one of the "
                             f"declared parameters {sorted(decl)}; found {unknown}.")
    values = {k: v for k, v in global_parameters.items() if k in decl}
    values.update(spec.parameters)
    for name, value in values.items():
        validate_value(spec.name, name, value, decl[name])
    return values
