"""Writing the synthetic dataset: Arrow schemas from the contract, chunked Parquet, ids, atomic folders.

Parquet files are written with pinned options (zstd level 3, dictionary
encoding, format 2.6, data page v1, statistics on) and no timestamps in the
metadata, so the same seed gives byte-identical files with the same pyarrow.
Dates are Arrow ``date32``; timestamps are naive ``timestamp[us]`` (UTC).
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .._fs import replace_folder
from ..errors import ParameterError
from ..schema import TABLES

GENERATOR = "cxlib.synth"
_ARROW = {"string": pa.string(), "int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(),
          "timestamp": pa.timestamp("us"), "date": pa.date32()}
WRITE_OPTIONS = dict(compression="zstd", compression_level=3, use_dictionary=True, write_statistics=True,
                     version="2.6", data_page_version="1.0", store_schema=True)

AUX_SCHEMAS = {
    "truth_segments": pa.schema([
        pa.field("customer_id", pa.string(), nullable=False),
        pa.field("segment", pa.string(), nullable=False),
        pa.field("behavioural_group", pa.string(), nullable=False),
        pa.field("lambda_per_week", pa.float64(), nullable=False),
        pa.field("p_dropout", pa.float64(), nullable=False),
        pa.field("nu", pa.float64(), nullable=False),
        pa.field("expected_spend", pa.float64(), nullable=False),
        pa.field("birth_at", pa.timestamp("us"), nullable=False),
        pa.field("dropout_at", pa.timestamp("us")),
        pa.field("alive_at_end", pa.bool_(), nullable=False),
    ]),
    "truth_pii": pa.schema([
        pa.field("response_id", pa.string(), nullable=False),
        pa.field("customer_id", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("value", pa.string(), nullable=False),
    ]),
}


def arrow_schema(table: str) -> pa.Schema:
    """Arrow schema of a contract table (column order, types and nullability from ``cxlib.schema``).

    >>> arrow_schema("subscriptions").field("end_date").type
    DataType(date32[day])
    """
    if table in AUX_SCHEMAS:
        return AUX_SCHEMAS[table]
    return pa.schema([pa.field(c.name, _ARROW[c.kind], nullable=c.nullable) for c in TABLES[table].columns])


def output_files() -> tuple[str, ...]:
    """Every file name a synth output folder may contain."""
    return (*(f"{t}.parquet" for t in TABLES), *(f"{t}.parquet" for t in AUX_SCHEMAS), "truth.json")


def format_ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """``prefix`` + zero-padded ``numbers`` as an Arrow string array.

    >>> format_ids("C", np.array([1, 42]), 7).to_pylist()
    ['C0000001', 'C0000042']
    """
    digits = pc.utf8_lpad(pc.cast(pa.array(np.asarray(numbers, dtype=np.int64)), pa.string()), width, "0")
    return pc.binary_join_element_wise(pa.scalar(prefix), digits, "")


def vocab(values: tuple[str, ...] | list[str], index: np.ndarray) -> pa.Array:
    """Strings of a closed vocabulary from indices (negative index = null)."""
    index = np.asarray(index, dtype=np.int64)
    return pa.array(list(values), pa.string()).take(pa.array(index, mask=index < 0))


def timestamps(us: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    return pa.array(np.asarray(us, dtype=np.int64), pa.timestamp("us"), mask=null)


def dates(epoch_days: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    return pa.array(np.asarray(epoch_days, dtype=np.int32), pa.date32(), mask=null)


class ParquetSink:
    """Append row groups of one table to ``<folder>/<table>.parquet``."""

    def __init__(self, folder: Path, table: str):
        self.table = table
        self.schema = arrow_schema(table)
        self.path = Path(folder) / f"{table}.parquet"
        self.rows = 0
        self._writer: pq.ParquetWriter | None = None

    def write(self, columns: dict[str, pa.Array]) -> int:
        missing = set(self.schema.names) ^ set(columns)
        if missing:
            raise RuntimeError(f"{self.table}: columns {sorted(missing)} do not match the schema")
        batch = pa.Table.from_arrays([columns[n] for n in self.schema.names], schema=self.schema)
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.path, self.schema, **WRITE_OPTIONS)
        if batch.num_rows:
            self._writer.write_table(batch, row_group_size=max(batch.num_rows, 1))
        self.rows += batch.num_rows
        return batch.num_rows

    def close(self) -> int:
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.path, self.schema, **WRITE_OPTIONS)
        self._writer.close()
        return self.rows


def looks_like_synth_output(folder: Path) -> bool:
    """True if every entry of ``folder`` is a synth output file and its truth.json names this generator."""
    folder = Path(folder)
    names = {p.name for p in folder.iterdir()}
    if not names <= set(output_files()) or "truth.json" not in names:
        return False
    try:
        truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(truth, dict) and truth.get("generator", {}).get("name") == GENERATOR


def prepare_output(out_dir: str | os.PathLike) -> tuple[Path, Path]:
    """Check the target folder and create a temporary build folder beside it: ``(target, temp)``.

    Raises
    ------
    ParameterError
        If ``out_dir`` is a file, or a non-empty folder that is not a
        previous synth output (nothing is touched then).
    """
    out = Path(out_dir).resolve()
    if out.exists() and not out.is_dir():
        raise ParameterError(f"--out {out} is a file; give a folder (new, empty or a previous synth output).")
    if out.is_dir() and any(out.iterdir()) and not looks_like_synth_output(out):
        found = sorted(p.name for p in out.iterdir())[:8]
        raise ParameterError(
            f"Refusing to write into {out}: the folder is not empty and does not look like a previous "
            f"`cx synth` output (found {found}; expected only {list(output_files())} with a truth.json from "
            f"{GENERATOR}). Nothing was changed; choose a new or empty folder.")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.building-"))
    tmp.chmod(0o755)  # mkdtemp makes it private; the dataset is an ordinary shared folder
    return out, tmp


def commit_output(tmp: Path, out: Path) -> None:
    """Move the finished build folder into place; the previous output, if any, is removed afterwards.

    The previous output is replaced in one atomic step (``renameat2(RENAME_EXCHANGE)``) where the
    system supports it; elsewhere by two renames, with the previous output renamed back if the
    second one fails or is interrupted (Ctrl-C), so ``out`` always holds a complete dataset
    (:func:`cxlib._fs.replace_folder`).
    """
    replace_folder(tmp, out)


def write_json(path: Path, obj: dict) -> None:
    path.write_text(json.dumps(obj, sort_keys=True, indent=1, allow_nan=False) + "\n", encoding="utf-8")
