"""The few errors that cross layer boundaries; the API maps each to an HTTP status."""

from __future__ import annotations


class LineageError(Exception):
    """Base of every error lineagegraph raises on purpose."""

    status = 500


class InvalidInput(LineageError):
    """The caller sent something malformed; nothing was changed (HTTP 400)."""

    status = 400


class InvalidField(InvalidInput):
    """Invalid input that names the input field at fault (a dotted path)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class NotFound(LineageError):
    """A referenced entity does not exist (HTTP 404)."""

    status = 404


class StoreUnavailable(LineageError):
    """The store cannot be reached right now; retrying later may succeed (HTTP 503)."""

    status = 503


class Unauthorized(LineageError):
    """A request needs a valid bearer token (HTTP 401)."""

    status = 401


class Forbidden(LineageError):
    """The token is valid but lacks the scope the operation needs (HTTP 403)."""

    status = 403
