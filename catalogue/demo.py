"""Demo data: the network's municipalities, its processes and who runs them (all people invented)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.models import Municipality, Process
from catalogue.schemas import AdoptionWrite, BenefitWrite, MunicipalityCreate, ProcessCreate
from catalogue.services import AdoptionService, BenefitService, MunicipalityService, ProcessService
from core.actors import Actor

DEMO_ACTOR = Actor(role="admin", name="demo data")


def demo_data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((Path(__file__).resolve().parent / "demo_data.json").read_text("utf-8"))
    return data


async def catalogue_is_empty(session: AsyncSession) -> bool:
    for model in (Municipality, Process):
        if await session.scalar(select(func.count()).select_from(model)):
            return False
    return True


async def load_demo(session: AsyncSession) -> dict[str, int]:
    """Load the demo catalogue through the same services (and validation) as the API."""
    data = demo_data()
    municipalities = MunicipalityService(session)
    for m in data["municipalities"]:
        await municipalities.create(DEMO_ACTOR, msgspec.convert(m, MunicipalityCreate, strict=False))
    processes = ProcessService(session)
    pending = list(data["processes"])
    # A process may name another (derived_from, duplicate_of) that comes later in the file.
    created: set[str] = set()
    while pending:
        progress = False
        for raw in list(pending):
            links = [raw.get("derived_from"), raw.get("duplicate_of")]
            if any(link and link not in created for link in links):
                continue
            process = await processes.create(DEMO_ACTOR, msgspec.convert(raw, ProcessCreate, strict=False))
            created.add(process.id)
            pending.remove(raw)
            progress = True
        if not progress:
            raise ValueError(f"demo data: unresolved process links in {[p['title'] for p in pending]}")
    adoptions = AdoptionService(session)
    for raw in data["adoptions"]:
        body = {k: v for k, v in raw.items() if k not in ("process", "municipality")}
        await adoptions.put(
            DEMO_ACTOR, raw["process"], raw["municipality"], msgspec.convert(body, AdoptionWrite, strict=False)
        )
    benefits = BenefitService(session)
    for raw in data.get("benefits", []):
        body = {k: v for k, v in raw.items() if k not in ("process", "municipality", "period")}
        await benefits.put(
            DEMO_ACTOR,
            raw["process"],
            raw["municipality"],
            raw["period"],
            msgspec.convert(body, BenefitWrite, strict=False),
        )
    return {
        "municipalities": len(data["municipalities"]),
        "processes": len(created),
        "adoptions": len(data["adoptions"]),
        "benefit records": len(data.get("benefits", [])),
    }
