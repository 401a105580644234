"""The hiexplore command line: the same verbs the app pages use, as typer commands.

Errors of the project's own types print one clear message (no traceback) and exit with code 2.
"""

from __future__ import annotations

import ipaddress
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from .campaigns.cli import campaign_app
from .errors import HiexploreError

__all__ = ["DEFAULT_HOST", "app", "host_notice", "is_loopback", "main"]

#: where ``hiexplore app`` listens unless told otherwise: this machine only
DEFAULT_HOST = "127.0.0.1"

app = typer.Typer(
    name="hiexplore",
    help="Health-inequalities explorer: deprivation, cancer screening and immunisation uptake "
    "on neighbourhood maps, with flags and target lists for outreach.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

app.add_typer(campaign_app, name="campaign")


def _echo_err(msg: str) -> None:
    typer.echo(f"error: {msg}", err=True)


@app.command()
def build(
    source: Annotated[list[Path], typer.Option("--source", help="Folder of official files (repeatable).")],
    out: Annotated[Path, typer.Option("--out", help="Dataset folder to write (replaced atomically).")],
    areas: Annotated[
        str | None,
        typer.Option("--areas", help="Comma-separated LAD, county, ICB, sub-ICB or region codes to keep."),
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="Dataset name (default: folder name).")] = None,
    skip_damaged: Annotated[
        bool,
        typer.Option(
            "--skip-damaged",
            help="Go on without data files that cannot be opened (each is listed with its reason and "
            "recorded in the manifest as damaged_files); by default a damaged file stops the build.",
        ),
    ] = False,
    allow_unplaced: Annotated[
        bool,
        typer.Option(
            "--allow-unplaced",
            help="Build even if more than 5% of an ICB's commissioned practices (or patients) cannot be placed.",
        ),
    ] = False,
) -> None:
    """Read every official file recognised under the source folders and write the canonical dataset."""
    from .build import build_dataset

    codes = [c.strip() for c in areas.split(",") if c.strip()] if areas else None
    lines: list[str] = []

    def echo(line: str) -> None:
        lines.append(line)
        typer.echo(line)

    path = build_dataset(source, out, areas=codes, name=name, echo=echo, skip_damaged=skip_damaged,
                         allow_unplaced=allow_unplaced)
    _derive(path)
    # the build ends with its one summary line (files read, not recognised, damaged), after the flags
    summary = [ln for ln in lines if ln.startswith("files read: ")]
    if summary:
        typer.echo(summary[-1])


def _derive(path: Path) -> None:
    """Store the dataset's flags with it (``derived/``) and print what that added."""
    from .derived import derive_dataset

    derive_dataset(path, echo=typer.echo)


def _store_notes(ds: object) -> None:
    """Print what happened to the stored flags (recomputed, kept in memory only): never silent."""
    from .derived import store_notes

    for note in store_notes(ds):
        typer.echo(f"note: {note}", err=True)


@app.command()
def info(
    dataset: Annotated[Path, typer.Argument(help="Dataset folder.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the manifest as JSON.")] = False,
) -> None:
    """Show a dataset's manifest: sources, vintage, table counts, catchments, synthetic or not."""
    from .dataset import PracticeCounts, dataset_summary
    from .la_deprivation import MANIFEST_KEY, summary_for_path, summary_lines, summary_records

    man = dataset_summary(dataset)
    depr = summary_for_path(dataset, man)
    man[MANIFEST_KEY] = summary_records(depr)
    if as_json:
        typer.echo(json.dumps(man, indent=1, ensure_ascii=False))
        return
    typer.echo(f"Dataset: {man.get('name')}  ({man.get('path')})")
    typer.echo(f"Created: {man.get('created')}   hiexplore {man.get('hiexplore_version', '?')}")
    if man.get("synthetic"):
        typer.echo("SYNTHETIC: generated demo data, not real figures.")
    typer.echo(f"Geography vintage: LSOA {man.get('geography_vintage')}")
    typer.echo(f"Catchments: {man.get('catchments')}")
    if man.get("areas_filter"):
        typer.echo(f"Areas: {', '.join(man['areas_filter'])}")
    typer.echo("Tables:")
    for table, n in man.get("tables", {}).items():
        typer.echo(f"  {table:<14} {n:>10,} rows")
    typer.echo("Sources:")
    for src in man.get("sources", []):
        typer.echo(
            f"  - {src.get('title')} | {src.get('publisher')} | {src.get('period')} | "
            f"{src.get('licence')} | {src.get('file')} | sha256 {str(src.get('sha256', ''))[:16]}"
        )
    loaded = man.get("indicators_loaded", [])
    typer.echo(f"Indicators loaded ({len(loaded)}): {', '.join(loaded)}")
    for item in man.get("indicators_not_loaded", []):
        typer.echo(f"  not loaded: {item['indicator']} (load {item['load_with']})")
    from .build import left_out_lines

    for line in left_out_lines(man):
        typer.echo(line)
    if man.get("practice_membership"):
        own = sum(v for k, v in man["practice_membership"].items() if k != "catchment")
        typer.echo("GP practices: " + PracticeCounts(own, man["practice_membership"].get("catchment", 0)).sentence())
        typer.echo("Practices by membership (in_area_by): "
                   + ", ".join(f"{k} {v}" for k, v in man["practice_membership"].items()))
    from .dataset import unplaced_practices

    unplaced = unplaced_practices(man)
    if len(unplaced):
        typer.echo(f"Unplaced practices ({len(unplaced)}): not on the map, no catchment")
        for r in unplaced.itertuples():
            where = f"  [{r.areas}]" if r.areas else ""
            typer.echo(f"  {r.practice_code}  {r.practice_name or ''}  {r.postcode or '(no postcode)'}{where}  ({r.reason})")
    for note in man.get("notes", []):
        typer.echo(f"Note: {note}")
    typer.echo("Deprivation of the local authorities, upper tiers and ICBs (MHCLG's summary measures):")
    if depr.empty:
        typer.echo("  not available: the dataset has no IMD ranks")
    for line in summary_lines(depr):
        typer.echo(line)
    from .derived import derived_status

    typer.echo(f"Derived flags: {derived_status(dataset)}")


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Dataset folder to write.")],
    lsoas: Annotated[int, typer.Option("--lsoas", min=4, max=40000)] = 634,
    practices: Annotated[int, typer.Option("--practices", min=1, max=10000)] = 134,
    seed: Annotated[int, typer.Option("--seed")] = 1,
) -> None:
    """Write a SYNTHETIC dataset of the canonical shape (any size up to national), seeded."""
    from .demo import write_demo

    path = write_demo(out, lsoas, practices, seed)
    typer.echo(f"Wrote SYNTHETIC demo dataset ({lsoas} LSOAs, {practices} practices, seed {seed}) to {path}")
    _derive(path)


@app.command()
def fetch(
    sources: Annotated[list[str], typer.Argument(help="What to download; `hiexplore fetch list` shows the choices.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to download into (build reads it).")] = Path("downloads"),
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="Override the publisher's address (mirrors, tests).")
    ] = None,
    retries: Annotated[int, typer.Option("--retries", min=0, max=10)] = 3,
    release: Annotated[
        str | None,
        typer.Option("--release", help="ONSPD release for the onspd source: MAY_2020 (the default) or "
                     "LABEL:ITEMID for another (ITEMID: the 32-character ArcGIS item id of the release's page "
                     "on the ONS Open Geography Portal)."),
    ] = None,
) -> None:
    """Download official files (Fingertips, NHS Digital, IoD, ONS) into a folder that build reads."""
    from .fetch import fetch_sources

    fetch_sources(sources, out, base_url=base_url, retries=retries, echo=typer.echo, release=release)


@app.command()
def flags(
    dataset: Annotated[Path, typer.Option("--dataset", help="Dataset folder.")],
    indicator: Annotated[str, typer.Option("--indicator", help="Indicator key.")],
    geography: Annotated[str, typer.Option("--geography", help="lsoa, msoa, ward, lad, practice, pcn, icb or sub_icb.")],
    out: Annotated[Path, typer.Option("--out", help="Output file: .csv, .xlsx, .geojson or .gpkg.")],
    benchmark: Annotated[str, typer.Option("--benchmark", help="england, icb or an area code.")] = "england",
    period: Annotated[str | None, typer.Option("--period", help="Period (default: latest).")] = None,
) -> None:
    """Flag low-uptake areas: one row per area with CIs, benchmark, band, people to reach, reasons."""
    from .dataset import load_dataset
    from .derived import stored_flags
    from .exports import write_table

    ds = load_dataset(dataset)
    frame = stored_flags(ds, indicator, geography, period, benchmark=benchmark)
    _store_notes(ds)
    path = write_table(frame, out, ds=ds, kind="flags")
    n_flag = int(frame["flagged"].sum())
    typer.echo(f"{len(frame)} {geography} areas, {n_flag} flagged; wrote {path}")
    _echo_figure_notes(frame)


@app.command()
def targets(
    dataset: Annotated[Path, typer.Option("--dataset", help="Dataset folder.")],
    indicator: Annotated[str, typer.Option("--indicator", help="Indicator key(s), comma-separated.")],
    geography: Annotated[str, typer.Option("--geography", help="lsoa, msoa, ward, lad, practice, pcn, icb or sub_icb.")],
    out: Annotated[Path, typer.Option("--out", help="Output file: .csv, .xlsx, .geojson or .gpkg.")],
    top: Annotated[int | None, typer.Option("--top", min=1, help="Keep the N highest priorities.")] = None,
    benchmark: Annotated[str, typer.Option("--benchmark")] = "england",
) -> None:
    """Write the ranked outreach target list across one or more indicators."""
    from .dataset import load_dataset
    from .derived import stored_targets
    from .exports import write_table

    ds = load_dataset(dataset)
    keys = [k.strip() for k in indicator.split(",") if k.strip()]
    frame = stored_targets(ds, keys, geography, top=top, benchmark=benchmark)
    _store_notes(ds)
    path = write_table(frame, out, ds=ds, kind="targets")
    typer.echo(f"{len(frame)} target areas ranked; wrote {path}")
    _echo_figure_notes(frame)


@app.command()
def patches(
    dataset: Annotated[Path, typer.Option("--dataset", help="Dataset folder.")],
    indicator: Annotated[str, typer.Option("--indicator", help="Indicator key(s), comma-separated.")],
    out: Annotated[Path, typer.Option("--out", help="Output file: .csv, .xlsx, .geojson or .gpkg.")],
    geography: Annotated[str, typer.Option("--geography", help="lsoa, msoa or ward.")] = "lsoa",
    min_people: Annotated[
        int, typer.Option("--min-people", min=0, help="Floor: people to reach per patch.")
    ] = 150,
    max_km: Annotated[
        float,
        typer.Option("--max-km", min=0.0, help="Largest distance (km) between two area centroids of a patch."),
    ] = 3.0,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the max-p heuristic (same seed, same patches).")] = 0,
    bridges: Annotated[
        bool,
        typer.Option("--bridges/--no-bridges",
                     help="Let unflagged areas that touch two flagged parts join them (marked bridge_codes)."),
    ] = False,
) -> None:
    """Group flagged neighbourhoods into contiguous outreach patches a team can cover in a day."""
    from .dataset import load_dataset
    from .exports import write_table
    from .patches import build_patches

    ds = load_dataset(dataset)
    keys = [k.strip() for k in indicator.split(",") if k.strip()]
    frame = build_patches(ds, keys, geography, min_people=min_people, max_km=max_km, seed=seed,
                          bridges=bridges)
    _store_notes(ds)
    path = write_table(frame, out, ds=ds, kind="patches")
    info = frame.attrs.get("patches", {})
    if not info.get("flagged_areas"):
        typer.echo(f"No {geography} area is flagged on {', '.join(keys)}: there is nothing to group "
                   "(the file has no rows).")
    typer.echo(f"{info.get('patches', 0)} patches ({info.get('people_to_reach_in_patches', 0):,.0f} people to "
               f"reach), {info.get('areas_alone', 0)} flagged areas left alone "
               f"({info.get('people_to_reach_alone', 0):,.0f}); wrote {path}")
    typer.echo(f"Practice shares: {info.get('practices_basis')}")
    _echo_figure_notes(frame)


def _echo_figure_notes(frame: object) -> None:
    """Print what the export's metadata says about out-of-date and suppressed figures."""
    from .exports import figure_notes

    for field, text in figure_notes(frame.attrs):  # type: ignore[attr-defined]
        if field in ("period warning", "out of date", "suppressed", "funnel"):
            typer.echo(f"{field.capitalize()}: {text}")


@app.command()
def inequality(
    dataset: Annotated[Path, typer.Option("--dataset", help="Dataset folder.")],
    indicator: Annotated[str, typer.Option("--indicator", help="Indicator key.")],
    geography: Annotated[str, typer.Option("--geography", help="lsoa, msoa, ward, lad, practice, pcn, icb or sub_icb.")] = "lsoa",
    by: Annotated[str, typer.Option("--by", help="imd_decile or imd_quintile.")] = "imd_decile",
    period: Annotated[str | None, typer.Option("--period")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """The inequality gradient by deprivation, with the SII and RII and their 95% CIs."""
    from .dataset import load_dataset
    from .inequality_report import inequality_report

    ds = load_dataset(dataset)
    rep = inequality_report(ds, indicator, geography, by=by, period=period)
    if as_json:
        typer.echo(json.dumps(rep, default=float))
        return
    typer.echo(rep["text"])


@app.command()
def practices(
    dataset: Annotated[Path, typer.Option("--dataset", help="Dataset folder.")],
    indicator: Annotated[str, typer.Option("--indicator", help="Indicator key.")],
    out: Annotated[Path, typer.Option("--out", help="Output file: .csv, .xlsx, .geojson or .gpkg.")],
    pcn: Annotated[str | None, typer.Option("--pcn", help="Keep the practices of this PCN (code).")] = None,
    period: Annotated[str | None, typer.Option("--period", help="Period (default: latest).")] = None,
    overdispersion: Annotated[
        str, typer.Option("--overdispersion", help="Funnel limits: none, multiplicative or additive.")
    ] = "none",
) -> None:
    """Compare GP practices: CIs, rank in PCN and among deprivation peers, funnel status."""
    from .dataset import load_dataset
    from .exports import write_table
    from .practice_compare import compare_practices, filter_practices, practice_table

    ds = load_dataset(dataset)
    data = compare_practices(ds, indicator, period=period, overdispersion=overdispersion)
    table = practice_table(filter_practices(data, pcn=[pcn] if pcn else ()))
    table.insert(2, "pcn_code", data.loc[table.index, "pcn_code"])
    for col in ("geography", "indicator", "period"):
        table[col] = data.loc[table.index, col]
    path = write_table(table, out, ds=ds, kind="practices")
    n_flag = int(table["flagged"].sum())
    typer.echo(f"{len(table)} practices{f' in PCN {pcn}' if pcn else ''}, {n_flag} flagged; wrote {path}")


@app.command()
def profile(
    dataset: Annotated[Path, typer.Option("--dataset", help="Dataset folder.")],
    area: Annotated[str, typer.Option("--area", help="Area code (LSOA, MSOA, ward, LAD, PCN) or practice code.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """The profile of one area: every indicator there, its deprivation and the practices serving it."""
    from .dataset import load_dataset
    from .profile import area_profile

    ds = load_dataset(dataset)
    prof = area_profile(ds, area)
    if as_json:
        typer.echo(json.dumps(prof.to_dict(), ensure_ascii=False))
        return
    typer.echo(prof.text())


@app.command()
def brief(
    dataset: Annotated[Path, typer.Option("--dataset", help="Dataset folder.")],
    area: Annotated[str, typer.Option("--area", help="A PCN, ward, LAD or ICB code of the dataset.")],
    out: Annotated[Path, typer.Option("--out", help="Output file: .html (self-contained, offline) or .pdf.")],
    indicator: Annotated[
        str | None,
        typer.Option("--indicator", help="Indicator key(s), comma-separated, for targets, patches, practices and "
                     "the gradient (default: every loaded indicator; headline figures always cover all)."),
    ] = None,
) -> None:
    """Write a briefing pack on one area: headline figures and trends, map, targets, patches, practices, gradient, sources."""
    from .brief import briefing_pack, write_briefing
    from .dataset import load_dataset
    from .errors import RequestError

    if out.suffix.lower() not in (".html", ".pdf"):  # before the work: the name decides the format
        raise RequestError(f"--out {str(out)!r}: a briefing pack is written as .html or .pdf, got "
                           f"{out.suffix or 'no suffix'!r}.", valid=[".html", ".pdf"])
    ds = load_dataset(dataset)
    keys = [k.strip() for k in indicator.split(",") if k.strip()] if indicator else None
    pack = briefing_pack(ds, area, indicators=keys)
    _store_notes(ds)
    path = write_briefing(pack, out)
    typer.echo(f"Briefing pack for {pack.area_name} ({pack.area_code}, {pack.kind}): "
               f"{pack.people_to_reach:,.0f} people to reach in its flagged neighbourhoods; wrote {path}")
    for note in pack.caveats:
        typer.echo(f"Note: {note}")


@app.command()
def trend(
    dataset: Annotated[Path, typer.Option("--dataset", help="Dataset folder.")],
    indicator: Annotated[str, typer.Option("--indicator", help="Indicator key.")],
    geography: Annotated[str, typer.Option(
        "--geography", help="lsoa, msoa, ward, lad, practice, pcn, icb, sub_icb or utla (COVER upper-tier LA).")],
    area: Annotated[str | None, typer.Option("--area", help="One area's series (default: every area's trend).")] = None,
    period: Annotated[str | None, typer.Option("--period", help="Last period of the trend (default: latest).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """Recent trends (Fingertips' chi-squared test for trend, 5 latest periods of the same kind)."""
    from .dataset import load_dataset
    from .trends import area_trends, trend_series

    ds = load_dataset(dataset)
    if area:
        s = trend_series(ds, indicator, geography, area, period=period)
        if as_json:
            rows = s.assign(period_end=s["period_end"].dt.date.astype(str)).astype(object)
            typer.echo(json.dumps({**s.attrs, "source": ds.provenance_line(),
                                   "series": rows.where(rows.notna(), None).to_dict(orient="records")},
                                  ensure_ascii=False, default=str))
            return
        a = s.attrs
        typer.echo(f"{a['area_name']} ({a['area_code']}), {indicator}: recent trend {a['trend']} "
                   f"({a['trend_periods']}, {a['trend_points']} points)")
        typer.echo(s.drop(columns=["period_end"]).to_string(index=False, float_format=lambda v: f"{v:.1f}"))
        typer.echo(f"Method: {a['method']}. {ds.provenance_line()}")
        return
    t = area_trends(ds, indicator, geography, period=period)
    if as_json:
        rows = t.astype(object)
        typer.echo(json.dumps({"indicator": indicator, "geography": geography, "method": t.attrs["method"],
                               "periods": t.attrs["periods"], "source": ds.provenance_line(),
                               "areas": rows.where(rows.notna(), None).to_dict(orient="records")},
                              ensure_ascii=False, default=str))
        return
    typer.echo(t.to_string(index=False))
    typer.echo(f"{t['trend'].value_counts().to_dict()}. Method: {t.attrs['method']}.")


@app.command(name="map")
def map_cmd(
    dataset: Annotated[Path, typer.Option("--dataset", help="Dataset folder.")],
    indicator: Annotated[str, typer.Option("--indicator", help="Indicator key.")],
    geography: Annotated[str, typer.Option("--geography")] = "lsoa",
    out: Annotated[Path, typer.Option("--out", help="Output .html file.")] = Path("map.html"),
    layer: Annotated[str, typer.Option("--layer", help="uptake, deprivation or flags.")] = "uptake",
    period: Annotated[str | None, typer.Option("--period")] = None,
) -> None:
    """Write a standalone offline HTML map (legend, sources, tooltips) for reports and emails."""
    from .dataset import load_dataset
    from .mapping import indicator_map
    from .maps import save_map

    ds = load_dataset(dataset)
    m = indicator_map(ds, indicator, geography, layer=layer, period=period)
    _store_notes(ds)
    save_map(m, out)
    typer.echo(f"wrote {out}")


def is_loopback(host: str) -> bool:
    """True when ``host`` can only be reached from this machine (127.0.0.0/8, ::1, localhost).

    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0"), is_loopback("::")
    (True, True, False, False)
    """
    name = host.strip().strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # a host name or a network address: reachable from elsewhere


def host_notice(host: str, port: int) -> str | None:
    """The warning ``hiexplore app`` prints when it listens beyond this machine, else None.

    Why: the app has no sign-in of its own, so exposing it is a decision the person starting it
    must see; the README's "Security and data safety" section shows how to put it behind the
    organisation's sign-in (a reverse proxy).
    """
    if is_loopback(host):
        return None
    return (
        f"WARNING: hiexplore is listening on {host}:{port}, so other machines can reach it. "
        "The app has no sign-in of its own: anyone who can reach this address can see the data "
        "and upload files. For a shared deployment keep the default --host 127.0.0.1 and put the "
        "app behind your organisation's sign-in with a reverse proxy (README: 'Security and data "
        "safety')."
    )


def app_command(app_py: Path, port: int, host: str) -> list[str]:
    """The command ``hiexplore app`` starts: app_support/serve.py (warms up, then runs Streamlit on
    app.py in the same process) with the settings of .streamlit/config.toml (read only when started
    from the repository folder) given on the command line, so they hold from any folder (the
    theme's text colour is hiexplore.a11y's, for WCAG AA contrast)."""
    from .a11y import theme_flags

    serve_py = app_py.parent / "app_support" / "serve.py"
    return [sys.executable, str(serve_py), "--server.port", str(port),
            "--server.address", host,
            "--browser.gatherUsageStats", "false", "--client.toolbarMode", "viewer", *theme_flags()]


@app.command(name="app")
def app_cmd(
    dataset: Annotated[Path | None, typer.Option("--dataset", help="Dataset folder (default: embedded LLR).")] = None,
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8501,
    host: Annotated[
        str,
        typer.Option(
            "--host",
            help="Address to listen on. The default, 127.0.0.1, is this machine only; 0.0.0.0 exposes "
            "the app to the network on purpose (it has no sign-in of its own).",
        ),
    ] = DEFAULT_HOST,
) -> None:
    """Open the Streamlit app (on the embedded Leicester, Leicestershire and Rutland data by default).

    Before it listens, the server warms up (``app_support/serve.py``): it stores the dataset's
    derived flags if they are absent or stale (with progress), imports the pages' libraries and
    loads the dataset once for every session, so the first pages answer at once (issue 13).
    """
    import os
    import subprocess

    if not host.strip() or any(ch.isspace() for ch in host):
        raise HiexploreError(f"--host {host!r} is not an address; expected e.g. 127.0.0.1 or 0.0.0.0")

    app_py = Path(__file__).resolve().parents[2] / "app.py"
    if not app_py.is_file():
        raise HiexploreError(f"app.py not found beside the package ({app_py}); run from a source checkout")
    env = dict(os.environ)
    if dataset is not None:
        env["HIEXPLORE_DATASET"] = str(dataset.resolve())
    cmd = app_command(app_py, port, host)
    notice = host_notice(host, port)
    if notice:
        typer.echo(notice, err=True)
    raise typer.Exit(subprocess.call(cmd, env=env))


def main() -> None:
    """Entry point: run the typer app, turning hiexplore errors into one clear message."""
    try:
        app()
    except HiexploreError as err:
        _echo_err(str(err))
        sys.exit(2)
