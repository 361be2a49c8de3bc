"""`GET /api/v1/analytics/ai-costs`: the same report as `salesctl costs --json`, over HTTP.

FastAPI is imported here at module level (it resolves annotations from module globals); only
`salesctl serve` imports this module, so the rest of the CLI never loads FastAPI.

Query parameters are the seed's (`agent_type`, `start_date`, `end_date`, `lead_id`) plus the
CLI's other filters. Dates take the CLI's forms (ISO dates or times, `7d`, `today`, …); naive
times are in the configured time zone. Bad parameters get a 422 naming the parameter, ids
outside the CLI's range included. With a token configured, every API route wants
`Authorization: Bearer <token>`. Every request must name one of the server's own host names
(localhost, 127.0.0.1, [::1], its --host and `serve_hosts`), so a web page that points some
other name at this machine (DNS rebinding) gets a 400, not the cost data. `/docs` is one
self-contained page (`salesctl.api.docs`), fetching nothing from elsewhere.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from salesctl import __version__

if TYPE_CHECKING:
    from salesctl.config import Settings

API_NAMES = {
    "since": "start_date",
    "until": "end_date",
    "agents": "agent_type",
    "lead_id": "lead_id",
    "provider": "provider",
}
"""Filter fields as this API names them (the CLI says --since, --until, …)."""
COSTS_PATH = "/api/v1/analytics/ai-costs"
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
MAX_ID = 2**31 - 1
"""The largest lead id (32-bit keys), as the CLI's --lead takes it."""


def _invalid(param: str, message: str) -> JSONResponse:
    return JSONResponse(
        status_code=422,
        content={
            "detail": [{"loc": ["query", param], "msg": message, "type": "value_error"}],
            "message": f"invalid query parameter {param!r}: {message}",
        },
    )


def host_name(header: str) -> str:
    """The name in a Host header, without its port (`[::1]:8001` → `::1`)."""
    value = header.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def create_app(
    settings: Settings | None = None, *, token: str | None = None, hosts: tuple[str, ...] = ()
) -> FastAPI:
    """The analytics app; its engine is opened at startup and disposed at shutdown.

    `hosts`: names it answers to beside the local ones and `settings.serve_hosts`.
    """
    from salesctl.config import get_settings

    settings = settings or get_settings()
    expected = token if token is not None else _secret(settings)
    allowed = {
        host_name(name)
        for name in (*LOCAL_HOSTS, *hosts, *settings.serve_hosts)
        if name not in ("0.0.0.0", "::", "[::]")  # listening everywhere names no host
    }

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from salesctl.db.session import create_engine, ensure_schema_current

        engine = create_engine(settings.sqlalchemy_url)
        try:
            await ensure_schema_current(engine)
            app.state.engine = engine
            yield
        finally:
            await engine.dispose()

    app = FastAPI(
        title="salesctl analytics",
        version=__version__,
        description="AI cost analytics: the report `salesctl costs --json` prints.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )

    @app.middleware("http")
    async def known_hosts_only(request: Request, call_next: Any) -> Response:
        named = host_name(request.headers.get("host", ""))
        if named not in allowed:
            shown = named or "(none)"
            return JSONResponse(
                status_code=400,
                content={
                    "detail": f"host {shown!r} is not served here",
                    "message": f"host {shown!r} is not one of this server's names; add it to "
                    "serve_hosts (SALESCTL_SERVE_HOSTS) if it should be",
                },
            )
        response: Response = await call_next(request)
        return response

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        from salesctl.api.docs import docs_page

        return HTMLResponse(docs_page(app.openapi()))

    bearer = HTTPBearer(auto_error=False)

    async def authorised(
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    ) -> None:
        from fastapi import HTTPException

        if expected is None:
            return
        given = credentials.credentials if credentials is not None else ""
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise HTTPException(
                status_code=401,
                detail="missing or wrong bearer token (Authorization: Bearer <token>)",
                headers={"WWW-Authenticate": "Bearer"},
            )

    @app.exception_handler(RequestValidationError)
    async def invalid_parameters(_request: Request, exc: RequestValidationError) -> JSONResponse:
        from fastapi.encoders import jsonable_encoder

        errors = exc.errors()
        first = errors[0] if errors else {"loc": ("query",), "msg": "invalid request"}
        param = str(first["loc"][-1]) if first.get("loc") else "query"
        return JSONResponse(
            status_code=422,
            content={
                "detail": jsonable_encoder(errors),
                "message": f"invalid query parameter {param!r}: {first['msg']}",
            },
        )

    @app.get(
        COSTS_PATH,
        dependencies=[Depends(authorised)],
        summary="AI costs: totals, by agent, by lead, cache, daily series",
        responses={
            200: {"description": "The seed's analytics response (plus extra keys)"},
            422: {"description": "A query parameter is invalid; `message` says which and why"},
        },
    )
    async def ai_costs(
        agent_type: Annotated[list[str] | None, Query(description="Agent type(s)")] = None,
        start_date: Annotated[
            str | None, Query(description="ISO date/time or 7d, today, …; default 30 days ago")
        ] = None,
        end_date: Annotated[str | None, Query(description="ISO date/time (inclusive)")] = None,
        lead_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Only this lead")] = None,
        provider: Annotated[str | None, Query()] = None,
        model: Annotated[str | None, Query()] = None,
        session_id: Annotated[str | None, Query()] = None,
        user_id: Annotated[str | None, Query()] = None,
        top: Annotated[int, Query(ge=0, le=MAX_ID, description="Leads to list; 0 for all")] = 10,
        by: Annotated[str, Query(pattern="^(day|week|month|user)$")] = "day",
    ) -> Response:
        from salesctl.jsonout import to_json
        from salesctl.reports.costs import ReportOptions, cost_report
        from salesctl.reports.filters import InvalidFilter, build_filters

        try:
            filters = build_filters(
                settings=settings,
                since=start_date,
                until=end_date,
                agents=agent_type or (),
                lead_id=lead_id,
                provider=provider,
                model=model,
                session_id=session_id,
                user_id=user_id,
                names=API_NAMES,
            )
        except InvalidFilter as exc:
            return _invalid(API_NAMES.get(exc.field, exc.field), str(exc))
        options = ReportOptions(
            granularity="day" if by == "user" else by,  # type: ignore[arg-type]  # by: the Query pattern
            top=top,
            by_user=by == "user",
        )
        try:
            report = await cost_report(app.state.engine, filters, options)
        except InvalidFilter as exc:  # an agent type neither known nor tracked
            return _invalid(API_NAMES.get(exc.field, exc.field), str(exc))
        return Response(to_json(report), media_type="application/json")

    return app


def _secret(settings: Settings) -> str | None:
    token = settings.serve_token
    return token.get_secret_value() if token is not None else None
