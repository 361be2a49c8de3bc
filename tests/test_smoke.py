from sqlalchemy import func, select

from salesctl.db.models import Lead


async def test_fresh_database_is_migrated_and_empty(session) -> None:
    assert (await session.execute(select(func.count()).select_from(Lead))).scalar() == 0
