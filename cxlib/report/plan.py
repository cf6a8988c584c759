"""The report plan: which notebooks run, in which order, with which parameters.

A plan is a small YAML file under ``reports/`` (the default is
``reports/plan.yml``)::

    title: CX quarterly review
    subtitle: Synthetic retail data
    output: cx-quarterly-review        # file stem of the published HTML and PDF
    notebooks_dir: notebooks            # relative to the project root
    parameters:                         # global: passed to every notebook that declares them
      period: "2025Q4"                  # or "2025-11", "2025"; "auto": the last complete quarter in the data
      comparison_period: "2025Q3"       # "auto": the period before ``period`` (see periods_from_data)
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
missing value, and bad values (``period`` not a year, quarter or month such as ``2025Q4``, ``alpha``
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

**Confinement.** A plan runs only notebooks of its notebooks folder: an entry that resolves
elsewhere (``../x.ipynb``, an absolute path, a symlink out of the folder) is an error.  The
notebooks' own parameters are checked by value too (:func:`check_parameter`): day parameters
(``observation_end``...) must be dates in the plausible range (:func:`cxlib.schema.plausible_date_range`,
1990 to one year after today unless ``CX_DATE_RANGE`` says otherwise), counts positive, shares in
range, ``k_max`` from 2 to 30, choices among the values their module accepts, and a column whose
values the report prints (``segment_columns``...) never personal data.
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
from ..periods import Period, check_in_span, default_periods, is_period_label

__all__ = ["NotebookSpec", "Plan", "declared_parameters", "load_plan", "plan_from_dict", "validate_plan",
           "validate_value", "resolve_notebook", "READS_ALL", "RESERVED", "REQUIRED_GLOBALS", "PERIOD_PATTERN",
           "project_root", "check_parameter", "DATE_PARAMETERS", "COLUMN_PARAMETERS"]

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
    params = periods_from_data(params)
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


#: The plan value of ``period`` / ``comparison_period`` that takes them from the data.
PERIOD_FROM_DATA = "auto"
#: The kinds of report period a plan may give.
PERIOD_KINDS = ("year", "quarter", "month")


def periods_from_data(params: Mapping[str, Any]) -> dict[str, Any]:
    """The plan's global parameters with ``period`` and ``comparison_period`` taken from the data where asked.

    ``period: auto`` (or no ``period``) is the last complete quarter of the data folder (the last complete
    month when the data hold no two quarters; of the kind of an explicit ``comparison_period``),
    ``comparison_period: auto`` (or none) the period before ``period``
    (:func:`cxlib.periods.default_periods`, over :func:`cxlib.data.folder_span`). ``period`` must overlap the
    data's span; the comparison period may precede the data (a first report: the sections say there is
    nothing to compare with); both are of one kind. Without a data folder holding dated tables, the values
    are left as they are (:func:`validate_value` reports an ``auto`` that could not be resolved).

    Raises
    ------
    ParameterError
        A period outside the data's span (the message states the span), no complete period in the
        data, or a period and a comparison period of different kinds.
    """
    out = dict(params)
    auto = [k for k in ("period", "comparison_period") if out.get(k, PERIOD_FROM_DATA) == PERIOD_FROM_DATA]
    data_dir = out.get("data_dir")
    explicit = [str(out[k]) for k in ("period", "comparison_period") if k not in auto]
    if not data_dir or not Path(str(data_dir)).is_dir() or not all(
            any(is_period_label(v, kind=kind) for kind in PERIOD_KINDS) for v in explicit):
        return out  # validate_plan names the missing folder or the malformed period
    from ..data import folder_span

    span = folder_span(data_dir)
    if span is None:
        return out
    if "period" in auto:
        out["period"] = str(_default_period(span, None if "comparison_period" in auto
                                            else Period.parse(out["comparison_period"]).kind))
    period = check_in_span(out["period"], span, name="Report plan: period")
    if "comparison_period" in auto:
        out["comparison_period"] = str(period.previous())
    comparison = Period.parse(out["comparison_period"])  # may precede the data: the sections say there is nothing
    if comparison.kind != period.kind:
        raise ParameterError(f"Report plan: period {str(period)!r} is a {period.kind} but comparison_period "
                             f"{str(comparison)!r} is a {comparison.kind}; compare periods of one kind.")
    return out


def _default_period(span: tuple[Any, Any], kind: str | None) -> Period:
    """The last complete period of ``kind``; without a kind, the last complete quarter with one before it in the
    data, else the last complete month (data shorter than two quarters still get a report)."""
    if kind is not None:
        return default_periods(span, kind)[0]
    try:
        period, previous = default_periods(span, "quarter")
        if previous is not None:
            return period
    except ParameterError:
        pass
    try:
        return default_periods(span, "month")[0]
    except ParameterError:
        raise ParameterError(f"Report plan: period 'auto' finds no complete quarter or month in the data, which span "
                             f"{span[0]:%Y-%m-%d} to {span[1]:%Y-%m-%d}; give period and comparison_period "
                             "explicitly (a quarter '2025Q4', a month '2025-11' or a year '2025').") from None


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
    if not path.is_relative_to(nb_dir):  # "../x", an absolute path or a symlink out of the folder
        raise ParameterError(f"Notebook {str(entry['notebook'])!r} resolves to {path}, outside the plan's notebooks "
                             f"folder {nb_dir}; a plan runs only the notebooks of that folder: give a file name "
                             "such as '10_metrics.ipynb'.")
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
    if name in ("period", "comparison_period") and value == PERIOD_FROM_DATA:
        raise ParameterError(f"{where}: {PERIOD_FROM_DATA!r} takes the period from the data, but the data folder has "
                             "no table with dates; give a period such as '2025Q4', '2025-11' or '2025'.")
    if name in ("period", "comparison_period") and not any(is_period_label(str(value), kind=k) for k in PERIOD_KINDS):
        raise ParameterError(f"{where}: expected a period like '2025Q4' (quarter), '2025-11' (month) or '2025' "
                             f"(year), or {PERIOD_FROM_DATA!r} (from the data); found {value!r}.")
    if name == "alpha" and not 0 < float(value) < 0.5:
        raise ParameterError(f"{where}: expected a number in (0, 0.5); found {value!r}.")
    if name == "seed" and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
        raise ParameterError(f"{where}: expected a non-negative integer seed; found {value!r}.")
    check_parameter(where, name, value)
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


# ------------------------------------------------------------------------------------------------------------
# Value rules of the notebooks' own parameters, checked with the globals before any notebook runs
# ------------------------------------------------------------------------------------------------------------

#: Day parameters: empty (the notebook's default, e.g. the period's last day) or a date in the plausible range.
DATE_PARAMETERS = ("observation_end", "calibration_end", "start_date", "end_date", "pre_start", "program_start",
                   "post_end")
#: Parameters naming customer columns whose values the report prints: never personal data
#: (:func:`cxlib.privacy.is_personal_column`: the contract's personal columns and usual contact-column names).
COLUMN_PARAMETERS = ("segment_columns", "segment_column", "curve_segments", "cox_covariates", "alert_dimensions")
_COUNTS = ("n_boot", "n_sim", "n_topics", "n_quotes", "top_k", "top_n", "fdr_dashboards", "stability_seeds",
           "stability_bootstraps", "trend_quarters", "min_cell", "min_n", "at_risk_every_days", "rmst_tau_days")
_POSITIVE = ("sla_hours", "sla_minutes", "risk_horizon_days", "clv_horizon_weeks")
#: (low, high, low included, high included) of the shares and rates.
_SHARES = {"power": (0, 1, False, False), "save_rate": (0, 1, True, True), "recovery_rate": (0, 1, True, True),
           "margin": (0, 1, False, True), "annual_discount_rate": (0, 1, True, False)}
#: The most behavioural segments a report tries (k_max): more is a dump, not a segmentation.
K_MAX_LIMIT = 30


def _choices(name: str) -> tuple[str, ...] | None:
    """The closed vocabulary of a parameter, from the module that owns it (None: not a choice)."""
    if name == "padjust":
        from ..stats import PADJUST_METHODS
        return tuple(PADJUST_METHODS)
    if name in ("design", "designs"):
        from ..evaluation import DESIGNS
        return tuple(DESIGNS)
    if name == "control_group":
        from typing import get_args

        from ..evaluation.staggered import ControlGroup
        return get_args(ControlGroup)
    if name == "fail_outcome":
        from ..journey.failpoints import FAIL_OUTCOMES
        return tuple(FAIL_OUTCOMES)
    return {"algorithm": ("kmeans", "gmm"),  # cxlib.segments.BehaviouralSegments
            "freq": ("month", "quarter", "week")}.get(name)  # cxlib.evaluation panels


def check_parameter(where: str, name: str, value: Any) -> None:
    """Check one parameter's value against its rule (dates, counts, shares, choices, columns); raise if broken.

    The rules of the notebooks' own parameters (``observation_end``, ``k_max``, ``padjust``...) run
    with the global ones in :func:`validate_plan`, before the first notebook, so a typo never costs a
    half-run report.  ``where`` names the notebook and the parameter in the message.

    >>> check_parameter("Notebook '60_segments', parameter 'k_max'", "k_max", 8)
    >>> check_parameter("Notebook '60_segments', parameter 'k_max'", "k_max", 1)
    Traceback (most recent call last):
    ...
    cxlib.errors.ParameterError: Notebook '60_segments', parameter 'k_max': expected an integer from 2 to 30 (candidate numbers of segments 2..k_max); found 1.
    """
    if name in DATE_PARAMETERS:
        _check_date(where, value)
    elif name in COLUMN_PARAMETERS:
        _check_columns(where, value)
    elif name in _COUNTS and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
        raise ParameterError(f"{where}: expected a positive integer; found {value!r}.")
    elif name in _POSITIVE and not (_is_number(value) and value > 0):
        raise ParameterError(f"{where}: expected a positive number; found {value!r}.")
    elif name == "landmark_days" and not (_is_number(value) and value >= 0):
        raise ParameterError(f"{where}: expected a number of days >= 0; found {value!r}.")
    elif name in _SHARES:
        lo, hi, lo_in, hi_in = _SHARES[name]
        ok = _is_number(value) and (lo <= value if lo_in else lo < value) and (value <= hi if hi_in else value < hi)
        if not ok:
            interval = f"{'[' if lo_in else '('}{lo}, {hi}{']' if hi_in else ')'}"
            raise ParameterError(f"{where}: expected a share in {interval}; found {value!r}.")
    elif name == "k_max" and not (isinstance(value, int) and not isinstance(value, bool) and 2 <= value <= K_MAX_LIMIT):
        raise ParameterError(f"{where}: expected an integer from 2 to {K_MAX_LIMIT} (candidate numbers of segments "
                             f"2..k_max); found {value!r}.")
    elif name == "journey_gap":
        _check_gap(where, value)
    elif name == "currency" and not re.fullmatch(r"[A-Z]{3}", str(value)):
        raise ParameterError(f"{where}: expected an ISO 4217 currency code such as 'EUR'; found {value!r}.")
    elif name == "retention_months" and not (isinstance(value, (list, tuple)) and value
                                             and all(_is_number(m) and m > 0 for m in value)):
        raise ParameterError(f"{where}: expected a list of positive numbers of months; found {value!r}.")
    elif name == "event_window" and not (isinstance(value, (list, tuple)) and len(value) == 2
                                         and all(isinstance(v, int) for v in value) and value[0] < 0 < value[1]):
        raise ParameterError(f"{where}: expected [first, last] event times around 0, such as [-6, 6]; found {value!r}.")
    else:
        allowed = _choices(name)
        values = value if isinstance(value, (list, tuple)) else [value]
        bad = [v for v in values if allowed is not None and v not in allowed]
        if bad:
            raise ParameterError(f"{where}: expected {'values' if isinstance(value, list) else 'one'} of "
                                 f"{list(allowed)}; found {bad[0]!r}.")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def _check_date(where: str, value: Any) -> None:
    if value in ("", None):
        return
    import pandas as pd

    from ..schema import DATE_RANGE_ENV, plausible_date_range

    try:
        day = pd.Timestamp(str(value))
    except ValueError:
        raise ParameterError(f"{where}: expected a date such as '2025-12-31' (or empty for the default); "
                             f"found {value!r}.") from None
    if day is pd.NaT:
        raise ParameterError(f"{where}: expected a date such as '2025-12-31'; found {value!r}.")
    try:
        earliest, latest = plausible_date_range()
    except ValueError as exc:
        raise ParameterError(str(exc)) from None
    if not earliest <= day <= latest:
        raise ParameterError(f"{where}: {value!r} is outside the plausible dates {earliest:%Y-%m-%d} to "
                             f"{latest:%Y-%m-%d}; give a date of the data (the range is set by {DATE_RANGE_ENV}).")


def _check_columns(where: str, value: Any) -> None:
    from ..privacy import is_personal_column

    columns = value if isinstance(value, (list, tuple)) else [value]
    personal = [c for c in columns if isinstance(c, str) and c and is_personal_column(c)]
    if personal:
        raise ParameterError(f"{where}: {personal[0]!r} holds personal data (an identifier, a name, contact "
                             "details or free text); it cannot be a segment or a breakdown, since the report would "
                             "print its values. Use an attribute such as 'region' or 'loyalty_tier'.")


def _check_gap(where: str, value: Any) -> None:
    import pandas as pd

    try:
        gap = pd.Timedelta(str(value))
    except ValueError:
        gap = None
    if gap is None or gap is pd.NaT or gap <= pd.Timedelta(0):
        raise ParameterError(f"{where}: expected a positive duration such as '3D' or '30min'; found {value!r}.")
