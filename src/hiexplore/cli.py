"""The hiexplore command line: the same verbs the app pages use, as typer commands.

Errors of the project's own types print one clear message (no traceback) and exit with code 2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from .campaigns.cli import campaign_app
from .errors import HiexploreError

__all__ = ["app", "main"]

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
) -> None:
    """Read every official file recognised under the source folders and write the canonical dataset."""
    from .build import build_dataset

    codes = [c.strip() for c in areas.split(",") if c.strip()] if areas else None
    build_dataset(source, out, areas=codes, name=name, echo=typer.echo)


@app.command()
def info(
    dataset: Annotated[Path, typer.Argument(help="Dataset folder.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the manifest as JSON.")] = False,
) -> None:
    """Show a dataset's manifest: sources, vintage, table counts, catchments, synthetic or not."""
    from .dataset import dataset_summary

    man = dataset_summary(dataset)
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
    for note in man.get("notes", []):
        typer.echo(f"Note: {note}")


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


@app.command()
def fetch(
    sources: Annotated[list[str], typer.Argument(help="What to download; `hiexplore fetch list` shows the choices.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to download into (build reads it).")] = Path("downloads"),
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="Override the publisher's address (mirrors, tests).")
    ] = None,
    retries: Annotated[int, typer.Option("--retries", min=0, max=10)] = 3,
) -> None:
    """Download official files (Fingertips, NHS Digital, IoD, ONS) into a folder that build reads."""
    from .fetch import fetch_sources

    fetch_sources(sources, out, base_url=base_url, retries=retries, echo=typer.echo)


@app.command()
def flags(
    dataset: Annotated[Path, typer.Option("--dataset", help="Dataset folder.")],
    indicator: Annotated[str, typer.Option("--indicator", help="Indicator key.")],
    geography: Annotated[str, typer.Option("--geography", help="lsoa, msoa, ward, lad, practice or pcn.")],
    out: Annotated[Path, typer.Option("--out", help="Output file: .csv, .xlsx, .geojson or .gpkg.")],
    benchmark: Annotated[str, typer.Option("--benchmark", help="england, icb or an area code.")] = "england",
    period: Annotated[str | None, typer.Option("--period", help="Period (default: latest).")] = None,
) -> None:
    """Flag low-uptake areas: one row per area with CIs, benchmark, band, people to reach, reasons."""
    from .dataset import load_dataset
    from .exports import write_table
    from .flags import compute_flags

    ds = load_dataset(dataset)
    frame = compute_flags(ds, indicator, geography, benchmark=benchmark, period=period)
    path = write_table(frame, out, ds=ds, kind="flags")
    n_flag = int(frame["flagged"].sum())
    typer.echo(f"{len(frame)} {geography} areas, {n_flag} flagged; wrote {path}")


@app.command()
def targets(
    dataset: Annotated[Path, typer.Option("--dataset", help="Dataset folder.")],
    indicator: Annotated[str, typer.Option("--indicator", help="Indicator key(s), comma-separated.")],
    geography: Annotated[str, typer.Option("--geography", help="lsoa, msoa, ward, lad, practice or pcn.")],
    out: Annotated[Path, typer.Option("--out", help="Output file: .csv, .xlsx, .geojson or .gpkg.")],
    top: Annotated[int | None, typer.Option("--top", min=1, help="Keep the N highest priorities.")] = None,
    benchmark: Annotated[str, typer.Option("--benchmark")] = "england",
) -> None:
    """Write the ranked outreach target list across one or more indicators."""
    from .dataset import load_dataset
    from .exports import write_table
    from .flags import compute_targets

    ds = load_dataset(dataset)
    keys = [k.strip() for k in indicator.split(",") if k.strip()]
    frame = compute_targets(ds, keys, geography, top=top, benchmark=benchmark)
    path = write_table(frame, out, ds=ds, kind="targets")
    typer.echo(f"{len(frame)} target areas ranked; wrote {path}")


@app.command()
def inequality(
    dataset: Annotated[Path, typer.Option("--dataset", help="Dataset folder.")],
    indicator: Annotated[str, typer.Option("--indicator", help="Indicator key.")],
    geography: Annotated[str, typer.Option("--geography", help="lsoa, msoa, ward, lad, practice or pcn.")] = "lsoa",
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
    save_map(m, out)
    typer.echo(f"wrote {out}")


@app.command(name="app")
def app_cmd(
    dataset: Annotated[Path | None, typer.Option("--dataset", help="Dataset folder (default: embedded LLR).")] = None,
    port: Annotated[int, typer.Option("--port")] = 8501,
) -> None:
    """Open the Streamlit app (on the embedded Leicester, Leicestershire and Rutland data by default)."""
    import os
    import subprocess

    app_py = Path(__file__).resolve().parents[2] / "app.py"
    if not app_py.is_file():
        raise HiexploreError(f"app.py not found beside the package ({app_py}); run from a source checkout")
    env = dict(os.environ)
    if dataset is not None:
        env["HIEXPLORE_DATASET"] = str(dataset.resolve())
    cmd = [sys.executable, "-m", "streamlit", "run", str(app_py), "--server.port", str(port),
           "--browser.gatherUsageStats", "false", "--client.toolbarMode", "viewer"]
    raise typer.Exit(subprocess.call(cmd, env=env))


def main() -> None:
    """Entry point: run the typer app, turning hiexplore errors into one clear message."""
    try:
        app()
    except HiexploreError as err:
        _echo_err(str(err))
        sys.exit(2)
