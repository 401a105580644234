"""``hiexplore campaign ...``: the campaign log and its evaluation from the command line.

The database is ``HIEXPLORE_DB`` (any SQLAlchemy URL) or ``data/campaigns.sqlite``; it is
migrated on first use. Errors print one message and exit 2, as every hiexplore command does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import RequestError

__all__ = ["campaign_app"]

campaign_app = typer.Typer(
    name="campaign",
    help="The campaign log (what was done where) and 'did it work' (difference-in-differences).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _dataset(path: Path | None) -> Any:
    from ..dataset import load_dataset
    from .store import default_dataset_path

    chosen = path or default_dataset_path()
    if not (Path(chosen) / "manifest.json").is_file():
        raise RequestError(f"No dataset at {chosen}: give --dataset with a folder built by `hiexplore build`.")
    return load_dataset(chosen)


def _store() -> Any:
    from .store import get_store

    return get_store()


def _print_campaign(c: dict[str, Any]) -> None:
    typer.echo(f"Campaign {c['id']}: {c['name']}  [{c['status']}]")
    typer.echo(f"  programmes : {', '.join(c['indicators'])}")
    typer.echo(f"  team       : {c['team']}")
    typer.echo(f"  dates      : {c['start_date']} to {c['end_date'] or '(open)'}")
    typer.echo(f"  areas      : {', '.join(c['areas']) or '-'}")
    typer.echo(f"  practices  : {', '.join(c['practices']) or '-'}")
    if c["notes"]:
        typer.echo(f"  notes      : {c['notes']}")
    typer.echo(f"  dataset    : {c['dataset'] or '-'}")
    typer.echo(f"  recorded   : {c['recorded_at']} by {c['recorded_by']} (updated {c['updated_at']}, "
               f"version {c['version']})")


@campaign_app.command("add")
def add(
    name: Annotated[str, typer.Option("--name", help="Campaign name.")],
    indicator: Annotated[str, typer.Option("--indicator", help="Indicator key(s), comma-separated.")],
    team: Annotated[str, typer.Option("--team", help="Team that ran it.")],
    start: Annotated[str, typer.Option("--start", help="Start date, YYYY-MM-DD.")],
    areas: Annotated[
        str | None, typer.Option("--areas", help="LSOA, MSOA, ward, PCN or LA codes, comma-separated.")
    ] = None,
    end: Annotated[str | None, typer.Option("--end", help="End date, YYYY-MM-DD.")] = None,
    practices: Annotated[str | None, typer.Option("--practices", help="GP practice codes, comma-separated.")] = None,
    notes: Annotated[str, typer.Option("--notes", help="Free text.")] = "",
    dataset: Annotated[Path | None, typer.Option("--dataset", help="Dataset whose codes are checked (default: embedded LLR).")] = None,
) -> None:
    """Record a campaign; prints its new integer id."""
    ds = _dataset(dataset)
    new_id = _store().add(name=name, indicators=indicator, team=team, start=start, end=end, areas=areas,
                          practices=practices, notes=notes, ds=ds)
    typer.echo(str(new_id))


@campaign_app.command("list")
def list_cmd(as_json: Annotated[bool, typer.Option("--json", help="A JSON array.")] = False) -> None:
    """Every campaign, oldest first."""
    rows = _store().list()
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    if not rows:
        typer.echo("No campaigns recorded yet (hiexplore campaign add ...).")
        return
    typer.echo(f"{'id':>4}  {'status':<6}  {'start':<10}  {'end':<10}  {'team':<16}  name (programmes; areas)")
    for c in rows:
        typer.echo(f"{c['id']:>4}  {c['status']:<6}  {c['start_date']:<10}  {(c['end_date'] or '-'):<10}  "
                   f"{c['team'][:16]:<16}  {c['name']} ({', '.join(c['indicators'])}; "
                   f"{len(c['areas'])} areas, {len(c['practices'])} practices)")


@campaign_app.command("show")
def show(
    campaign_id: Annotated[int, typer.Argument(help="Campaign id.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """One campaign in full."""
    c = _store().get(campaign_id)
    if as_json:
        typer.echo(json.dumps(c, ensure_ascii=False))
    else:
        _print_campaign(c)


@campaign_app.command("edit")
def edit(
    campaign_id: Annotated[int, typer.Argument(help="Campaign id.")],
    name: Annotated[str | None, typer.Option("--name")] = None,
    indicator: Annotated[str | None, typer.Option("--indicator")] = None,
    team: Annotated[str | None, typer.Option("--team")] = None,
    start: Annotated[str | None, typer.Option("--start")] = None,
    end: Annotated[str | None, typer.Option("--end")] = None,
    areas: Annotated[str | None, typer.Option("--areas")] = None,
    practices: Annotated[str | None, typer.Option("--practices")] = None,
    notes: Annotated[str | None, typer.Option("--notes")] = None,
    dataset: Annotated[Path | None, typer.Option("--dataset")] = None,
) -> None:
    """Change some fields of a campaign (only those given)."""
    given = {"name": name, "indicators": indicator, "team": team, "start_date": start, "end_date": end,
             "areas": areas, "practices": practices, "notes": notes}
    changes = {k: v for k, v in given.items() if v is not None}
    if not changes:
        raise RequestError("Nothing to change: give at least one of --name, --indicator, --team, --start, --end, "
                           "--areas, --practices, --notes.")
    ds = _dataset(dataset) if {"indicators", "areas", "practices"} & set(changes) else None
    _print_campaign(_store().edit(campaign_id, ds=ds, **changes))


@campaign_app.command("close")
def close(
    campaign_id: Annotated[int, typer.Argument(help="Campaign id.")],
    end: Annotated[str, typer.Option("--end", help="End date, YYYY-MM-DD.")],
) -> None:
    """Close a campaign on its end date."""
    c = _store().close(campaign_id, end)
    typer.echo(f"Closed campaign {c['id']} ({c['name']}) on {c['end_date']}.")


@campaign_app.command("export")
def export(out: Annotated[Path, typer.Option("--out", help="Output file: .csv or .xlsx.")]) -> None:
    """Write every campaign to CSV or XLSX."""
    path = _store().export(out)
    typer.echo(f"wrote {path}")


@campaign_app.command("evaluate")
def evaluate(
    campaign_id: Annotated[int, typer.Argument(help="Campaign id.")],
    dataset: Annotated[Path | None, typer.Option("--dataset", help="Dataset folder (default: embedded LLR).")] = None,
    indicator: Annotated[str | None, typer.Option("--indicator", help="Which programme (default: the first).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """Did it work: difference-in-differences against matched comparison areas, with the caveats."""
    from .evaluate import evaluate_campaign

    store = _store()
    c = store.get(campaign_id)
    ds = _dataset(dataset)
    r = evaluate_campaign(ds, c, indicator=indicator, others=store.list())
    if as_json:
        typer.echo(json.dumps(r, ensure_ascii=False, default=str))
        return
    typer.echo(f"Campaign {c['id']}: {c['name']} - {r['indicator_name']} ({r['geography']} level, dataset {r['dataset']})")
    typer.echo(r["verdict"])
    if r["effect"] is not None:
        typer.echo(f"Effect: {r['effect']:+.2f} percentage points (95% CI {r['lower_ci']:+.2f} to {r['upper_ci']:+.2f})")
    typer.echo(f"Quarters: {r['quarters_before']} before, {r['quarters_after']} after (start quarter {r['start_quarter']})")
    typer.echo(f"Targeted: {', '.join(t['code'] for t in r['treated'])}")
    shown = ", ".join(f"{x['code']} ({x['name']})" for x in r["comparison"])
    typer.echo(f"Comparison ({len(r['comparison'])}): {shown}")
    if r["event_study"]:
        typer.echo("Event study (effect per quarter relative to the start; -1 is the reference):")
        for e in r["event_study"]:
            typer.echo(f"  {e['relative_quarter']:>+3d}  {e['period']}  {e['effect']:+6.2f}  "
                       f"[{e['lower_ci']:+.2f}, {e['upper_ci']:+.2f}]")
    typer.echo("What it can and cannot show:")
    for line in r["caveats"]:
        typer.echo(f"  - {line}")
    typer.echo(f"Method: {r['method']}")
    typer.echo(r["source"])
