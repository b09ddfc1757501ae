"""Model history: retraining runs with their scores and verdicts (model_versions), and every time
a model was put into service (model_events: promote, override, rollback, startup)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Optional

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from motcua.store.models import ModelEvent, ModelVersion

STATUS_LABELS = {
    "running": "Đang huấn luyện",
    "accepted": "Đạt, đã đưa vào sử dụng",
    "rejected": "Không đạt, chưa dùng",
    "unchanged": "Dữ liệu không đổi",
    "failed": "Lỗi",
    "initial": "Mô hình ban đầu",
}
ACTION_LABELS = {
    "promote": "Đưa vào sử dụng (đạt quy tắc)",
    "override": "Đưa vào sử dụng theo quyết định của quản trị",
    "rollback": "Khôi phục",
    "startup": "Đang chạy khi khởi động",
}
# A run whose heartbeat is older than this is taken as dead (its gateway stopped).
STALE_AFTER = timedelta(minutes=10)


class Busy(Exception):
    """Another retraining is running."""


def _now(now: Optional[datetime] = None) -> datetime:
    return now or datetime.now(timezone.utc)


def _utc(when: datetime) -> datetime:
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when


async def serving(session: AsyncSession) -> Optional[tuple[ModelEvent, ModelVersion]]:
    """The newest event and its model: what Rasa should be serving."""
    row = (await session.execute(select(ModelEvent, ModelVersion).join(ModelVersion, ModelEvent.model_id == ModelVersion.id)
                                 .order_by(ModelEvent.id.desc()).limit(1))).first()
    return (row[0], row[1]) if row else None


async def by_name(session: AsyncSession, name: str) -> Optional[ModelVersion]:
    """The newest run that produced (or evaluated) this model file."""
    return await session.scalar(select(ModelVersion).where(ModelVersion.name == name)
                                .order_by(ModelVersion.id.desc()).limit(1))


async def note_serving(session: AsyncSession, name: str, actor: str = "motcua run") -> ModelVersion:
    """Rasa serves `name`: if the history says otherwise (first use, or a restart with a model for
    new data), the model is registered and a "startup" event added, so history matches reality."""
    current = await serving(session)
    if current is not None and current[1].name == name:
        return current[1]
    model = await by_name(session, name)
    if model is None:
        now = _now()
        model = ModelVersion(name=name, status="initial", stage="", progress=100, started_by=actor, created_at=now,
                             updated_at=now, finished_at=now)
        session.add(model)
        await session.flush()
    session.add(ModelEvent(model_id=model.id, action="startup", actor=actor, reason="", created_at=_now()))
    await session.flush()
    return model


async def start_run(session: AsyncSession, started_by: str, now: Optional[datetime] = None) -> ModelVersion:
    """A new run, unless one is running (Busy). A run whose heartbeat stopped is marked failed."""
    now = _now(now)
    for run in (await session.scalars(select(ModelVersion).where(ModelVersion.status == "running"))).all():
        if _utc(run.updated_at) > now - STALE_AFTER:
            raise Busy(run.id)
        run.status, run.error, run.finished_at = "failed", "Tiến trình huấn luyện đã dừng giữa chừng.", now
    run = ModelVersion(status="running", stage="Đang chuẩn bị", progress=0, started_by=started_by[:200],
                       created_at=now, updated_at=now)
    session.add(run)
    await session.flush()
    return run


async def update_run(session: AsyncSession, run_id: int, **values) -> None:
    values.setdefault("updated_at", _now())
    await session.execute(update(ModelVersion).where(ModelVersion.id == run_id).values(**values)
                          .execution_options(synchronize_session=False))


async def add_event(session: AsyncSession, model_id: int, action: str, actor: str, reason: str = "",
                    swap_seconds: Optional[float] = None) -> ModelEvent:
    event = ModelEvent(model_id=model_id, action=action, actor=actor[:200], reason=reason, swap_seconds=swap_seconds,
                       created_at=_now())
    session.add(event)
    await session.flush()
    return event


async def runs(session: AsyncSession, limit: int = 50) -> list[ModelVersion]:
    return list((await session.scalars(select(ModelVersion).order_by(ModelVersion.id.desc()).limit(limit))).all())


async def events(session: AsyncSession, limit: int = 100) -> list[ModelEvent]:
    return list((await session.scalars(select(ModelEvent).order_by(ModelEvent.id.desc()).limit(limit))).all())


async def names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    """Model id → its name, for the models events refer to."""
    if not ids:
        return {}
    rows = await session.execute(select(ModelVersion.id, ModelVersion.name).where(ModelVersion.id.in_(ids)))
    return {row.id: row.name for row in rows}


async def served_before(session: AsyncSession, model_id: int) -> bool:
    """Whether the model ever served (any event names it): only those can be rolled back to."""
    return bool(await session.scalar(select(ModelEvent.id).where(ModelEvent.model_id == model_id).limit(1)))


async def latest_run(session: AsyncSession) -> Optional[ModelVersion]:
    return await session.scalar(select(ModelVersion).where(ModelVersion.status != "initial")
                                .order_by(ModelVersion.id.desc()).limit(1))
