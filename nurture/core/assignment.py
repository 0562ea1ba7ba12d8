"""Who gets a handed-off lead: the lead, the reps (with their load) and a strategy → a rep.

In order:
1. the lead's own owner, then the owner of most other leads at the same company (same company
   name, or same email domain unless it is a free-mail one) — one account, one rep — as long
   as that rep is active and not out of office (capacity does not split an account);
2. else the reps who can take it (active, not out of office, below capacity, in the team of
   the stage the lead moves to) and whose territory (countries, regions) and industries cover
   the lead; a rep who names the lead's territory or industry outranks a rep who covers all;
   among the best matches, the least loaded (open leads / capacity) or weighted round-robin;
3. else the fallback rep, if active;
4. else nobody, with the reason.
Ties are broken by email, so the answer never depends on the order the reps are listed in.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

Strategy = Literal["least_loaded", "round_robin"]
FREE_MAIL = frozenset({
    "gmail.com", "googlemail.com", "yahoo.com", "ymail.com", "hotmail.com", "outlook.com",
    "live.com", "msn.com", "icloud.com", "me.com", "mac.com", "aol.com", "proton.me",
    "protonmail.com", "gmx.com", "gmx.de", "gmx.net", "web.de", "mail.com", "mail.ru",
    "yandex.ru", "yandex.com", "qq.com", "163.com", "126.com", "zoho.com", "fastmail.com",
    "hey.com", "orange.fr", "free.fr", "laposte.net", "libero.it", "t-online.de",
    # Reserved for documentation and tests (RFC 2606): shared by unrelated people, no company.
    "example.com", "example.net", "example.org",
})


@dataclass(frozen=True)
class RepState:
    """A rep as assignment sees them: who, what they cover, how busy, whether available."""

    id: int
    email: str
    name: str = ""
    teams: frozenset[str] = frozenset({"sales"})
    countries: frozenset[str] = frozenset()  # upper-case ISO codes; empty: every country
    regions: frozenset[str] = frozenset()  # case-folded; empty: every region
    industries: frozenset[str] = frozenset()  # case-folded; empty: every industry
    capacity: int = 50
    load: int = 0  # open leads owned now
    weight: int = 1
    active: bool = True
    away: tuple[tuple[date, date], ...] = ()  # out-of-office days, both ends included
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    credit: float = 0.0  # weighted round-robin state, kept between assignments

    def is_away(self, now: datetime) -> bool:
        """Out of office on the rep's local date at `now`."""
        today = now.astimezone(self.zone).date()
        return any(first <= today <= last for first, last in self.away)

    def is_available(self, now: datetime) -> bool:
        return self.active and not self.is_away(now)


@dataclass(frozen=True)
class LeadProfile:
    """What assignment needs to know about the lead."""

    email: str
    company: str | None = None
    country: str | None = None
    region: str | None = None
    industry: str | None = None
    owner_id: int | None = None
    team: str | None = None  # the team of the stage the lead moves to


@dataclass(frozen=True)
class Assignment:
    """The chosen rep (None: nobody), why, and the round-robin credits to store."""

    rep_id: int | None
    reason: str
    credits: Mapping[int, float] = field(default_factory=dict)


def company_key(company: str | None) -> str | None:
    """A company name compared loosely: case and spacing ignored."""
    key = " ".join((company or "").casefold().split())
    return key or None


def company_domain(email: str) -> str | None:
    """The email's domain when it names a company (not gmail.com and the like)."""
    domain = email.rpartition("@")[2].strip().lower()
    return domain if domain and domain not in FREE_MAIL else None


def assign(lead: LeadProfile, reps: Sequence[RepState], strategy: Strategy, now: datetime, *,
           company_owners: Mapping[int, int] | None = None, fallback: str | None = None,
           exclude: Collection[int] = ()) -> Assignment:
    """The rep for `lead`; `company_owners` maps rep id → other leads of the company they own;
    reps in `exclude` (e.g. the ones who already let this lead go) are never chosen."""
    by_id = {rep.id: rep for rep in reps if rep.id not in exclude}
    kept = _account_owner(lead, by_id, company_owners or {}, now)
    if kept is not None:
        return kept
    eligible = [rep for rep in by_id.values() if _can_take(rep, lead, now)]
    ranked = [(level, rep) for rep in eligible if (level := _match_level(rep, lead)) is not None]
    if ranked:
        best = max(level for level, _ in ranked)
        matches = sorted((rep for level, rep in ranked if level == best), key=lambda r: r.email)
        if strategy == "round_robin":
            return _round_robin(matches, lead)
        chosen = min(matches, key=lambda r: (r.load / r.capacity, r.load, r.email))
        return Assignment(chosen.id, f"{_match_reason(chosen, lead)}; least loaded "
                                     f"({chosen.load} of {chosen.capacity} open leads)")
    missing = _why_nobody(lead, list(by_id.values()), now)
    spare = next((rep for rep in by_id.values() if rep.email == fallback), None)
    if spare is not None and spare.active:
        return Assignment(spare.id, f"{missing}; fallback rep")
    return Assignment(None, missing)


def _account_owner(lead: LeadProfile, reps: Mapping[int, RepState],
                   company_owners: Mapping[int, int], now: datetime) -> Assignment | None:
    owner = reps.get(lead.owner_id) if lead.owner_id is not None else None
    if owner is not None and owner.is_available(now):
        return Assignment(owner.id, "already owns this lead")
    available = [(count, rep) for rep_id, count in company_owners.items()
                 if (rep := reps.get(rep_id)) is not None and rep.is_available(now) and count > 0]
    if not available:
        return None
    count, rep = min(available, key=lambda item: (-item[0], item[1].email))
    company = " ".join((lead.company or "").split()) or company_domain(lead.email) or "?"
    return Assignment(rep.id, f"owns {count} other lead{'s' if count != 1 else ''} at {company}")


def _can_take(rep: RepState, lead: LeadProfile, now: datetime) -> bool:
    return rep.is_available(now) and rep.load < rep.capacity and _in_team(rep, lead)


def _in_team(rep: RepState, lead: LeadProfile) -> bool:
    return lead.team is None or not rep.teams or lead.team in rep.teams


def _match_level(rep: RepState, lead: LeadProfile) -> int | None:
    """None when the rep's territory or industries leave the lead out, else how many of the
    two the rep names explicitly (0: covers everything)."""
    level = 0
    if rep.countries or rep.regions:
        country = (lead.country or "").strip().upper()
        region = (lead.region or "").strip().casefold()
        if country not in rep.countries and region not in rep.regions:
            return None
        level += 1
    if rep.industries:
        if (lead.industry or "").strip().casefold() not in rep.industries:
            return None
        level += 1
    return level


def _match_reason(rep: RepState, lead: LeadProfile) -> str:
    """What of the lead the rep names: "matches country US, industry software"."""
    country = (lead.country or "").strip().upper()
    parts = []
    if country and country in rep.countries:
        parts.append(f"country {country}")
    elif rep.regions:
        parts.append(f"region {lead.region}")
    if rep.industries:
        parts.append(f"industry {lead.industry}")
    return "matches " + ", ".join(parts) if parts else "covers every territory and industry"


def _round_robin(matches: list[RepState], lead: LeadProfile) -> Assignment:
    """Smooth weighted round-robin (as nginx balances upstreams): each match earns its weight,
    the richest is chosen and pays the total. Over any run of picks among the same reps, each
    gets its weight's share, spread out rather than in bursts."""
    credits = {rep.id: rep.credit + rep.weight for rep in matches}
    chosen = min(matches, key=lambda r: (-credits[r.id], r.email))
    credits[chosen.id] -= sum(rep.weight for rep in matches)
    return Assignment(chosen.id, f"{_match_reason(chosen, lead)}; round-robin "
                                 f"(weight {chosen.weight})", credits)


def _why_nobody(lead: LeadProfile, reps: list[RepState], now: datetime) -> str:
    if not reps:
        return "no reps configured"
    available = [rep for rep in reps if rep.is_available(now)]
    if not available:
        return "every rep is inactive or out of office"
    if not any(_in_team(rep, lead) for rep in available):
        return f"no available rep in team {lead.team}"
    matching = [rep for rep in available
                if _in_team(rep, lead) and _match_level(rep, lead) is not None]
    if not matching:
        return "no available rep covers this lead's territory and industry"
    return "every matching rep is at capacity"
