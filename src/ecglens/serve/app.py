"""``create_app(settings)``: the API under ``/api/v1``, the viewer at ``/``, the worker threads."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ecglens import __version__
from ecglens.exceptions import EcglensError
from ecglens.runtime import tune_allocator
from ecglens.serve import routes_admin, routes_ecgs
from ecglens.serve.service import Service
from ecglens.serve.settings import Settings
from ecglens.serve.worker import Worker, requeue_interrupted

log = logging.getLogger("ecglens.serve")
access = logging.getLogger("ecglens.serve.access")
STATIC = Path(__file__).with_name("static")

_CSP = ("default-src 'self'; img-src 'self' data: blob:; object-src 'none'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
# Swagger UI is served from the package (a clinic network often has no internet); its page
# starts it with an inline script, so only that page allows one
_DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; "
             "style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'")
_DOCS_ASSETS = "/api/docs-assets"


#: the most body bytes a request that is not an upload may send (a login, an overread: JSON)
MAX_BODY = 1 << 20
#: multipart boundaries and part headers around an upload's file bytes
UPLOAD_SLACK = 64 * 1024
_UPLOAD_PATH = "/api/v1/ecgs"


class BodyTooLarge(HTTPException):
    """Raised from the body stream itself, so nothing beyond the budget is read or spooled."""

    def __init__(self, detail: str) -> None:
        # the rest of the body is not wanted: the server closes the connection after the
        # answer instead of reading the rest to keep it open
        super().__init__(413, detail, headers={"Connection": "close"})


class BodyLimit:
    """Counts the body bytes of every request as they arrive and stops at the budget: for an
    upload (``POST /api/v1/ecgs``, multipart or raw) the upload limit plus the multipart slack,
    for anything else :data:`MAX_BODY`. The count is taken on the ASGI stream, under any body
    parsing, so a chunked body without Content-Length is refused (413) after at most the
    budget is read and before the multipart parser spools more of it to temporary files."""

    def __init__(self, app: ASGIApp, upload_limit: int, upload_mb: float) -> None:
        self.app, self.upload_budget, self.upload_mb = app, upload_limit + UPLOAD_SLACK, upload_mb

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = scope["method"] == "POST" and scope["path"].rstrip("/") == _UPLOAD_PATH
        budget = self.upload_budget if upload else MAX_BODY
        what = (f"the upload is larger than this server accepts ({self.upload_mb:g} MB)"
                if upload else f"the request body is larger than this server accepts "
                               f"({MAX_BODY // 1024} KB)")
        declared = dict(scope["headers"]).get(b"content-length", b"")
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            if declared.isdigit() and int(declared) > budget:
                raise BodyTooLarge(what)
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > budget:
                    raise BodyTooLarge(what)
            return message

        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited, watched)
        except BodyTooLarge as exc:  # not turned into a response further in: answer it here
            if started:
                raise
            await JSONResponse({"detail": exc.detail}, status_code=413,
                               headers=exc.headers)(scope, receive, send)


def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    """422 without the rejected input: FastAPI's default echoes it (``input``, and ``ctx``
    that can quote it), which would put a password sent in the wrong shape in the response."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    return JSONResponse({"detail": [{"type": e.get("type"), "loc": list(e.get("loc", ())),
                                     "msg": e.get("msg")} for e in errors]}, status_code=422)


def _swagger_assets() -> Path:
    """Swagger UI 5 as fastapi-offline ships it (its files only; the app stays ours)."""
    import fastapi_offline

    return Path(fastapi_offline.__file__).with_name("static")


def create_app(settings: Settings | None = None, *, workers: int | None = None) -> FastAPI:
    """The application; the database is opened (and migrated) when it starts."""
    settings = settings or Settings()
    n_workers = settings.workers if workers is None else workers

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tune_allocator()  # the workers measure every upload (see ecglens.runtime)
        svc = Service.open(settings)
        requeued = requeue_interrupted(svc)
        if requeued:
            log.info("%d interrupted job(s) queued again", requeued)
        app.state.service = svc
        pool = [Worker(svc, f"worker-{i}") for i in range(n_workers)]
        for w in pool:
            w.start()
        try:
            yield
        finally:
            for w in pool:
                w.stop()
            svc.close()

    app = FastAPI(title="ecglens", version=__version__, lifespan=lifespan,
                  description="Explainable interpretation of the 12-lead ECG, as a service.",
                  openapi_url="/api/v1/openapi.json", docs_url=None, redoc_url=None)
    app.mount(_DOCS_ASSETS, StaticFiles(directory=_swagger_assets()), name="docs-assets")

    @app.get("/api/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/api/v1/openapi.json", title="ecglens API",
                                   swagger_js_url=f"{_DOCS_ASSETS}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{_DOCS_ASSETS}/swagger-ui.css",
                                   swagger_favicon_url=f"{_DOCS_ASSETS}/favicon.png")

    app.include_router(routes_admin.router, prefix="/api/v1")
    app.include_router(routes_ecgs.router, prefix="/api/v1")

    @app.exception_handler(EcglensError)
    async def _ecglens_error(_: Request, exc: EcglensError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    app.add_exception_handler(RequestValidationError, _validation_error)
    # innermost of the middlewares: its 413 gets the security headers like any answer
    app.add_middleware(BodyLimit, upload_limit=settings.max_upload_bytes,
                       upload_mb=settings.max_upload_mb)

    @app.middleware("http")
    async def _headers(request: Request,
                       call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        t0 = time.perf_counter()
        response = await call_next(request)
        # our own access line: the path without its query string, which could carry a file name
        access.info("%s %s %d %.0f ms", request.method, request.url.path, response.status_code,
                    (time.perf_counter() - t0) * 1000)
        docs = request.url.path == "/api/docs"
        response.headers.setdefault("Content-Security-Policy", _DOCS_CSP if docs else _CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if request.url.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins),
                           allow_credentials=True, allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Authorization", "X-API-Key", "X-CSRF-Token",
                                          "Content-Type"])

    if (STATIC / "index.html").exists():
        app.mount("/static", StaticFiles(directory=STATIC), name="static")

        @app.get("/", include_in_schema=False)
        def index() -> FileResponse:
            return FileResponse(STATIC / "index.html")

    return app
