"""Model files in the store, and which one the Rasa replicas serve (the one published last).

Rasa's replicas pull the published model from the gateways (bot/model_server.py); promotion and
rollback publish, then ask each replica to pull at once (motcua/retrain/job.py)."""
from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple, Optional

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from motcua.store.models import ModelFile


class Published(NamedTuple):
    name: str
    sha256: str
    size: int
    base_hash: Optional[str]


async def keep(session: AsyncSession, path: Path, base_hash: Optional[str] = None) -> str:
    """Stores the model file at `path` under its name, once (a name is never reused for other
    bytes: model names carry the hash of what they were trained on). Returns the name."""
    name = Path(path).name
    if await session.scalar(select(ModelFile.name).where(ModelFile.name == name)) is None:
        content = Path(path).read_bytes()
        session.add(ModelFile(name=name, sha256=hashlib.sha256(content).hexdigest(), size=len(content),
                              base_hash=base_hash, content=content))
        await session.flush()
    return name


async def has(session: AsyncSession, name: str) -> bool:
    return await session.scalar(select(ModelFile.name).where(ModelFile.name == name)) is not None


async def publish(session: AsyncSession, name: str, now: Optional[datetime] = None) -> None:
    """From now on the replicas serve `name` (which must be kept already)."""
    result = await session.execute(update(ModelFile).where(ModelFile.name == name)
                                   .values(published_at=now or datetime.now(timezone.utc)))
    if result.rowcount != 1:
        raise LookupError(f"model {name} is not in the store")


async def published(session: AsyncSession) -> Optional[Published]:
    """The model the replicas should serve, without its bytes; None before any is published."""
    row = (await session.execute(
        select(ModelFile.name, ModelFile.sha256, ModelFile.size, ModelFile.base_hash)
        .where(ModelFile.published_at.is_not(None))
        .order_by(ModelFile.published_at.desc(), ModelFile.created_at.desc()).limit(1))).first()
    return Published(*row) if row else None


async def content(session: AsyncSession, name: str) -> Optional[bytes]:
    return await session.scalar(select(ModelFile.content).where(ModelFile.name == name))


async def publish_for_data(session: AsyncSession, path: Path, base_hash: str) -> str:
    """At deployment (`motcua train --publish`): the model trained for this image's data is
    published, unless the published one was trained for the same data (admins promoted it, or it
    is this very model), which stands. Returns the name the replicas will serve."""
    current = await published(session)
    if current is not None and current.base_hash == base_hash:
        return current.name
    name = await keep(session, path, base_hash)
    await publish(session, name)
    return name
