"""``hiexplore fetch``: download official files into a folder that ``hiexplore build`` reads.

A source is a catalogue key (``hiexplore fetch list`` shows them), ``fingertips:<indicator
id>[:<area type id>]`` for a Fingertips API CSV export (area type 7 = GP practices by default), or a
plain ``https://`` address. Downloads stream to a temporary file with progress, retry with
back-off on network errors and 5xx answers, and are renamed into place only when complete; each
file's sha256 is printed and recorded in ``fetch_log.json``. Publishers move monthly files
(NHS Digital patients-by-LSOA, ONS boundaries): give their current address as an https source. ``base_url`` replaces the scheme and
host of every address (for a mirror, or a local test server).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .errors import HiexploreError, RequestError

__all__ = [
    "KnownSource", "KNOWN_SOURCES", "ONSPD_RELEASES", "ONSPD_DEFAULT_RELEASE", "onspd_source", "resolve_source",
    "fetch_sources", "download",
]

FINGERTIPS_API = "https://fingertips.phe.org.uk/api/all_data/csv/by_indicator_id"
GP_AREA_TYPE = 7


#: ONS Postcode Directory releases whose ArcGIS Online item (the Open Geography Portal's download)
#: is known: release label -> item id. Each release is its own item; any other release is fetched
#: with ``--release LABEL:ITEMID`` (the 32-character id in the address of that release's page on
#: geoportal.statistics.gov.uk, e.g. .../datasets/<item id>/about)
ONSPD_RELEASES = {"MAY_2020": "fb894c51e72748ec8004cc582bf27e83"}
ONSPD_DEFAULT_RELEASE = "MAY_2020"
_ARCGIS_ITEM = "https://www.arcgis.com/sharing/rest/content/items/{item}/data"


def onspd_source(release: str = ONSPD_DEFAULT_RELEASE) -> tuple[str, str]:
    """(url, file name) of an ONSPD release: a label of :data:`ONSPD_RELEASES` or ``LABEL:ITEMID``.

    >>> onspd_source()[1]
    'ONSPD_MAY_2020_UK.zip'
    >>> onspd_source("FEB_2025:0123456789abcdef0123456789abcdef")
    ('https://www.arcgis.com/sharing/rest/content/items/0123456789abcdef0123456789abcdef/data', 'ONSPD_FEB_2025_UK.zip')
    """
    import re

    label, _, item = release.strip().partition(":")
    label = label.strip().upper()
    if not item:
        if label not in ONSPD_RELEASES:
            raise RequestError(
                f"ONSPD release {release!r} is not one whose download address hiexplore knows: give it as "
                "LABEL:ITEMID (the 32-character ArcGIS item id from the address of the release's page "
                "on the ONS Open Geography Portal), e.g. --release FEB_2025:<item id>.",
                valid=list(ONSPD_RELEASES),
            )
        item = ONSPD_RELEASES[label]
    if not re.fullmatch(r"[A-Z0-9_]{1,20}", label) or not re.fullmatch(r"[0-9a-f]{32}", item.strip()):
        raise RequestError(
            f"Bad ONSPD release {release!r}: expected LABEL (letters, digits, _) optionally followed by "
            ":ITEMID (32 hexadecimal characters), e.g. FEB_2025:0123456789abcdef0123456789abcdef.",
            valid=list(ONSPD_RELEASES),
        )
    return _ARCGIS_ITEM.format(item=item.strip()), f"ONSPD_{label}_UK.zip"


@dataclass(frozen=True)
class KnownSource:
    key: str
    url: str
    filename: str
    description: str


KNOWN_SOURCES: dict[str, KnownSource] = {
    s.key: s
    for s in [
        KnownSource(
            "iod2019-file1",
            "https://assets.publishing.service.gov.uk/government/uploads/system/uploads/attachment_data/file/833970/File_1_-_IMD2019_Index_of_Multiple_Deprivation.xlsx",
            "File_1_-_IMD2019_Index_of_Multiple_Deprivation.xlsx",
            "English Indices of Deprivation 2019, File 1 (IMD ranks and deciles, LSOA 2011), MHCLG",
        ),
        KnownSource(
            "iod2019-file2",
            "https://assets.publishing.service.gov.uk/government/uploads/system/uploads/attachment_data/file/833973/File_2_-_IoD2019_Domains_of_Deprivation.xlsx",
            "File_2_-_IoD2019_Domains_of_Deprivation.xlsx",
            "English Indices of Deprivation 2019, File 2 (domain ranks and deciles), MHCLG",
        ),
        KnownSource(
            "iod2019-file6",
            "https://assets.publishing.service.gov.uk/government/uploads/system/uploads/attachment_data/file/833980/File_6_-_IoD2019_Population_Denominators.xlsx",
            "File_6_-_IoD2019_Population_Denominators.xlsx",
            "English Indices of Deprivation 2019, File 6 (population denominators), MHCLG",
        ),
        KnownSource(
            "iod2019-file7",
            "https://assets.publishing.service.gov.uk/government/uploads/system/uploads/attachment_data/file/845345/File_7_-_All_IoD2019_Scores__Ranks__Deciles_and_Population_Denominators_3.csv",
            "File_7_-_All_IoD2019_Scores__Ranks__Deciles_and_Population_Denominators_3.csv",
            "English Indices of Deprivation 2019, File 7 (all scores, ranks, deciles), MHCLG",
        ),
        KnownSource(
            "epraccur",
            "https://files.digital.nhs.uk/assets/ods/current/epraccur.zip",
            "epraccur.zip",
            "NHS ODS GP practices (epraccur), NHS England",
        ),
        KnownSource(
            "codepoint-open",
            "https://api.os.uk/downloads/v1/products/CodePointOpen/downloads?area=GB&format=CSV&redirect",
            "codepo_gb.zip",
            "OS Code-Point Open, all of Great Britain (postcode positions; the OS Downloads API's open "
            "address, which redirects to the current release), Ordnance Survey",
        ),
        KnownSource(
            "onspd",
            onspd_source()[0],
            onspd_source()[1],
            f"ONS Postcode Directory, {ONSPD_DEFAULT_RELEASE} release by default (postcode grid "
            "references, terminated postcodes too), ONS Open Geography Portal; another release with "
            "--release LABEL:ITEMID",
        ),
        KnownSource(
            "epcn",
            "https://files.digital.nhs.uk/assets/ods/current/ePCN.zip",
            "ePCN.zip",
            "NHS ODS Primary Care Networks (ePCN), NHS England",
        ),
    ]
}


def resolve_source(source: str, *, release: str | None = None) -> tuple[str, str]:
    """(url, file name) for a catalogue key, a ``fingertips:`` id, or an https address.

    ``release`` picks the ONSPD release for ``onspd`` (:func:`onspd_source`).
    """
    if source == "onspd" and release:
        return onspd_source(release)
    if source in KNOWN_SOURCES:
        s = KNOWN_SOURCES[source]
        return s.url, s.filename
    if source.startswith("fingertips:"):
        parts = source.split(":")
        if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts[1:]):
            raise RequestError(
                f"Bad Fingertips source {source!r}: expected fingertips:<indicator id>[:<area type id>], "
                "e.g. fingertips:92600:7 for bowel screening by GP practice."
            )
        ind = int(parts[1])
        area_type = int(parts[2]) if len(parts) == 3 else GP_AREA_TYPE
        url = f"{FINGERTIPS_API}?indicator_ids={ind}&child_area_type_id={area_type}"
        return url, f"fingertips_{ind}_areatype{area_type}.csv"
    if source.startswith(("https://", "http://")):
        name = Path(urlsplit(source).path).name or "download"
        return source, name
    raise RequestError(
        f"Unknown source {source!r}.",
        valid=[*KNOWN_SOURCES, "fingertips:<indicator id>[:<area type id>]", "https://..."],
    )


def _rebase(url: str, base_url: str | None) -> str:
    if not base_url:
        return url
    base = urlsplit(base_url)
    parts = urlsplit(url)
    path = base.path.rstrip("/") + parts.path
    return urlunsplit((base.scheme, base.netloc, path, parts.query, ""))


def download(
    url: str,
    dest: Path,
    *,
    retries: int = 3,
    backoff: float = 0.5,
    timeout: float = 60.0,
    echo: Callable[[str], Any] = print,
) -> tuple[str, int]:
    """Stream ``url`` to ``dest`` (atomically) and return (sha256, bytes). Retries on failure."""
    import httpx

    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.part")
    last: Exception | None = None
    for attempt in range(retries + 1):
        try:
            h = hashlib.sha256()
            size = 0
            with httpx.stream("GET", url, timeout=timeout, follow_redirects=True) as resp:
                if resp.status_code >= 500:
                    raise httpx.HTTPStatusError(f"server error {resp.status_code}", request=resp.request, response=resp)
                if resp.status_code >= 400:
                    raise HiexploreError(f"{url}: the server answered {resp.status_code} (not retried)")
                total = int(resp.headers.get("content-length") or 0)
                next_report = 0.1
                with open(tmp, "wb") as fh:
                    for chunk in resp.iter_bytes(1 << 16):
                        fh.write(chunk)
                        h.update(chunk)
                        size += len(chunk)
                        if total and size / total >= next_report:
                            echo(f"    {dest.name}: {size / total:.0%} of {total / 1e6:.1f} MB")
                            next_report += 0.1
            if total and size != total:
                raise httpx.TransportError(f"incomplete download: {size} of {total} bytes")
            tmp.replace(dest)
            return h.hexdigest(), size
        except HiexploreError:
            tmp.unlink(missing_ok=True)
            raise
        except Exception as err:  # noqa: BLE001 - network errors of every kind are retried
            last = err
            tmp.unlink(missing_ok=True)
            if attempt < retries:
                wait = backoff * (2**attempt)
                echo(f"    {dest.name}: attempt {attempt + 1} failed ({err}); retrying in {wait:.1f} s")
                time.sleep(wait)
    raise HiexploreError(f"{url}: download failed after {retries + 1} attempts: {last}")


def fetch_sources(
    sources: list[str],
    out: Path,
    *,
    base_url: str | None = None,
    retries: int = 3,
    echo: Callable[[str], Any] = print,
    release: str | None = None,
) -> list[dict[str, Any]]:
    """Download each source into ``out`` and append to ``out/fetch_log.json``.

    ``release``: the ONSPD release ``onspd`` fetches (default :data:`ONSPD_DEFAULT_RELEASE`;
    :func:`onspd_source`); given without ``onspd`` among the sources it is an error.
    """
    if release and "onspd" not in sources:
        raise RequestError(f"--release {release!r} applies to the onspd source only, which is not requested.",
                           valid=["onspd"])
    if release:
        onspd_source(release)  # a bad release stops before anything is downloaded
    if sources == ["list"]:
        for s in KNOWN_SOURCES.values():
            echo(f"{s.key:<26} {s.description}")
        echo(f"{'fingertips:ID[:AREA]':<26} Fingertips API CSV export of an indicator (area type 7 = GP practices)")
        echo(f"{'https://...':<26} any official file by its address")
        return []
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    log_path = out / "fetch_log.json"
    log: list[dict[str, Any]] = json.loads(log_path.read_text("utf-8")) if log_path.is_file() else []
    done = []
    for i, src in enumerate(sources, 1):
        url, name = resolve_source(src, release=release)
        url = _rebase(url, base_url)
        echo(f"[{i}/{len(sources)}] {src}: {url}")
        sha, size = download(url, out / name, retries=retries, echo=echo)
        echo(f"    saved {out / name} ({size:,} bytes, sha256 {sha})")
        entry = {
            "source": src,
            "url": url,
            "file": name,
            "bytes": size,
            "sha256": sha,
            **({"release": (release or ONSPD_DEFAULT_RELEASE).partition(":")[0].strip().upper()} if src == "onspd" else {}),
            "downloaded": datetime.now(UTC).replace(microsecond=0).isoformat(),
        }
        log.append(entry)
        done.append(entry)
    # the log is written as JSON with a .json name: build's sniffers do not mistake it for data
    log_path.write_text(json.dumps(log, indent=1) + "\n", "utf-8")
    return done
