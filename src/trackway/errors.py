"""The error hierarchy shared by every layer.

User faults (bad input, bad credentials, limits) carry an HTTP status in the 4xx range and a
stable ``code``; system faults are everything else and surface as 5xx.
"""

from __future__ import annotations

from http import HTTPStatus

import orjson


class TrackwayError(Exception):
    """Root of every error trackway raises on purpose."""


class UserError(TrackwayError):
    """The client's mistake: answered with a 4xx and a message saying what was expected."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PayloadError(UserError):
    code = "invalid_payload"


class AuthError(UserError):
    status = 401
    code = "invalid_credentials"


class NotFoundError(UserError):
    status = 404
    code = "not_found"


class TooLargeError(UserError):
    status = 413
    code = "too_large"


class RateLimitedError(UserError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class InternalError(TrackwayError):
    """Trackway's own fault (disk full, corrupted state): answered with a 5xx."""


class UnsupportedEncodingError(UserError):
    status = 415
    code = "unsupported_encoding"


class RouteError(UserError):
    """No such route (404) or method (405)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status
        self.code = {404: "not_found", 405: "method_not_allowed"}.get(status, "bad_request")


def error_body(exc: UserError) -> bytes:
    """The one JSON error shape of every answer outside /track, /engage and /groups."""
    return orjson.dumps(
        {
            "code": exc.status,
            "error": exc.message,
            "status": HTTPStatus(exc.status).phrase,
            "error_code": exc.code,
        }
    )


class MethodNotAllowedError(UserError):
    status = 405
    code = "method_not_allowed"
