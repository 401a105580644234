"""Small helpers every reader uses to fail clearly: file, row, column, expected, found."""

from __future__ import annotations

import gzip
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputFileError
from ._sniff import is_gzip, norm, sha256_file, zip_members
from .registry import SourceInfo

__all__ = ["require_columns", "to_number", "source_info", "first_bad_row", "read_all_bytes"]


def require_columns(
    path: Path,
    found: Iterable[str],
    required: Sequence[str],
    *,
    row: int = 1,
    sheet: str | None = None,
) -> None:
    """Raise if any of ``required`` (compared normalised) is not among ``found``."""
    have = {norm(c) for c in found}
    missing = [c for c in required if norm(c) not in have]
    if missing:
        raise InputFileError(
            path,
            f"missing column(s) {', '.join(repr(m) for m in missing)}; "
            f"expected the header to contain {', '.join(repr(r) for r in required)}; "
            f"found {', '.join(repr(str(f)) for f in list(found)[:30])}",
            row=row,
            column=missing[0],
            sheet=sheet,
        )


def first_bad_row(mask: pd.Series) -> int | None:
    idx = np.flatnonzero(mask.to_numpy())
    return int(idx[0]) if len(idx) else None


def to_number(
    series: pd.Series,
    path: Path,
    column: str,
    *,
    row_offset: int = 2,
    allow: Iterable[str] = (),
    thousands: bool = True,
    sheet: str | None = None,
    non_negative: bool = True,
) -> pd.Series:
    """Parse a column of numbers (thousands separators allowed); blanks and ``allow`` become NaN.

    Anything else non-numeric raises naming the first bad row (``row_offset`` maps the 0-based
    position to the row a user sees: 2 for a CSV with a header on row 1).
    """
    text = series.astype("string").str.strip()
    if thousands:
        text = text.str.replace(",", "", regex=False)
    allowed = {a.lower() for a in allow} | {"", "nan", "none", "<na>"}
    blank = text.isna() | text.str.lower().isin(allowed)
    values = pd.to_numeric(text.where(~blank), errors="coerce")
    bad = values.isna() & ~blank
    pos = first_bad_row(bad)
    if pos is not None:
        raise InputFileError(
            path,
            f"expected a number, found {series.iloc[pos]!r}",
            row=pos + row_offset,
            column=column,
            sheet=sheet,
        )
    if non_negative:
        neg = values < 0
        pos = first_bad_row(neg.fillna(False))
        if pos is not None:
            raise InputFileError(
                path,
                f"expected a count of zero or more, found {series.iloc[pos]!r}",
                row=pos + row_offset,
                column=column,
                sheet=sheet,
            )
    return values.astype("float64")


def source_info(path: Path, title: str, publisher: str, period: str, **kw: str) -> SourceInfo:
    return SourceInfo(
        title=title, publisher=publisher, period=period, file=path.name, sha256=sha256_file(path), **kw
    )


def read_all_bytes(path: Path) -> bytes:
    """All (decompressed) bytes of a plain, gzipped or single-CSV zip file."""
    try:
        if is_gzip(path):
            with gzip.open(path, "rb") as fh:
                return fh.read()
        members = zip_members(path)
        if members is not None:
            csvs = [m for m in members if m.lower().endswith((".csv", ".txt"))]
            if len(csvs) != 1:
                raise InputFileError(
                    path, f"expected a zip holding one CSV file, found {members[:10]}"
                )
            with zipfile.ZipFile(path) as zf:
                return zf.read(csvs[0])
        return path.read_bytes()
    except (EOFError, gzip.BadGzipFile, zlib.error, zipfile.BadZipFile) as err:
        raise InputFileError(path, f"the compressed file is truncated or damaged ({err})") from None
    except OSError as err:
        raise InputFileError(path, f"could not read the file ({err})") from None
