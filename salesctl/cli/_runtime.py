"""The one asyncio.run boundary: builds the engine (and later the gateway) for a command."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from salesctl.cli import _state
from salesctl.errors import SalesctlError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

    from salesctl.config import Settings

T = TypeVar("T")


@dataclass
class Runtime:
    """What a command's library call needs: settings, the engine and a session factory."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    closers: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)

    async def aclose(self) -> None:
        for close in reversed(self.closers):
            await close()
        await self.engine.dispose()


async def open_runtime(settings: Settings | None = None, *, check_schema: bool = True) -> Runtime:
    """Connect to the database and, unless told otherwise, insist its schema is current."""
    from salesctl.config import get_settings
    from salesctl.db.session import create_engine, ensure_schema_current, session_factory

    settings = settings or get_settings()
    engine = create_engine(settings.sqlalchemy_url)
    try:
        if check_schema:
            await ensure_schema_current(engine)
    except BaseException:
        await engine.dispose()
        raise
    return Runtime(settings=settings, engine=engine, sessions=session_factory(engine))


def run(
    command: Callable[[Runtime], Awaitable[T]],
    *,
    check_schema: bool = True,
    settings: Settings | None = None,
) -> T:
    """Run one command's coroutine with a fresh runtime, closing everything afterwards."""

    async def main() -> T:
        runtime = await open_runtime(settings, check_schema=check_schema)
        try:
            return await command(runtime)
        finally:
            await runtime.aclose()

    try:
        return asyncio.run(main())
    except SalesctlError as exc:
        if _state.debug:
            raise
        _state.fail(str(exc), exc.exit_code)
