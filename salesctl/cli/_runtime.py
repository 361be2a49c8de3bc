"""The one asyncio.run boundary: builds the engine (and later the gateway) for a command."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from salesctl.cli import _state
from salesctl.cli._gc import start_collecting
from salesctl.errors import SalesctlError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

    from salesctl.config import Settings
    from salesctl.llm.gateway import LLMGateway

T = TypeVar("T")


@dataclass
class Runtime:
    """What a command's library call needs: settings, the engine and a session factory."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    closers: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)
    _gateway: LLMGateway | None = field(default=None, init=False, repr=False)

    @property
    def gateway(self) -> LLMGateway:
        """The LLM gateway, built on first use; flushed and closed with the runtime."""
        if self._gateway is None:
            from salesctl.llm.gateway import LLMGateway

            self._gateway = LLMGateway(engine=self.engine, settings=self.settings)
        return self._gateway

    async def aclose(self) -> None:
        if self._gateway is not None:
            await self._gateway.aclose()
        for close in reversed(self.closers):
            await close()
        await self.engine.dispose()


async def open_runtime(
    settings: Settings | None = None, *, check_schema: bool = True, replay_spool: bool = True
) -> Runtime:
    """Connect to the database and, unless told otherwise, insist its schema is current
    (and then replay tracked calls an earlier run left in the spool)."""
    from salesctl.config import get_settings
    from salesctl.db.session import (
        create_engine,
        current_revision,
        ensure_schema_current,
        session_factory,
        sqlite_path,
    )
    from salesctl.errors import SchemaOutdated

    settings = settings or get_settings()
    database_file = sqlite_path(settings.sqlalchemy_url)
    if check_schema and database_file is not None and not database_file.exists():
        # Say so rather than leave an empty database file behind.
        raise SchemaOutdated(f"no database at {database_file}: run `salesctl init`")
    engine = create_engine(settings.sqlalchemy_url)
    try:
        if check_schema:
            await ensure_schema_current(engine)
        else:
            await current_revision(engine)  # reachable? (raises DatabaseError if not)
    except BaseException:
        await engine.dispose()
        raise
    if check_schema and replay_spool:
        await _replay_spool(engine, settings)
    start_collecting()
    return Runtime(
        settings=settings, engine=engine, sessions=session_factory(engine, immediate=True)
    )


async def _replay_spool(engine: AsyncEngine, settings: Settings) -> None:
    """Land what earlier runs spooled (one stat when there is nothing); say so on stderr."""
    from salesctl.maintenance import replay_at_start

    replayed = await replay_at_start(engine, settings)
    if replayed is not None and replayed.inserted:
        from salesctl.cli._console import err

        err().print(
            f"{replayed.inserted} tracked call(s) from an earlier run written to the database",
            style="dim",
            highlight=False,
            soft_wrap=True,
        )


def run(
    command: Callable[[Runtime], Awaitable[T]],
    *,
    check_schema: bool = True,
    settings: Settings | None = None,
    replay_spool: bool = True,
) -> T:
    """Run one command's coroutine with a fresh runtime, closing everything afterwards."""

    async def main() -> T:
        runtime = await open_runtime(settings, check_schema=check_schema, replay_spool=replay_spool)
        try:
            return await command(runtime)
        finally:
            await runtime.aclose()

    import asyncio  # not at the top: `salesctl --help` never needs an event loop

    with user_errors():
        return asyncio.run(main())


def run_unconnected(command: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine that opens its own connections, if any (`doctor` must work without a
    usable database, so it cannot start from a Runtime)."""
    import asyncio

    with user_errors():
        return asyncio.run(command())


@contextmanager
def user_errors() -> Iterator[None]:
    """A SalesctlError becomes one line on stderr and its exit code (a traceback with --debug).

    `run` applies it; commands wrap checks they make before connecting, such as validating
    flags, so those fail the same way.
    """
    try:
        yield
    except SalesctlError as exc:
        if _state.debug:
            raise
        _state.fail(str(exc), exc.exit_code)
