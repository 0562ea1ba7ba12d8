from datetime import UTC, datetime, timedelta

from nurture.core.limits import DomainRate, LeadCap, lead_cap_allows, mailbox_budget

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
CAP = LeadCap(per_day=1, per_week=3)


def test_a_lead_with_no_recent_email_may_get_one() -> None:
    assert lead_cap_allows([], NOW, CAP) is None
    assert lead_cap_allows([NOW - timedelta(days=8)], NOW, CAP) is None


def test_the_daily_cap_defers_to_a_day_after_the_last_send() -> None:
    last = NOW - timedelta(hours=5)
    assert lead_cap_allows([last], NOW, CAP) == last + timedelta(days=1)


def test_the_weekly_cap_defers_until_the_oldest_send_leaves_the_week() -> None:
    sends = [NOW - timedelta(days=6), NOW - timedelta(days=4), NOW - timedelta(days=2)]
    assert lead_cap_allows(sends, NOW, CAP) == NOW + timedelta(days=1)


def test_send_order_does_not_matter() -> None:
    sends = [NOW - timedelta(days=2), NOW - timedelta(days=6), NOW - timedelta(days=4)]
    assert lead_cap_allows(sends, NOW, CAP) == lead_cap_allows(sorted(sends), NOW, CAP)


def test_mailbox_budget_is_the_tighter_of_hour_and_day() -> None:
    assert mailbox_budget(490, 1000, per_hour=500, per_day=5000).remaining == 10
    assert mailbox_budget(0, 4999, per_hour=500, per_day=5000).remaining == 1
    budget = mailbox_budget(600, 600, per_hour=500, per_day=5000)
    assert budget.remaining == 0 and not budget.take()


def test_domain_rate_is_a_sliding_minute_across_ticks() -> None:
    rate = DomainRate(per_minute=2)
    assert rate.allows("example.com", NOW) is None
    rate.record("example.com", NOW)
    rate.record("example.com", NOW + timedelta(seconds=20))
    assert rate.allows("example.com", NOW + timedelta(seconds=30)) == NOW + timedelta(minutes=1)
    assert rate.allows("other.example", NOW + timedelta(seconds=30)) is None
    assert rate.allows("example.com", NOW + timedelta(seconds=61)) is None
