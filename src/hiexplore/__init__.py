"""hiexplore: a health-inequalities explorer for local public health teams in England.

Plain Python (no Streamlit): readers, the canonical dataset, statistics, flags, maps and exports
are functions over DataFrames that the CLI, the app pages and the tests all call.
"""

from __future__ import annotations

from .errors import DatasetError, HiexploreError, InputFileError, RequestError

__all__ = ["HiexploreError", "InputFileError", "DatasetError", "RequestError", "__version__"]
__version__ = "0.1.0"
