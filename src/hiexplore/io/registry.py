"""The reader registry: every official format hiexplore recognises, tried in order.

A reader is a ``Reader(name, kind, description, sniff, read)``. ``sniff(path) -> bool`` looks
at content only (header row, sheet names, geometry fields) and never raises; ``read(path)``
returns one or more :class:`ReadResult` (a workbook may hold several tables) or raises
:class:`~hiexplore.errors.InputFileError` naming file, row and column.

Kinds and the frame each one carries (column names are the canonical ones):

=========================  =====================================================================
kind                       frame columns (meta keys)
=========================  =====================================================================
deprivation                lsoa_code, edition, imd_score/rank/decile, <domain>_score/rank/decile,
                           population columns where published (meta: vintage "2011"/"2021")
boundaries                 GeoDataFrame EPSG:4326: area_code, area_name, area_type, geometry
                           (meta: area_type, vintage, generalisation, repaired)
lookup                     lsoa_code + any of msoa/ward/lad/sub_icb/icb/region _code/_name
                           (meta: vintage)
lsoa_crosswalk             lsoa11_code, lsoa21_code, change_code, lad_code
ward_lookup                ward_code, ward_name, lad_code, lad_name, region_code, region_name
practices                  practice_code, practice_name, icb_code, sub_icb_code, postcode,
                           status, setting, open_date, close_date (epraccur)
pcn_membership             practice_code, pcn_code, pcn_name, sub_icb_code, start_date, end_date
practice_geography         practice_code, practice_name, pcn_code, pcn_name, sub_icb_code,
                           sub_icb_name, icb_code, icb_name
postcodes                  postcode, easting, northing, quality, lad_code
registrations              practice_code, lsoa_code, sex, patients (meta: vintage, period)
list_sizes                 practice_code, list_size, band columns (meta: period)
indicators                 the canonical indicators table (see schemas.Indicators)
population                 lsoa_code, population, age_<lo>_<hi> (meta: vintage, period)
ethnicity                  lsoa_code, residents, share_<group> (meta: vintage 2021)
=========================  =====================================================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["SourceInfo", "ReadResult", "Reader", "OGL"]

OGL = "Open Government Licence v3.0"


@dataclass(frozen=True)
class SourceInfo:
    """Provenance of one source file, as the manifest records it."""

    title: str
    publisher: str
    period: str
    licence: str = OGL
    file: str = ""
    sha256: str = ""
    attribution: str = ""


@dataclass
class ReadResult:
    kind: str
    frame: pd.DataFrame
    source: SourceInfo
    notes: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Reader:
    name: str
    kind: str
    description: str
    sniff: Callable[[Path], bool]
    read: Callable[[Path], list[ReadResult]]
