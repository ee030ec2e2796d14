"""Bearer-token auth with ``read`` and ``write`` scopes.

Tokens come from ``Settings.tokens`` (``LINEAGEGRAPH_TOKENS``), written as
``tokenA:read,tokenB:write``; ``write`` implies ``read``, and a token is listed
once (twice is a configuration error). Queries need
``read``; mutations and ingestion need ``write``. Without tokens configured,
every caller may read and write, and the server binds to loopback only unless
it is told explicitly that it is open (see :func:`check_bind`).

Presented tokens are compared with every configured token in constant time
(``hmac.compare_digest`` over SHA-256 digests, so lengths leak nothing either)
and are never logged or echoed: a principal is named ``token#N`` by position.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from lineagegraph.errors import Forbidden, InvalidInput, Unauthorized

if TYPE_CHECKING:
    from starlette.requests import HTTPConnection

__all__ = [
    "OPEN_ACCESS",
    "Principal",
    "Scope",
    "TokenAuth",
    "check_bind",
    "is_loopback",
    "require_scope",
]


class Scope(StrEnum):
    """What a token may do."""

    READ = "read"
    WRITE = "write"


@dataclass(frozen=True)
class Principal:
    """Who is calling and what they may do."""

    name: str
    scopes: frozenset[Scope]

    def can(self, scope: Scope) -> bool:
        """Whether this principal holds ``scope``."""
        return scope in self.scopes


# The caller when auth is off: everyone may read and write (loopback-only server).
OPEN_ACCESS = Principal("anonymous", frozenset({Scope.READ, Scope.WRITE}))


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


@dataclass(frozen=True)
class _Token:
    digest: bytes
    principal: Principal


class TokenAuth:
    """The configured tokens, and how a request's ``Authorization`` header maps to a principal."""

    def __init__(self, spec: str) -> None:
        self._tokens = tuple(_parse(spec))

    @property
    def enabled(self) -> bool:
        """Whether any token is configured (auth is on)."""
        return bool(self._tokens)

    def authenticate(self, authorization: str | None) -> Principal:
        """The principal for an ``Authorization`` header value.

        With auth off, everyone is :data:`OPEN_ACCESS`. With auth on, a missing,
        malformed or unknown token raises :class:`Unauthorized`.
        """
        if not self.enabled:
            return OPEN_ACCESS
        if not authorization:
            raise Unauthorized("this server needs a bearer token: Authorization: Bearer <token>")
        scheme, _, presented = authorization.strip().partition(" ")
        presented = presented.strip()
        if scheme.lower() != "bearer" or not presented:
            raise Unauthorized("the Authorization header must be 'Bearer <token>'")
        digest = _digest(presented)
        found: Principal | None = None
        # Compare with every token (no early exit) so timing says nothing about which matched.
        for token in self._tokens:
            if hmac.compare_digest(digest, token.digest):
                found = token.principal
        if found is None:
            raise Unauthorized("unknown bearer token")
        return found


def _parse(spec: str) -> list[_Token]:
    tokens: list[_Token] = []
    positions: dict[bytes, int] = {}
    for position, item in enumerate((p.strip() for p in spec.split(",")), start=1):
        if not item:
            continue
        secret, sep, scope_name = item.rpartition(":")
        if not sep or not secret:
            raise InvalidInput(
                f"token #{position}: write tokens as 'TOKEN:read' or 'TOKEN:write', "
                "separated by commas"
            )
        try:
            scope = Scope(scope_name.strip().lower())
        except ValueError:
            raise InvalidInput(
                f"token #{position}: unknown scope {scope_name!r} (use read or write)"
            ) from None
        digest = _digest(secret)
        # A token listed twice took whichever scope came last; which one was meant is
        # for the operator to say, so it is refused (write already implies read).
        if digest in positions:
            raise InvalidInput(
                f"token #{position} is token #{positions[digest]} again: list each token "
                "once, with one scope (write implies read)"
            )
        positions[digest] = position
        scopes = frozenset({Scope.READ, Scope.WRITE}) if scope is Scope.WRITE else {Scope.READ}
        tokens.append(_Token(digest, Principal(f"token#{position}", frozenset(scopes))))
    return tokens


def require_scope(request: HTTPConnection, scope: Scope | str) -> Principal:
    """Authenticate a Starlette request and demand a scope.

    Raises :class:`Unauthorized` (401) without a valid token and
    :class:`Forbidden` (403) when the token lacks the scope. The app's error
    handlers turn both into JSON responses. Used by every route that reads or
    writes, including the OpenLineage endpoint (which needs ``write``).
    """
    wanted = Scope(scope)
    auth: TokenAuth = request.app.state.auth
    principal = auth.authenticate(request.headers.get("authorization"))
    if not principal.can(wanted):
        raise Forbidden(f"this token lacks the {wanted.value!r} scope")
    return principal


def is_loopback(host: str) -> bool:
    """Whether a bind address only accepts connections from this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, auth: TokenAuth, open_: bool) -> None:
    """Refuse a non-loopback bind without tokens unless the server is explicitly open."""
    if auth.enabled or open_ or is_loopback(host):
        return
    raise InvalidInput(
        f"refusing to listen on {host} without auth: configure tokens (--tokens or "
        "LINEAGEGRAPH_TOKENS) or pass --open (LINEAGEGRAPH_OPEN=1) to serve everyone "
        "on the network without them"
    )
