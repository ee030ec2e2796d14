"""Token parsing, scopes and the loopback rule (``api/auth.py``)."""

from __future__ import annotations

import pytest

from lineagegraph.api.auth import OPEN_ACCESS, Scope, TokenAuth, check_bind, is_loopback
from lineagegraph.errors import InvalidInput, Unauthorized


def test_write_implies_read_and_principals_are_named_by_position() -> None:
    auth = TokenAuth("alpha:read, beta:WRITE")
    assert auth.enabled
    reader = auth.authenticate("Bearer alpha")
    writer = auth.authenticate("bearer   beta")
    assert (reader.name, reader.scopes) == ("token#1", frozenset({Scope.READ}))
    assert (writer.name, writer.scopes) == ("token#2", frozenset({Scope.READ, Scope.WRITE}))


def test_a_token_may_contain_colons() -> None:
    auth = TokenAuth("a:b:c:write")
    assert auth.authenticate("Bearer a:b:c").can(Scope.WRITE)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "this server needs a bearer token: Authorization: Bearer <token>"),
        ("", "this server needs a bearer token: Authorization: Bearer <token>"),
        ("Basic YWxwaGE=", "the Authorization header must be 'Bearer <token>'"),
        ("Bearer", "the Authorization header must be 'Bearer <token>'"),
        ("Bearer alph", "unknown bearer token"),
        ("Bearer alpha2", "unknown bearer token"),
    ],
)
def test_missing_malformed_and_unknown_tokens(header: str | None, message: str) -> None:
    with pytest.raises(Unauthorized) as caught:
        TokenAuth("alpha:read").authenticate(header)
    assert str(caught.value) == message
    assert "alpha" not in str(caught.value).replace("'Bearer <token>'", "")


def test_without_tokens_everyone_may_read_and_write() -> None:
    auth = TokenAuth("")
    assert not auth.enabled
    assert auth.authenticate(None) is OPEN_ACCESS
    assert OPEN_ACCESS.can(Scope.WRITE)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("alpha", "token #1: write tokens as 'TOKEN:read' or 'TOKEN:write', separated by commas"),
        (":read", "token #1: write tokens as 'TOKEN:read' or 'TOKEN:write', separated by commas"),
        ("a:read,b:admin", "token #2: unknown scope 'admin' (use read or write)"),
        # A token listed twice took the last scope listed, whichever that was.
        (
            "alpha:read,beta:read,alpha:write",
            "token #3 is token #1 again: list each token once, with one scope (write implies read)",
        ),
        (
            "alpha:write, alpha:read",
            "token #2 is token #1 again: list each token once, with one scope (write implies read)",
        ),
        (
            "alpha:read,alpha:read",
            "token #2 is token #1 again: list each token once, with one scope (write implies read)",
        ),
    ],
)
def test_malformed_token_settings(spec: str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        TokenAuth(spec)
    assert str(caught.value) == message


def test_loopback_addresses() -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "10.0.0.5", "example.com"))


def test_check_bind_refuses_an_open_network_bind_without_tokens() -> None:
    check_bind("127.0.0.1", TokenAuth(""), open_=False)
    check_bind("0.0.0.0", TokenAuth("t:read"), open_=False)
    check_bind("0.0.0.0", TokenAuth(""), open_=True)
    with pytest.raises(InvalidInput) as caught:
        check_bind("0.0.0.0", TokenAuth(""), open_=False)
    assert str(caught.value).startswith("refusing to listen on 0.0.0.0 without auth")
