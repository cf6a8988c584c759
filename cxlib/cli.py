"""The ``cx`` console command: what the Makefile wraps."""
from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cxlib")
def main() -> None:
    """CX Workbook: generate data, validate it and build the quarterly report."""


@main.command("validate")
@click.argument("folder", type=click.Path(file_okay=False, path_type=str))
def validate_cmd(folder: str) -> None:
    """Check every table in FOLDER against the data contract (data/README.md).

    Prints one line per table (rows, time range, checks) and exits with status 1
    and a message naming table, column, rule and example rows on the first failure.
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
