"""The error envelope every failed request gets, and how Airlock's exceptions map onto it.

    HTTP/1.1 404 Not Found
    {"error": {"code": "not_found", "message": "no sandbox 01h...", "details": {}}}

``code`` is stable; clients branch on it, never on ``message``.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from airlock import errors

__all__ = ["ERROR_CODES", "ApiError", "ErrorBody", "ErrorDetail", "describe", "install_error_handlers"]

logger = logging.getLogger(__name__)


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: dict[str, Any] = {}


class ErrorBody(BaseModel):
    error: ErrorDetail


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, *, retry_after: int | None = None, **details: Any):
        super().__init__(message)
        self.status, self.code, self.message, self.retry_after, self.details = (
            status,
            code,
            message,
            retry_after,
            details,
        )


#: exception type -> (HTTP status, code); the first match in order wins.
ERROR_CODES: list[tuple[type[Exception], int, str]] = [
    (errors.PolicyDenied, 403, "policy_denied"),
    (errors.UnknownLanguage, 422, "unknown_language"),
    (errors.EmptyCode, 422, "empty_code"),
    (errors.CodeTooLarge, 413, "code_too_large"),
    (errors.ParameterError, 422, "invalid_parameters"),
    (errors.ConceptsMissing, 422, "concepts_missing"),
    (errors.InvalidRequest, 422, "invalid_request"),
    (errors.ConfigError, 422, "invalid_settings"),
    (errors.SandboxStateError, 409, "invalid_state"),
    (errors.SandboxFileNotFound, 404, "file_not_found"),
    (errors.CommandNotFound, 404, "command_not_found"),
    (errors.PathOutsideWorkspace, 403, "path_outside_workspace"),
    (errors.FileTooLarge, 413, "file_too_large"),
    (errors.FileOperationError, 409, "file_error"),
    (errors.BackendUnavailable, 503, "backend_unavailable"),
    (errors.PoolNotFound, 404, "pool_not_found"),
    (errors.SnapshotNotFound, 404, "snapshot_not_found"),
    (errors.SnapshotError, 409, "snapshot_failed"),
    (errors.PoolExhausted, 503, "pool_exhausted"),
    (errors.ControlTimeout, 504, "sandbox_timeout"),
    (errors.SandboxError, 502, "sandbox_failed"),
    (errors.AirlockError, 500, "internal_error"),
]


def describe(exc: Exception) -> tuple[int, str, str]:
    """HTTP status, stable code and message for an exception raised while serving a request."""
    if isinstance(exc, ApiError):
        return exc.status, exc.code, exc.message
    for kind, status, code in ERROR_CODES:
        if isinstance(exc, kind):
            return status, code, str(exc)
    return 500, "internal_error", "internal error; the server's log has the details"


def _envelope(
    status: int, code: str, message: str, details: dict[str, Any] | None = None, **headers: str
) -> JSONResponse:
    body = ErrorBody(error=ErrorDetail(code=code, message=message, details=details or {}))
    return JSONResponse(body.model_dump(), status_code=status, headers=headers or None)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else {}
        if exc.status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        request.app.state.metrics.errors.labels(exc.code).inc()
        return _envelope(exc.status, exc.code, exc.message, exc.details, **headers)

    @app.exception_handler(errors.PolicyDenied)
    async def policy_denied(request: Request, exc: errors.PolicyDenied) -> JSONResponse:
        limited = exc.retry_after is not None
        code = "rate_limited" if limited else "policy_denied"
        request.app.state.metrics.errors.labels(code).inc()
        headers = {"Retry-After": str(max(1, round(exc.retry_after or 0)))} if limited else {}
        details = {"verdict": exc.verdict.model_dump(mode="json")}
        return _envelope(429 if limited else 403, code, str(exc), details, **headers)

    @app.exception_handler(errors.AirlockError)
    async def airlock_error(request: Request, exc: errors.AirlockError) -> JSONResponse:
        status, code, message = describe(exc)
        request.app.state.metrics.errors.labels(code).inc()
        if status >= 500:
            logger.warning("%s %s failed: %s", request.method, request.url.path, exc)
        return _envelope(status, code, message)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()]
        fields = ", ".join(p["field"] for p in problems)
        return _envelope(422, "validation_error", f"invalid request: {fields}", {"errors": problems})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            problem = {"field": "body", "message": "not JSON in UTF-8"}
            return _envelope(422, "validation_error", "invalid request: body", {"errors": [problem]})
        code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
            exc.status_code, "http_error"
        )
        return _envelope(exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("%s %s failed unexpectedly", request.method, request.url.path)
        return _envelope(500, "internal_error", "internal error; the server's log has the details")
