"""Forged and altered credentials: a link token changed anywhere never names another lead,
email or destination, and the links refuse it without changing anything; an Authorization
header is accepted for exactly the configured key, whatever else is sent.

(The unsubscribe link's own promises, a GET changing nothing, links working years later, a
replayed POST doing nothing more, are in tests/web/test_unsubscribe.py.)"""

from __future__ import annotations

import contextlib
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nurture.core.tokens import BadToken, sign, verify
from nurture.engine.tracking_links import click_url
from tests.web.conftest import API_KEY, BASE_URL, SECRET, Site

URL_SAFE = string.ascii_letters + string.digits + "-_.=~%!$&'()*+,;:@"
PURPOSES = ["unsubscribe", "open", "click"]
PAYLOADS = ["42", "12345.2", "12345.2|https://example.com/pricing?plan=pro"]
ONE_SITE = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


@st.composite
def altered(draw: st.DrawFn, token: str) -> str:
    """`token` with a character replaced, inserted or removed, or cut short."""
    at = draw(st.integers(0, len(token)))
    char = draw(st.sampled_from(URL_SAFE))
    edit = draw(st.sampled_from(["replace", "insert", "delete", "cut"]))
    if edit == "replace" and at < len(token):
        return token[:at] + char + token[at + 1:]
    if edit == "insert":
        return token[:at] + char + token[at:]
    if edit == "delete" and at < len(token):
        return token[:at] + token[at + 1:]
    return token[:at]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(PURPOSES), st.sampled_from(PAYLOADS), st.data())
def test_an_altered_token_is_refused_or_still_says_exactly_what_it_said(
        purpose: str, payload: str, data: st.DataObject) -> None:
    token = sign(SECRET, purpose, payload)
    forged = data.draw(altered(token))
    with contextlib.suppress(BadToken):
        assert verify(SECRET, purpose, forged) == payload
    for other in PURPOSES:
        if other != purpose:
            with pytest.raises(BadToken):
                verify(SECRET, other, forged)


def alterations(token: str) -> list[str]:
    """Every one-character deletion, replacement and insertion of `token`, and cuts."""
    found = {token[:at] + token[at + 1:] for at in range(len(token))}
    found |= {token[:at] + ("B" if token[at] == "A" else "A") + token[at + 1:]
              for at in range(len(token))}
    found |= {token[:at] + "." + token[at:] for at in range(len(token) + 1)}
    found |= {token[:at] for at in range(0, len(token), 5)} | {token + "=", token + "A"}
    return sorted(found - {token})


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_altered_links_refuse_or_act_on_their_own_lead_and_destination(site: Site) -> None:
    ann, bob = site.lead("ann@example.com"), site.lead("bob@example.com")
    ref = site.sent_email(ann)
    site.sent_email(bob)
    destination = "https://example.com/pricing"
    click = click_url(BASE_URL, SECRET, ref, destination).rpartition("/")[2]
    for forged in alterations(click):
        answer = site.call("GET", f"/c/{forged}")
        assert answer.status_code == 404 or answer.headers["location"] == destination, forged
    for forged in alterations(sign(SECRET, "unsubscribe", str(ann))):
        for method in ("GET", "POST"):
            assert site.call(method, f"/u/{forged}").status_code in (200, 404), forged
    assert {event.lead_id for event in site.events()} <= {ann}
    assert site.get_lead(bob).status == "active"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@ONE_SITE
@given(st.one_of(
    st.text(alphabet=string.printable.replace("\n", "").replace("\r", "")
            .replace("\x0b", "").replace("\x0c", ""), max_size=40),
    st.sampled_from([API_KEY, API_KEY.upper()]).flatmap(lambda key: st.sampled_from([
        f"Bearer {key}", f"bearer {key}", f"BEARER {key}", f"Bearer  {key}", f"Bearer {key} ",
        f"Bearer {key}x", f"Bearer {key[:-1]}", f"Token {key}", f"Basic {key}", key,
        f"Bearer {key},Bearer {key}", f"Bearer\t{key}", f"Bearer {key}\t"])),
))
def test_only_the_configured_key_opens_the_api(site: Site, authorization: str) -> None:
    response = site.call("GET", "/api/leads/1", headers={"Authorization": authorization})
    scheme, _, credentials = authorization.strip().partition(" ")
    granted = scheme.lower() == "bearer" and credentials.strip() == API_KEY
    assert response.status_code == (404 if granted else 401), authorization
