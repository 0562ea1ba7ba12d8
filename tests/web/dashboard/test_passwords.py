"""Dashboard passwords (scrypt hashes with their parameters), the config's [dashboard] section
that holds them, and the signed session and CSRF tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr, ValidationError

from nurture.core.passwords import (
    BadPasswordHash,
    hash_password,
    parse_password_hash,
    verify_password,
)
from nurture.settings import Settings
from nurture.web.dashboard.auth.access import authenticate
from nurture.web.dashboard.auth.session import (
    csrf_token,
    is_csrf_valid,
    open_session,
    session_token,
)

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)
CHEAP = 2**10


def test_a_hash_verifies_its_password_only() -> None:
    stored = hash_password("correct horse", n=CHEAP)
    assert verify_password("correct horse", stored)
    assert not verify_password("correct horsE", stored)
    assert not verify_password("", stored)


def test_the_hash_names_its_scheme_and_parameters_and_is_salted() -> None:
    first, second = hash_password("same", n=CHEAP), hash_password("same", n=CHEAP)
    scheme, n, r, p, salt, digest = first.split("$")
    assert (scheme, n, r, p) == ("scrypt", "1024", "8", "1")
    assert len(salt) == 22 and len(digest) == 43  # 16 and 32 bytes, base64 unpadded
    assert first != second
    assert parse_password_hash(hash_password("x")).n == 2**15  # the default cost


@pytest.mark.parametrize("stored", [
    "", "plain-password", "bcrypt$12$abc$def$ghi$jkl", "scrypt$1024$8$1$salt",
    "scrypt$1000$8$1$c2FsdHNhbHRzYWx0$" + "A" * 43,  # n not a power of 2
    "scrypt$2097152$8$1$c2FsdHNhbHRzYWx0$" + "A" * 43,  # n too large to compute
    "scrypt$1024$0$1$c2FsdHNhbHRzYWx0$" + "A" * 43,
    "scrypt$1024$8$1$c2FsdA$" + "A" * 43,  # salt too short
    "scrypt$1024$8$1$c2FsdHNhbHRzYWx0$not+base64/url",
    "scrypt$x$8$1$c2FsdHNhbHRzYWx0$" + "A" * 43,
])
def test_a_malformed_or_unusable_hash_is_refused(stored: str) -> None:
    with pytest.raises(BadPasswordHash):
        parse_password_hash(stored)


def test_the_config_refuses_a_bad_hash_naming_the_field_and_the_fix() -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(dashboard={"users": [{"name": "maria", "password_hash": "hunter2"}]})
    error = caught.value.errors()[0]
    assert error["loc"] == ("dashboard", "users", 0, "password_hash")
    assert "nurture dashboard hash-password" in error["msg"]


def test_the_config_refuses_two_users_of_one_name() -> None:
    stored = hash_password("x", n=CHEAP)
    with pytest.raises(ValidationError, match="maria listed more than once"):
        Settings(dashboard={"users": [{"name": "maria", "password_hash": stored},
                                      {"name": "maria", "password_hash": stored}]})


def test_a_printed_config_does_not_show_the_hashes() -> None:
    stored = hash_password("x", n=CHEAP)
    settings = Settings(dashboard={"users": [{"name": "maria", "password_hash": stored}],
                                   "session_secret": "s3cret-session-key"})
    for shown in (repr(settings), str(settings), settings.model_dump_json()):
        assert stored not in shown and "s3cret-session-key" not in shown


def settings_with(*users: tuple[str, str], **dashboard: object) -> Settings:
    return Settings(tracking={"secret": "tracking-secret"}, dashboard={
        "users": [{"name": name, "password_hash": hash_password(password, n=CHEAP)}
                  for name, password in users], **dashboard})


def test_authenticate_needs_the_name_and_its_password() -> None:
    settings = settings_with(("maria", "pw-maria"), ("li", "pw-li"))
    users = settings.dashboard.users
    assert authenticate(users, "li", "pw-li") is users[1]
    assert authenticate(users, "li", "pw-maria") is None
    assert authenticate(users, "nobody", "pw-maria") is None  # checked against maria's hash
    assert authenticate([], "maria", "pw-maria") is None


def test_a_session_token_opens_until_it_expires() -> None:
    settings = settings_with(("maria", "pw"), session_hours=2)
    token, lifetime = session_token(settings, settings.dashboard.users[0], NOW)
    assert lifetime == 7200
    session = open_session(settings, token, NOW + timedelta(hours=1, minutes=59))
    assert session is not None and session.user == "maria"
    assert open_session(settings, token, NOW + timedelta(hours=2)) is None


def test_a_session_signed_with_another_secret_opens_nothing() -> None:
    ours = settings_with(("maria", "pw"))
    theirs = ours.model_copy(update={"dashboard": ours.dashboard.model_copy(
        update={"session_secret": SecretStr("another-secret")})})
    token, _ = session_token(theirs, theirs.dashboard.users[0], NOW)
    assert open_session(ours, token, NOW) is None
    assert open_session(theirs, token, NOW) is not None


def test_a_csrf_token_matches_its_nonce_only() -> None:
    settings = settings_with()
    token = csrf_token(settings, "nonce-one-1234567890")
    assert is_csrf_valid(settings, "nonce-one-1234567890", token)
    assert not is_csrf_valid(settings, "nonce-two-1234567890", token)
    assert not is_csrf_valid(settings, None, token)
    assert not is_csrf_valid(settings, "nonce-one-1234567890", None)
