"""The ``cx`` console command: what the Makefile wraps."""
from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cxlib")
def main() -> None:
    """CX Workbook: generate data, validate it and build the quarterly report."""
