import pytest

from nurture.core.tokens import BadToken, sign, verify


def test_a_signed_token_gives_back_its_payload() -> None:
    token = sign("secret", "unsubscribe", "42:7")
    assert verify("secret", "unsubscribe", token) == "42:7"
    assert "/" not in token and "+" not in token and "=" not in token  # safe in a URL path


@pytest.mark.parametrize("mutate", [
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
    lambda t: "MTM" + t[3:],
    lambda t: t.split(".")[0],
    lambda t: "",
    lambda t: "%%%.###",
])
def test_tampered_or_malformed_tokens_are_rejected(mutate) -> None:  # type: ignore[no-untyped-def]
    token = sign("secret", "unsubscribe", "42")
    with pytest.raises(BadToken):
        verify("secret", "unsubscribe", mutate(token))


def test_a_token_is_bound_to_its_purpose_and_secret() -> None:
    token = sign("secret", "open", "42")
    with pytest.raises(BadToken, match="signature"):
        verify("secret", "click", token)
    with pytest.raises(BadToken, match="signature"):
        verify("other", "open", token)


def _other_spellings(token: str) -> list[str]:
    """Spellings of `token` that base64 decodes to the same bytes: the last character of the
    tag with other values of its unused low bits."""
    body, tag = token.split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(tag[-1])
    same_bits = [c for i, c in enumerate(alphabet) if i >> 4 == last >> 4 and i != last]
    return [f"{body}.{tag[:-1]}{c}" for c in same_bits]


def test_only_the_written_spelling_of_a_token_is_accepted() -> None:
    token = sign("secret", "unsubscribe", "42:7")
    spellings = _other_spellings(token)
    assert len(spellings) == 15  # a 16-byte tag leaves 4 bits of its last character unused
    for spelling in spellings:
        with pytest.raises(BadToken, match="malformed"):
            verify("secret", "unsubscribe", spelling)
