"""The campaign log's store: SQLite beside the datasets by default, any SQLAlchemy URL by ``HIEXPLORE_DB``.

The embedded default is ``data/campaigns.sqlite`` (WAL mode, a busy timeout so that two app
sessions writing at once wait for each other instead of failing); a team's shared server is
``HIEXPLORE_DB=postgresql+psycopg://user:password@host/db`` (psycopg 3). The same models and
Alembic migrations serve both, and every store migrates an older database to the newest revision
on first use (:func:`migrate`).

Every write is validated first (:func:`validate_campaign`): a bad value (end before start, an
unknown area, practice or indicator) raises :class:`~hiexplore.errors.RequestError` with a clear
message and writes nothing. An edit names the version it was made from; if another session saved
the campaign in between, the edit is refused (:class:`CampaignConflict`) rather than overwriting it.
"""

from __future__ import annotations

import getpass
import os
import threading
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from ..catalogue import catalogue
from ..errors import HiexploreError, RequestError
from .models import Campaign

__all__ = [
    "DB_ENV",
    "EXPORT_COLUMNS",
    "CampaignConflict",
    "CampaignDatabaseError",
    "CampaignStore",
    "default_dataset_path",
    "redact_url",
    "default_db_url",
    "get_store",
    "head_revision",
    "current_revision",
    "migrate",
    "parse_date",
    "split_codes",
    "validate_campaign",
]

DB_ENV = "HIEXPLORE_DB"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
EXPORT_COLUMNS = [
    "id", "name", "indicators", "team", "start_date", "end_date", "status", "areas", "practices", "notes",
    "dataset", "recorded_by", "recorded_at", "updated_at", "closed_at", "version",
]


class CampaignConflict(HiexploreError):
    """An edit was made from a stale copy: another session saved the campaign in between."""


class CampaignDatabaseError(HiexploreError):
    """The campaign database could not be opened or migrated (names it, without the password)."""


def _repo_data_dir() -> Path:
    """``data/`` of the source checkout (where the app finds its datasets), else ``./data``."""
    repo = Path(__file__).resolve().parents[3]
    if (repo / "pyproject.toml").is_file() and (repo / "data").is_dir():
        return repo / "data"
    return Path.cwd() / "data"


def default_dataset_path() -> Path:
    """``HIEXPLORE_DATASET`` if set, else the embedded ``data/llr`` (what the app opens on)."""
    env = os.environ.get("HIEXPLORE_DATASET", "").strip()
    return Path(env) if env else _repo_data_dir() / "llr"


def default_db_url() -> str:
    """``HIEXPLORE_DB`` if set, else the SQLite file ``data/campaigns.sqlite`` beside the datasets."""
    env = os.environ.get(DB_ENV, "").strip()
    if env:
        return env
    return f"sqlite:///{_repo_data_dir() / 'campaigns.sqlite'}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str:
    """The newest migration's revision id."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None: never migrated)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def migrate(engine: Engine, revision: str = "head") -> str | None:
    """Bring the database to ``revision`` (default: the newest) with Alembic; returns where it is."""
    cfg = _alembic_config()
    with engine.begin() as conn:
        # one migrator at a time: two sessions opening a new database at once must not both create it
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(4815162342)")
        elif conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock now (waits up to the busy timeout)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    return current_revision(engine)


def parse_date(value: str | date | None, what: str) -> date | None:
    """A ``YYYY-MM-DD`` date, or a message naming the field and the value."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise RequestError(f"{what} {str(value)!r} is not a date of the form YYYY-MM-DD.") from None


def split_codes(value: str | Iterable[str] | None) -> list[str]:
    """``"A, B,,C"`` or an iterable -> ``["A", "B", "C"]`` (stripped, empty items dropped, order kept)."""
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    out: list[str] = []
    for item in items:
        code = str(item).strip()
        if code and code not in out:
            out.append(code)
    return out


def known_area_codes(ds: object) -> dict[str, str]:
    """Area code -> its type (lsoa, msoa, ward, pcn, lad, utla, icb) for every area of the dataset."""
    areas: pd.DataFrame = ds.areas  # type: ignore[attr-defined]
    known = dict(zip(areas["area_code"].astype(str), areas["area_type"].astype(str), strict=True))
    lookup: pd.DataFrame = ds.lookup  # type: ignore[attr-defined]
    if "utla_code" in lookup:
        for code in lookup["utla_code"].dropna().astype(str).unique():
            known.setdefault(code, "utla")
    return known


def validate_campaign(fields: dict[str, Any], ds: object | None) -> dict[str, Any]:
    """Check a campaign's fields; returns them cleaned. Raises RequestError before anything is written.

    Names and teams must be given; dates are ``YYYY-MM-DD`` and the end is not before the start;
    indicator keys are the catalogue's (and, with a dataset, ones it holds); area and practice
    codes must exist in the dataset (when one is given).
    """
    out = dict(fields)
    for key in ("name", "team"):
        if key in out:
            out[key] = str(out[key] or "").strip()
            if not out[key]:
                raise RequestError(f"The campaign's {key} is empty: give a {key}.")
            if len(out[key]) > 200:
                raise RequestError(f"The campaign's {key} is longer than 200 characters.")
    if "start_date" in out:
        out["start_date"] = parse_date(out["start_date"], "start date")
        if out["start_date"] is None:
            raise RequestError("The campaign's start date is missing: give --start YYYY-MM-DD.")
    if "end_date" in out:
        out["end_date"] = parse_date(out["end_date"], "end date")
    start, end = out.get("start_date"), out.get("end_date")
    if start is not None and end is not None and end < start:
        raise RequestError(f"The end date {end.isoformat()} is before the start date {start.isoformat()}.")
    if "indicators" in out:
        keys = split_codes(out["indicators"])
        if not keys:
            raise RequestError("No indicator given: name at least one programme (indicator key).",
                               valid=list(catalogue()))
        valid = ds.indicator_keys() if ds is not None else list(catalogue())  # type: ignore[attr-defined]
        bad = [k for k in keys if k not in valid]
        if bad:
            where = f" in dataset {ds.name}" if ds is not None else ""  # type: ignore[attr-defined]
            raise RequestError(f"Unknown indicator {', '.join(map(repr, bad))}{where}.", valid=valid)
        out["indicators"] = keys
    for key in ("areas", "practices"):
        if key in out:
            out[key] = split_codes(out[key])
    if "areas" in out and ds is not None:
        known = known_area_codes(ds)
        bad = [c for c in out["areas"] if c not in known]
        if bad:
            raise RequestError(
                f"Unknown area code {', '.join(map(repr, bad[:10]))}{' ...' if len(bad) > 10 else ''}: not an "
                f"LSOA, MSOA, ward, PCN, local authority or ICB code of dataset {ds.name}."  # type: ignore[attr-defined]
            )
    if "practices" in out and ds is not None:
        known_p = set(ds.practices["practice_code"].astype(str))  # type: ignore[attr-defined]
        bad = [c for c in out["practices"] if c not in known_p]
        if bad:
            raise RequestError(
                f"Unknown practice code {', '.join(map(repr, bad[:10]))}{' ...' if len(bad) > 10 else ''}: "
                f"not a GP practice of dataset {ds.name}."  # type: ignore[attr-defined]
            )
    if "notes" in out:
        out["notes"] = str(out["notes"] or "")
    return out


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _as_utc(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes for stored UTC ones; PostgreSQL returns aware ones."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def campaign_dict(c: Campaign) -> dict[str, Any]:
    """A campaign as plain JSON-ready values (ISO dates), with its status (open or closed)."""
    closed = c.closed_at is not None
    return {
        "id": c.id,
        "name": c.name,
        "indicators": list(c.indicators or []),
        "team": c.team,
        "start_date": c.start_date.isoformat(),
        "end_date": c.end_date.isoformat() if c.end_date else None,
        "status": "closed" if closed else "open",
        "areas": list(c.areas or []),
        "practices": list(c.practices or []),
        "notes": c.notes or "",
        "dataset": c.dataset,
        "recorded_by": c.recorded_by,
        "recorded_at": _as_utc(c.recorded_at).isoformat(),  # type: ignore[union-attr]
        "updated_at": _as_utc(c.updated_at).isoformat(),  # type: ignore[union-attr]
        "closed_at": _as_utc(c.closed_at).isoformat() if c.closed_at else None,
        "version": c.version,
    }


class CampaignStore:
    """Add, edit, close, list and export campaigns in one database (migrated on first use)."""

    def __init__(self, url: str | None = None, *, auto_migrate: bool = True) -> None:
        self.url = url or default_db_url()
        try:
            self.engine = _make_engine(self.url)
            if auto_migrate:
                migrate(self.engine)
        except (SQLAlchemyError, OSError) as err:
            reason = str(getattr(err, "orig", None) or err).strip().splitlines()[0]
            raise CampaignDatabaseError(
                f"The campaign database {redact_url(self.url)} could not be opened: {reason} "
                f"(set {DB_ENV} to a reachable database URL)."
            ) from err
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def session(self) -> Session:
        return self._sessions()

    def add(
        self,
        *,
        name: str,
        indicators: str | Sequence[str],
        team: str,
        start: str | date,
        end: str | date | None = None,
        areas: str | Sequence[str] | None = None,
        practices: str | Sequence[str] | None = None,
        notes: str = "",
        ds: object | None = None,
        recorded_by: str | None = None,
    ) -> int:
        """Record a campaign (validated against ``ds`` when given); returns its new integer id."""
        fields = validate_campaign(
            {"name": name, "indicators": indicators, "team": team, "start_date": start, "end_date": end,
             "areas": areas, "practices": practices, "notes": notes},
            ds,
        )
        if not fields["areas"] and not fields["practices"]:
            raise RequestError("No areas or practices given: a campaign targets at least one area or practice.")
        now = _now()
        row = Campaign(
            **fields,
            dataset=(ds.name if ds is not None else None),  # type: ignore[attr-defined]
            recorded_by=(recorded_by or _user()).strip() or _user(),
            recorded_at=now,
            updated_at=now,
            closed_at=None,
        )
        with self.session() as s, s.begin():
            s.add(row)
            s.flush()
            new_id = int(row.id)
        return new_id

    def _row(self, s: Session, campaign_id: int) -> Campaign:
        row = s.get(Campaign, int(campaign_id))
        if row is None:
            ids = s.scalars(select(Campaign.id).order_by(Campaign.id)).all()
            raise RequestError(f"No campaign with id {campaign_id}.", valid=[str(i) for i in ids])
        return row

    def get(self, campaign_id: int) -> dict[str, Any]:
        with self.session() as s:
            return campaign_dict(self._row(s, campaign_id))

    def list(self) -> list[dict[str, Any]]:  # noqa: A003 - the verb of the contract
        with self.session() as s:
            rows = s.scalars(select(Campaign).order_by(Campaign.id)).all()
            return [campaign_dict(r) for r in rows]

    def edit(self, campaign_id: int, *, version: int | None = None, ds: object | None = None,
             _close: bool = False, **changes: Any) -> dict[str, Any]:
        """Change some fields; ``version`` (from :meth:`get`) refuses an edit of a stale copy."""
        allowed = {"name", "indicators", "team", "start_date", "end_date", "areas", "practices", "notes"}
        unknown = sorted(set(changes) - allowed)
        if unknown:
            raise RequestError(f"Cannot edit {', '.join(unknown)}.", valid=sorted(allowed))
        fields = validate_campaign(changes, ds)
        try:
            with self.session() as s, s.begin():
                row = self._row(s, campaign_id)
                if version is not None and row.version != version:
                    raise CampaignConflict(
                        f"Campaign {campaign_id} was changed by someone else since you opened it (version "
                        f"{row.version}, yours {version}): reload it and make your change again."
                    )
                merged_start = fields.get("start_date", row.start_date)
                merged_end = fields.get("end_date", row.end_date)
                if merged_end is not None and merged_end < merged_start:
                    raise RequestError(f"The end date {merged_end.isoformat()} is before the start date "
                                       f"{merged_start.isoformat()}.")
                if not fields.get("areas", row.areas) and not fields.get("practices", row.practices):
                    raise RequestError("No areas or practices left: a campaign targets at least one.")
                for key, value in fields.items():
                    setattr(row, key, value)
                row.updated_at = _now()
                if _close:
                    row.closed_at = row.updated_at
        except StaleDataError:
            raise CampaignConflict(
                f"Campaign {campaign_id} was changed by someone else while you saved: reload it and try again."
            ) from None
        return self.get(campaign_id)

    def close(self, campaign_id: int, end: str | date, *, version: int | None = None) -> dict[str, Any]:
        """Set the end date and mark the campaign closed (the end may not be before the start)."""
        end_date = parse_date(end, "end date")
        if end_date is None:
            raise RequestError("Closing a campaign needs its end date (YYYY-MM-DD).")
        return self.edit(campaign_id, version=version, end_date=end_date, _close=True)

    def frame(self) -> pd.DataFrame:
        """Every campaign as one row (lists joined with commas), in :data:`EXPORT_COLUMNS` order."""
        rows = self.list()
        frame = pd.DataFrame(rows, columns=EXPORT_COLUMNS)
        for col in ("indicators", "areas", "practices"):
            frame[col] = frame[col].map(lambda v: ",".join(v) if isinstance(v, list) else "")
        return frame

    def export(self, path: str | Path) -> Path:
        """Write every campaign to ``.csv`` or ``.xlsx`` (formula-like text neutralised)."""
        from ..exports import neutralise_formulas

        path = Path(path)
        ext = path.suffix.lower()
        if ext not in (".csv", ".xlsx"):
            raise RequestError(f"Cannot export campaigns to {path.name!r}: use a .csv or .xlsx file name.",
                               valid=[".csv", ".xlsx"])
        frame = neutralise_formulas(self.frame())
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
        try:
            if ext == ".csv":
                frame.to_csv(tmp, index=False)
            else:
                with pd.ExcelWriter(tmp, engine="xlsxwriter") as xw:
                    frame.to_excel(xw, sheet_name="campaigns", index=False)
                    pd.DataFrame(
                        [("generated", _now().isoformat()), ("content", "hiexplore campaign log"),
                         ("database", redact_url(self.url))],
                        columns=["field", "value"],
                    ).to_excel(xw, sheet_name="metadata", index=False)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return path

    def dispose(self) -> None:
        self.engine.dispose()


def redact_url(url: str) -> str:
    """A database URL without its password (for metadata and messages)."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a malformed URL is shown as given, minus nothing secret
        return url.split("@")[-1]


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return "unknown"


_STORES: dict[str, CampaignStore] = {}
_LOCK = threading.Lock()


def get_store(url: str | None = None) -> CampaignStore:
    """One store (engine, migrated once) per database URL in this process."""
    key = url or default_db_url()
    with _LOCK:
        if key not in _STORES:
            _STORES[key] = CampaignStore(key)
        return _STORES[key]
