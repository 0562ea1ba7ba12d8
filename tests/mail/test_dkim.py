"""DkimSigner signatures verify with dkimpy against the published public key."""

from __future__ import annotations

import base64

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from nurture.mail.dkim import DkimError, DkimSigner

MESSAGE = (
    b"From: Sales <sales@example.com>\r\n"
    b"To: lead@example.com\r\n"
    b"Subject: Hello there\r\n"
    b"Date: Mon, 06 May 2024 09:00:00 +0000\r\n"
    b"Message-ID: <1@example.com>\r\n"
    b"List-Unsubscribe: <https://example.com/u/abc>\r\n"
    b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
    b"\r\n"
    b"Hi,\r\nbye\r\n"
)


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@pytest.fixture(scope="module")
def signer(pem: bytes) -> DkimSigner:
    return DkimSigner("s2024", "example.com", pem)


def verifies(signed: bytes, key: rsa.RSAPrivateKey) -> bool:
    """dkimpy's verify, with DNS answering only s2024._domainkey.example.com."""
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)

    def dns(name: bytes, timeout: int = 5) -> bytes | None:
        return record if name == b"s2024._domainkey.example.com." else None

    return bool(dkim.verify(signed, dnsfunc=dns))


def signature_tags(signed: bytes) -> dict[str, str]:
    """The tags of the DKIM-Signature header that `sign` put first, unfolded."""
    header = b" ".join(signed.split(b"\nFrom:")[0].split()).decode()
    assert header.startswith("DKIM-Signature: ")
    pairs = (tag.split("=", 1) for tag in header.removeprefix("DKIM-Signature: ").split(";"))
    return {name.strip(): value.strip() for name, value in pairs}


def test_signature_verifies_against_the_published_key(
    signer: DkimSigner, key: rsa.RSAPrivateKey
) -> None:
    signed = signer.sign(MESSAGE)
    assert signed.endswith(MESSAGE)
    assert verifies(signed, key)


def test_signature_uses_relaxed_rsa_sha256_and_the_chosen_headers(signer: DkimSigner) -> None:
    tags = signature_tags(signer.sign(MESSAGE))
    assert (tags["a"], tags["c"], tags["d"], tags["s"]) == (
        "rsa-sha256", "relaxed/relaxed", "example.com", "s2024"
    )
    assert tags["h"].replace(" ", "").split(":") == [
        "from", "to", "subject", "date", "message-id", "list-unsubscribe",
        "list-unsubscribe-post",
    ]


def test_lf_message_is_signed_with_lf_line_endings(
    signer: DkimSigner, key: rsa.RSAPrivateKey
) -> None:
    lf = MESSAGE.replace(b"\r\n", b"\n")
    signed = signer.sign(lf)
    assert b"\r" not in signed
    assert verifies(signed, key)


def test_relaxed_canonicalization_survives_whitespace_changes_by_relays(
    signer: DkimSigner, key: rsa.RSAPrivateKey
) -> None:
    signed = signer.sign(MESSAGE)
    rewritten = signed.replace(b"Subject: Hello there", b"Subject:  Hello   there")
    assert verifies(rewritten, key)


def test_changed_body_or_signed_header_fails_verification(
    signer: DkimSigner, key: rsa.RSAPrivateKey
) -> None:
    signed = signer.sign(MESSAGE)
    assert not verifies(signed.replace(b"bye", b"BYE"), key)
    assert not verifies(signed.replace(b"Hello there", b"Hello, winner"), key)


def test_a_key_that_is_not_pem_is_refused_up_front() -> None:
    with pytest.raises(DkimError, match=r"s1\._domainkey\.example\.com is not a PEM RSA"):
        DkimSigner("s1", "example.com", b"not a key")


def test_from_must_be_signed(pem: bytes) -> None:
    with pytest.raises(DkimError, match="must sign the From header"):
        DkimSigner("s1", "example.com", pem, headers=("To", "Subject"))


def test_message_without_headers_cannot_be_signed(signer: DkimSigner) -> None:
    with pytest.raises(DkimError, match="cannot DKIM-sign a message for example.com"):
        signer.sign(b"no header line at all\r\n\r\nbody\r\n")
