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
