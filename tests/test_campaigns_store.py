"""The campaign log's store on SQLite and on a real PostgreSQL server (started by the suite).

Add, get, edit, close, list and export; bad values write nothing; two sessions writing at once
lose nothing; an older database is migrated on first use; SQLite runs in WAL mode.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from hiexplore.campaigns.store import (
    CampaignConflict,
    CampaignStore,
    current_revision,
    default_db_url,
    head_revision,
    migrate,
)
from hiexplore.dataset import load_dataset
from hiexplore.errors import RequestError


@pytest.fixture(scope="module")
def llr(embedded_dataset: Path):
    return load_dataset(embedded_dataset)


def _add(store: CampaignStore, ds, **kw) -> int:
    fields = {"name": "MMR catch-up", "indicators": "mmr1_24m", "team": "Leicester CDT", "start": "2024-01-15",
              "areas": "E01013600,E01013601", "practices": "C82001", "notes": "door-knocking", "ds": ds}
    fields.update(kw)
    return store.add(**fields)


def test_add_show_edit_close_list_export(db_url: str, llr, tmp_path: Path) -> None:
    store = CampaignStore(db_url)
    cid = _add(store, llr, recorded_by="A. Analyst")
    assert isinstance(cid, int) and cid >= 1
    c = store.get(cid)
    assert c["name"] == "MMR catch-up" and c["indicators"] == ["mmr1_24m"]
    assert c["areas"] == ["E01013600", "E01013601"] and c["practices"] == ["C82001"]
    assert c["start_date"] == "2024-01-15" and c["end_date"] is None and c["status"] == "open"
    assert c["dataset"] == "llr" and c["recorded_by"] == "A. Analyst" and c["version"] == 1
    assert datetime.fromisoformat(c["recorded_at"]).tzinfo is not None
    edited = store.edit(cid, version=1, notes="door-knocking and clinics", ds=llr)
    assert edited["notes"] == "door-knocking and clinics" and edited["version"] == 2
    closed = store.close(cid, "2024-03-31")
    assert closed["status"] == "closed" and closed["end_date"] == "2024-03-31" and closed["closed_at"]
    cid2 = _add(store, llr, name="=HYPERLINK(\"x\")", areas="E05005479", practices=None)
    assert [c["id"] for c in store.list()] == [cid, cid2]
    csv = store.export(tmp_path / "log.csv")
    back = pd.read_csv(csv)
    assert list(back.columns)[:4] == ["id", "name", "indicators", "team"]
    assert back.loc[0, "status"] == "closed" and back.loc[0, "areas"] == "E01013600,E01013601"
    assert back.loc[1, "name"].startswith("'=")  # a formula stays text in a spreadsheet
    xlsx = store.export(tmp_path / "log.xlsx")
    sheets = pd.read_excel(xlsx, sheet_name=None)
    assert set(sheets) == {"campaigns", "metadata"} and len(sheets["campaigns"]) == 2
    with pytest.raises(RequestError, match=r"\.csv or \.xlsx"):
        store.export(tmp_path / "log.json")
    store.dispose()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"end": "2023-12-31"}, "end date 2023-12-31 is before the start date 2024-01-15"),
        ({"areas": "E01013600,E0NOTANAREA"}, "Unknown area code 'E0NOTANAREA'"),
        ({"indicators": "mmr1_24m,not_a_programme"}, "Unknown indicator 'not_a_programme'"),
        ({"practices": "Z99999"}, "Unknown practice code 'Z99999'"),
        ({"start": "15/01/2024"}, "start date '15/01/2024' is not a date of the form YYYY-MM-DD"),
        ({"name": "  "}, "name is empty"),
        ({"areas": "", "practices": ""}, "No areas or practices given"),
    ],
)
def test_bad_value_gets_a_clear_message_and_writes_nothing(db_url: str, llr, change: dict, message: str) -> None:
    store = CampaignStore(db_url)
    with pytest.raises(RequestError, match=message.replace("(", r"\(").replace(".", r"\.")):
        _add(store, llr, **change)
    assert store.list() == []
    store.dispose()


def test_bad_edit_writes_nothing(db_url: str, llr) -> None:
    store = CampaignStore(db_url)
    cid = _add(store, llr)
    with pytest.raises(RequestError, match="before the start date"):
        store.edit(cid, end_date="2020-01-01", notes="changed")
    with pytest.raises(RequestError, match="Unknown area code"):
        store.edit(cid, areas="NOPE", ds=llr)
    after = store.get(cid)
    assert after["notes"] == "door-knocking" and after["areas"] == ["E01013600", "E01013601"]
    with pytest.raises(RequestError, match="No campaign with id 999"):
        store.get(999)
    store.dispose()


def test_two_sessions_writing_at_once_lose_nothing(db_url: str, llr) -> None:
    """Two sessions (own engines, as two app processes would have) open a new database, then add and
    edit at the same time."""
    stores: list[CampaignStore] = []
    opened = threading.Barrier(2)

    def open_store() -> None:
        opened.wait()
        stores.append(CampaignStore(db_url))  # both migrate a new database at once

    openers = [threading.Thread(target=open_store) for _ in range(2)]
    for t in openers:
        t.start()
    for t in openers:
        t.join(120)
    assert len(stores) == 2
    n = 15
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def work(k: int) -> None:
        try:
            barrier.wait()
            for i in range(n):
                cid = _add(stores[k], llr, name=f"session {k} campaign {i}", recorded_by=f"user{k}")
                stores[k].edit(cid, notes=f"edited by session {k}")
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=work, args=(k,)) for k in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    rows = stores[0].list()
    assert len(rows) == 2 * n and len({r["id"] for r in rows}) == 2 * n
    assert {r["name"] for r in rows} == {f"session {k} campaign {i}" for k in (0, 1) for i in range(n)}
    assert all(r["notes"] == f"edited by session {r['recorded_by'][-1]}" for r in rows)
    for s in stores:
        s.dispose()


def test_an_edit_from_a_stale_copy_is_refused_not_lost(db_url: str, llr) -> None:
    a, b = CampaignStore(db_url), CampaignStore(db_url)
    cid = _add(a, llr)
    seen_by_a, seen_by_b = a.get(cid), b.get(cid)
    a.edit(cid, version=seen_by_a["version"], notes="A's change")
    with pytest.raises(CampaignConflict, match="changed by someone else"):
        b.edit(cid, version=seen_by_b["version"], notes="B's change")
    assert a.get(cid)["notes"] == "A's change"
    a.dispose()
    b.dispose()


def test_an_older_database_is_migrated_on_first_use(db_url: str) -> None:
    engine = create_engine(db_url)
    migrate(engine, "0001")
    assert current_revision(engine) == "0001"
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO campaigns (name, indicators, team, start_date, areas, practices, notes, recorded_by, "
            "recorded_at) VALUES ('Old', '[\"mmr1_24m\"]', 'T', '2023-05-01', '[\"E01013600\"]', '[]', '', 'x', "
            ":ts)"), {"ts": datetime(2023, 5, 2, 9, 0, tzinfo=UTC)})
    engine.dispose()
    store = CampaignStore(db_url)  # first use: migrates to the newest revision
    assert current_revision(store.engine) == head_revision() != "0001"
    (old,) = store.list()
    assert old["name"] == "Old" and old["version"] == 1 and old["status"] == "open"
    assert old["updated_at"] == old["recorded_at"] == "2023-05-02T09:00:00+00:00"
    assert store.close(old["id"], "2023-06-30")["version"] == 2
    store.dispose()


def test_sqlite_file_is_in_wal_mode_and_the_default_sits_beside_the_datasets(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'sub' / 'campaigns.sqlite'}"
    store = CampaignStore(url)
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    assert (tmp_path / "sub" / "campaigns.sqlite").is_file()
    store.dispose()
    monkeypatch.delenv("HIEXPLORE_DB", raising=False)
    repo_data = Path(__file__).resolve().parents[1] / "data"
    assert default_db_url() == f"sqlite:///{repo_data / 'campaigns.sqlite'}"
    monkeypatch.setenv("HIEXPLORE_DB", "postgresql+psycopg://u@h/db")
    assert default_db_url() == "postgresql+psycopg://u@h/db"


def test_the_migrations_build_exactly_the_models(db_url: str) -> None:
    """Alembic's own comparison finds nothing between the migrated database and the models."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from hiexplore.campaigns.models import Base

    store = CampaignStore(db_url)
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    store.dispose()
