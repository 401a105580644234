"""The one exception tree of hiexplore.

::

    HiexploreError                 everything the package raises on purpose
    ├── InputFileError             an official file could not be read: names file, row, column
    │   └── DamagedFileError       a data file that cannot be opened or decoded at all (truncated,
    │                              empty, an HTML page...): names the file and the reason
    ├── DatasetError               a canonical dataset is missing, invalid or could not be written
    └── RequestError               a user asked for something the data cannot answer
                                    (unknown indicator, geography, period...), listing valid choices

The CLI prints these as one clear message (no traceback); anything else is a bug.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["HiexploreError", "InputFileError", "DamagedFileError", "DatasetError", "RequestError"]


class HiexploreError(Exception):
    """Base class of every error hiexplore raises on purpose."""


class InputFileError(HiexploreError):
    """An input file is not what its reader expects.

    ``row`` is the 1-based line/row number as a user sees it in a spreadsheet or text editor
    (header = row 1 for headed CSVs) where it can be known; ``column`` is the column name.
    """

    def __init__(
        self,
        path: str | Path,
        message: str,
        *,
        row: int | None = None,
        column: str | None = None,
        sheet: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.row = row
        self.column = column
        self.sheet = sheet
        self.detail = message
        where = [f"file {self.path.name}"]
        if sheet is not None:
            where.append(f"sheet {sheet!r}")
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__(f"{', '.join(where)}: {message}")


class DamagedFileError(InputFileError):
    """Data files (by extension or leading bytes) that cannot be opened or decoded.

    ``path``/``reason`` are the first; ``damaged`` lists every (path, reason) found, so one run
    names them all. A build stops on them unless told to skip damaged files.
    """

    def __init__(self, damaged: list[tuple[Path, str]]) -> None:
        self.damaged = [(Path(p), r) for p, r in damaged]
        path, self.reason = self.damaged[0]
        more = ""
        if len(self.damaged) > 1:
            more = "; also damaged: " + "; ".join(f"{p.name} ({r})" for p, r in self.damaged[1:])
        super().__init__(
            path,
            f"damaged: {self.reason}{more}. Nothing was replaced. Replace the file, remove it, or build "
            "without it (hiexplore build --skip-damaged).",
        )


class DatasetError(HiexploreError):
    """A canonical dataset folder is missing, invalid, or could not be written."""


class RequestError(HiexploreError):
    """The user asked for something the data cannot answer; the message lists valid choices."""

    def __init__(self, message: str, valid: list[str] | None = None) -> None:
        self.valid = list(valid or [])
        if self.valid:
            shown = ", ".join(self.valid[:40]) + (" ..." if len(self.valid) > 40 else "")
            message = f"{message} Valid choices: {shown}."
        super().__init__(message)
