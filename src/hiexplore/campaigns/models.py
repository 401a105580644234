"""The campaign log's tables (SQLAlchemy 2 declarative); Alembic migrations create and change them.

One table, ``campaigns``. Lists (indicator keys, area codes, practice codes) are JSON arrays, the
same on SQLite and PostgreSQL. ``version`` is SQLAlchemy's optimistic-concurrency counter: an
edit made from a stale copy (another session saved in between) is refused, never silently lost.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, DateTime, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["Base", "Campaign"]


class Base(DeclarativeBase):
    """Declarative base of the campaign log (its metadata is what the migrations build)."""


class Campaign(Base):
    """What was done, where, for which programmes, by which team, and who recorded it when."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    indicators: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    team: Mapped[str] = mapped_column(String(200), nullable=False)
    start_date: Mapped[date] = mapped_column(Date, nullable=False, index=True)
    end_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    areas: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    practices: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    notes: Mapped[str] = mapped_column(Text, nullable=False, default="")
    dataset: Mapped[str | None] = mapped_column(String(500), nullable=True)
    recorded_by: Mapped[str] = mapped_column(String(200), nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version}
