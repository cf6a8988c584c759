"""The ``cx`` console command: what the Makefile wraps."""
from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cxlib")
def main() -> None:
    """CX Workbook: generate data, validate it and build the quarterly report."""


@main.command("validate")
@click.argument("folder", type=click.Path(file_okay=False, path_type=str))
@click.option("--params", "params", type=click.Path(dir_okay=False, path_type=str), default=None,
              help="Report plan whose parameters decide the sections [default: reports/plan.yml when present].")
def validate_cmd(folder: str, params: str | None) -> None:
    """Check every table in FOLDER against the data contract (data/README.md).

    Prints one line per table (rows, time range, checks) and exits with status 1
    and a message naming table, column, rule and example rows on the first failure.
    Then prints the report's section plan: each section runs, runs in part or is
    skipped, with the reason -- the decision `cx report` applies to the same data.
    """
    from .data import load
    from .errors import DataContractError

    try:
        ds = load(folder)
    except DataContractError as exc:
        click.echo(f"INVALID: {exc}", err=True)
        raise SystemExit(1) from None
    for row in ds.validation.itertuples():
        span = f"{row.first:%Y-%m-%d} .. {row.last:%Y-%m-%d}" if row.time_column else ""
        click.echo(f"{row.table:<18} {row.rows:>12,} rows  {span:<24} {row.checks:>3} checks  {row.status}")
    click.echo(f"OK: {len(ds.validation)} table(s) in {folder} satisfy the data contract.")
    click.echo(_settings_line(ds))
    _echo_section_plan(folder, params)


def _echo_section_plan(folder: str, params: str | None) -> None:
    """Print the section plan of ``folder`` under the report plan ``params`` (or the project's default plan)."""
    from pathlib import Path

    from .errors import CxError
    from .report.coverage import plan_coverage
    from .report.plan import load_plan, project_root
    from .requirements import available_columns, plan_sections

    try:
        default = project_root() / "reports" / "plan.yml"
    except CxError:
        default = None
    path = Path(params) if params else default
    try:
        if path is not None and path.is_file():
            sections = plan_coverage(load_plan(path, data_dir=folder))
        elif params:
            raise click.UsageError(f"--params {params}: no such file.")
        else:
            sections = plan_sections(available_columns(folder))
    except CxError as exc:
        click.echo(f"ERROR: {exc}", err=True)
        raise SystemExit(2) from None
    click.echo("Report sections on these data:")
    for line in sections.lines():
        click.echo(f"  {line}")


def _settings_line(ds) -> str:
    """One line: where the data's settings come from and what they are (``cx validate``)."""
    s = ds.settings
    source = f"from {ds.mapping.path.name}" if ds.mapping.path is not None else "by default (no cx.yml)"
    steps = " > ".join(s.funnel_steps) if s.funnel_steps else "the journeys section's default"
    segments = ", ".join(ds.segment_columns()) or "none"
    return (f"Settings {source}: currency {s.currency.code} ({s.currency.symbol}), time zone {s.time_zone}, "
            f"conversion touchpoint {s.conversion_touchpoint or 'none (set conversion_touchpoint)'}, "
            f"funnel {steps}, segment columns {segments}.")


@main.command("init")
@click.argument("folder", type=click.Path(file_okay=False, exists=True, path_type=str))
@click.option("--force", is_flag=True, default=False, help="Replace an existing cx.yml.")
def init_cmd(folder: str, force: bool) -> None:
    """Propose a mapping file FOLDER/cx.yml for the CSV/Parquet exports in FOLDER.

    Guesses which file holds which table, which source column is each contract column
    (CustomerID -> customer_id, InvoiceDate -> timestamp, Total -> amount...), the CSV
    delimiter, encoding, decimal separator and date formats; writes them with comments on
    what it could not guess. An existing cx.yml is kept unless --force. Check the file,
    then run `cx validate FOLDER`.
    """
    from .data.guess import write_mapping
    from .errors import CxError

    try:
        target, proposal = write_mapping(folder, force=force)
    except CxError as exc:
        click.echo(f"ERROR: {exc}", err=True)
        raise SystemExit(1) from None
    for g in proposal.files:
        what = (f"{g.table} ({', '.join(f'{t} <- {s}' for t, s in g.columns.items())})" if g.table
                else "not recognised")
        click.echo(f"{g.file:<28} {what}")
    click.echo(f"OK: wrote {target}; check it (lines marked CHECK), then run `cx validate {folder}`.")


@main.command("report")
@click.option("--params", "params", type=click.Path(dir_okay=False, path_type=str), default=None,
              help="Report plan (YAML), e.g. reports/plan.yml.")
@click.option("--data", "data", type=click.Path(path_type=str), default=None,
              help="Data folder (overrides the plan's data_dir).")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=str), default=None,
              help="Reports folder [default: <project>/reports].")
@click.option("--jobs", "jobs", type=click.IntRange(min=1), default=None,
              help="Notebooks executed at once [default: number of cores].")
@click.option("--engine", type=click.Choice(["auto", "quarto", "pandoc"]), default="auto", show_default=True,
              help="Renderer: Quarto if on PATH (auto), else pandoc + Typst.")
@click.option("--reproduce", "reproduce", type=click.Path(dir_okay=False, exists=True, path_type=str),
              default=None, help="Re-run with the plan and data folder recorded in this provenance.json.")
@click.option("--timeout", type=click.IntRange(min=1), default=None, help="Per-cell time limit in seconds.")
@click.option("--cache/--no-cache", "use_cache", default=True, show_default=True,
              help="Reuse the outputs of notebooks whose code, parameters, data tables, cxlib and upstream "
                   "findings are unchanged (reports/_cache); --no-cache executes everything (and refreshes "
                   "the cache). --reproduce always executes everything.")
def report_cmd(params: str | None, data: str | None, out: str | None, jobs: int | None, engine: str,
               reproduce: str | None, timeout: int | None, use_cache: bool) -> None:
    """Run the report plan's notebooks and publish HTML + PDF into reports/.

    Parameters are validated against each notebook's `parameters` cell before
    anything runs.  Independent notebooks run in parallel, the executive
    summary last.  On a failure the failed notebook is kept in
    reports/_failed/, nothing is published over the last good report
    (reports/_output/), and the exit status is 1.  Notebooks whose inputs did not
    change since an earlier run are restored from the run cache with their current
    narrative (shown as "cached" with the time saved).
    """
    from pathlib import Path

    from .errors import CxError, ParameterError
    from .report import provenance
    from .report.cache import NotebookCache
    from .report.plan import load_plan, project_root
    from .report.runner import reproduce_plan, run_plan

    try:
        if reproduce:
            if params or data:
                raise click.UsageError("--reproduce takes the plan and data folder from provenance.json; "
                                       "do not combine it with --params or --data.")
            plan, changed = reproduce_plan(provenance.read(reproduce))
            for line in changed:
                click.echo(f"WARNING: input data differ from the recorded run: {line}", err=True)
        else:
            if not params:
                raise click.UsageError("Pass --params FILE (e.g. reports/plan.yml) or --reproduce provenance.json.")
            plan = load_plan(params, data_dir=data)
        reports = Path(out).resolve() if out else project_root() / "reports"
        cache = NotebookCache(reports / "_cache", reuse=use_cache and not reproduce)
        result = run_plan(plan, out_dir=out, jobs=jobs, engine=engine, timeout=timeout, cache=cache)
    except CxError as exc:
        click.echo(f"ERROR: {exc}", err=True)
        raise SystemExit(2 if isinstance(exc, ParameterError) else 1) from None
    for r in result.runs:
        saved = f"  (saved {r.saved_seconds:.1f} s)" if r.cached else ""
        if r.skipped_section:
            saved = f"  (section skipped: {r.skipped_section})"
        status = "cached" if r.cached else "no data" if r.skipped_section else r.status
        click.echo(f"  {r.notebook:<28} {status:<8} {r.seconds:7.1f} s{saved}", err=True)
    if not result.ok:
        for r in result.failures:
            click.echo(f"ERROR: {r.message}", err=True)
        raise SystemExit(1)
    click.echo(f"{result.html}\n{result.pdf}")


@main.command("run")
@click.argument("notebook", type=click.Path(dir_okay=False, exists=True, path_type=str))
@click.option("--params", "params", type=click.Path(dir_okay=False, exists=True, path_type=str), default=None,
              help="Report plan whose global (and this notebook's) parameters to use [default: reports/plan.yml].")
@click.option("--data", "data", type=click.Path(path_type=str), default=None, help="Data folder.")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=str), default=None,
              help="Where the executed notebook and its findings go [default: reports/_build/single].")
def run_cmd(notebook: str, params: str | None, data: str | None, out: str | None) -> None:
    """Execute one NOTEBOOK with the plan's parameters (no rendering), for development.

    Exit status 1 and a message naming the cell and the exception if it fails.
    """
    from pathlib import Path

    from .errors import CxError, ParameterError
    from .report.plan import NotebookSpec, load_plan, project_root, resolve_notebook
    from .report.runner import run_single

    root = project_root()
    try:
        plan = load_plan(params or root / "reports" / "plan.yml", data_dir=data)
        path = Path(notebook).resolve()
        spec = next((s for s in plan.notebooks if s.path == path), None)
        if spec is None:
            spec = NotebookSpec(name=path.stem, path=path)
        resolved = resolve_notebook(spec, plan.parameters)
        result = run_single(spec, resolved, out_dir=Path(out) if out else root / "reports" / "_build" / "single",
                            cwd=path.parent)
    except CxError as exc:
        click.echo(f"ERROR: {exc}", err=True)
        raise SystemExit(2 if isinstance(exc, ParameterError) else 1) from None
    if result.status != "ok":
        click.echo(f"ERROR: {result.message}", err=True)
        raise SystemExit(1)
    click.echo(str(result.output))


@main.command("render")
@click.argument("notebooks", nargs=-1, required=True, type=click.Path(dir_okay=False, exists=True, path_type=str))
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=str), required=True,
              help="Folder receiving <stem>.html and <stem>.pdf.")
@click.option("--title", required=True, help="Report title (page 1).")
@click.option("--subtitle", default="", help="Report subtitle.")
@click.option("--stem", default="report", show_default=True, help="Output file name without extension.")
@click.option("--engine", type=click.Choice(["auto", "quarto", "pandoc"]), default="auto", show_default=True,
              help="Quarto if on PATH (auto), else pandoc + Typst.")
@click.option("--site/--no-site", default=False, show_default=True, help="Also write a multi-page HTML site.")
def render_cmd(notebooks: tuple[str, ...], out: str, title: str, subtitle: str, stem: str, engine: str,
               site: bool) -> None:
    """Render already-executed NOTEBOOKS (in report order) into one HTML file and one PDF.

    Nothing is executed: use it to re-render after changing templates or filters.
    Exit status 1 with the engine's error output when rendering fails.
    """
    from pathlib import Path

    from .errors import CxError
    from .report.render import render_report

    try:
        result = render_report([Path(n) for n in notebooks], Path(out), title=title, subtitle=subtitle,
                               engine=engine, stem=stem, site=site,
                               progress=lambda message: click.echo(message, err=True))
    except CxError as exc:
        click.echo(f"ERROR: {exc}", err=True)
        raise SystemExit(1) from None
    click.echo("\n".join(str(p) for p in (result.html, result.pdf, result.site_dir) if p is not None))


@main.command("synth")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=str),
              help="Output folder: new, empty, or a previous synth output (replaced atomically).")
@click.option("--customers", "customers", type=click.IntRange(min=100), default=10_000, show_default=True,
              help="Number of customers.")
@click.option("--seed", "seed", type=click.IntRange(min=0), default=20261123, show_default=True,
              help="Seed of every random stream (same seed, same bytes).")
@click.option("--units", "units", type=click.IntRange(min=4, max=999), default=24, show_default=True,
              help="Number of stores S01..")
@click.option("--start", "start", default="2024-01-01", show_default=True, help="First observed day.")
@click.option("--end", "end", default="2025-12-31", show_default=True, help="Last observed day (censoring).")
@click.option("--chunk-customers", "chunk", type=click.IntRange(min=100), default=100_000, show_default=True,
              help="Customers simulated and written per chunk (bounds memory).")
def synth_cmd(out: str, customers: int, seed: int, units: int, start: str, end: str, chunk: int) -> None:
    """Generate the synthetic CX world into OUT: every contract table as Parquet plus truth.json.

    Progress (table, chunk k/n, elapsed seconds) goes to stderr.  A non-empty
    folder that is not a previous synth output is refused and left untouched;
    the dataset is built beside OUT and renamed into place only when complete.
    """
    from .errors import CxError, ParameterError
    from .synth import generate

    try:
        truth = generate(out, n_customers=customers, n_units=units, seed=seed, start=start, end=end,
                         chunk_customers=chunk, progress=lambda msg: click.echo(msg, err=True))
    except CxError as exc:
        click.echo(f"ERROR: {exc}", err=True)
        raise SystemExit(2 if isinstance(exc, ParameterError) else 1) from None
    except OSError as exc:  # full disk, permissions: the writer keeps any previous dataset intact
        click.echo(f"ERROR: could not write the synthetic data to {out} ({exc.strerror or exc}); "
                   "any previous dataset there is unchanged. Free space or choose another --out.", err=True)
        raise SystemExit(1) from None
    rows = truth["sizes"]["rows"]
    click.echo(f"OK: {out}: " + ", ".join(f"{t} {n:,}" for t, n in rows.items() if not t.startswith("truth_")))


@main.command("actions")
@click.argument("folder", type=click.Path(file_okay=False, exists=True, path_type=str))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=str),
              help="Folder receiving detractors.csv, churn_risk.csv, sla_breaches.csv and manifest.json.")
@click.option("--period", default="2025Q4", show_default=True, help="Quarter whose detractors are listed.")
@click.option("--observation-end", "observation_end", default=None,
              help="Last observed day [default: the last day of --period].")
@click.option("--sla-hours", "sla_hours", type=click.FloatRange(min=0, min_open=True), default=72.0,
              show_default=True, help="Resolution SLA for the unresolved-ticket list.")
@click.option("--save-rate", "save_rate", type=click.FloatRange(0, 1), default=0.2, show_default=True,
              help="Assumed share of churn prevented by acting (expected value only).")
@click.option("--top", type=click.IntRange(min=1), default=None, help="Keep only the top N members at risk.")
@click.option("--real-ids", "real_ids", is_flag=True, default=False,
              help="Write real customer ids instead of keyed pseudonyms (opt-in; access-controlled CRM only).")
def actions_cmd(folder: str, out: str, period: str, observation_end: str | None, sla_hours: float, save_rate: float,
                top: int | None, real_ids: bool) -> None:
    """Write the CRM action lists for the data in FOLDER into --out (each file written atomically).

    Customer ids are keyed pseudonyms (CX_PSEUDONYM_KEY, required unless FOLDER is the `cx synth` demo)
    unless --real-ids is given; comments are always redacted, and every text cell is neutralised
    against spreadsheet formula injection.  Prints one line per list (rows, expected value and its
    assumption).
    """
    import os

    from .privacy import DEMO_ENV

    from .actions.lists import build_action_lists, write_action_lists
    from .data import load
    from .errors import CxError, ParameterError
    from .report.runner import check_pseudonym_secret

    ids = "real" if real_ids else "pseudonymized"
    try:
        # real data need CX_PSEUDONYM_KEY (checked before anything is read); the cx synth demo may use the demo key
        demo = check_pseudonym_secret(folder) if ids == "pseudonymized" else False
        os.environ[DEMO_ENV] = "1" if demo else os.environ.get(DEMO_ENV, "0")
        ds = load(folder, tables=["customers", "transactions", "subscriptions", "survey_responses", "tickets"])
        lists = build_action_lists(ds, period=period, observation_end=observation_end, ids=ids, sla_hours=sla_hours,
                                   save_rate=save_rate, top=top)
        write_action_lists(lists, out, parameters={"data": folder, "period": period, "observation_end":
                                                   observation_end, "sla_hours": sla_hours, "save_rate": save_rate,
                                                   "top": top, "ids": ids})
    except CxError as exc:
        click.echo(f"ERROR: {exc}", err=True)
        raise SystemExit(2 if isinstance(exc, ParameterError) else 1) from None
    for item in lists.values():
        value = (f"expected value {item.expected_value:,.1f} {item.value_unit} ({item.assumption})"
                 if item.value_unit else item.assumption)
        click.echo(f"{item.name:<14} {len(item.frame):>8,} rows  ids: {item.ids:<13} {value}")
    click.echo(f"OK: {len(lists)} list(s) written to {out}.")
