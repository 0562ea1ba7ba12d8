"""The two-proportion z-test of A/B subject variants, without a database."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nurture.reports.significance import two_proportion_test


def test_a_known_difference_gives_the_textbook_z_and_p() -> None:
    # 50/500 against 30/500: pooled 0.08, SE = sqrt(0.08 · 0.92 · 2/500) = 0.017158.
    found = two_proportion_test(50, 500, 30, 500)
    assert found.z == pytest.approx(2.3313, abs=1e-4)
    assert found.p_value == pytest.approx(0.01974, abs=1e-5)
    assert found.is_significant and not found.too_small
    assert found.verdict == "significant (p = 0.020)"


def test_equal_rates_are_not_significant() -> None:
    found = two_proportion_test(40, 400, 20, 200)
    assert found.z == pytest.approx(0.0)
    assert found.p_value == pytest.approx(1.0)
    assert found.verdict == "not significant (p = 1.000)"


@pytest.mark.parametrize("a, n, b, m", [(1, 10, 0, 10), (0, 0, 0, 0), (3, 1000, 2, 1000),
                                        (100, 100, 99, 100)])
def test_too_small_a_sample_gives_no_p_value(a: int, n: int, b: int, m: int) -> None:
    found = two_proportion_test(a, n, b, m)
    assert found.too_small and found.p_value is None and found.z is None
    assert not found.is_significant
    assert found.verdict.startswith("sample too small")


@given(st.integers(0, 500), st.integers(1, 500), st.integers(0, 500), st.integers(1, 500))
def test_swapping_the_variants_gives_the_same_p_value(a: int, n: int, b: int, m: int) -> None:
    a, b = min(a, n), min(b, m)
    there, back = two_proportion_test(a, n, b, m), two_proportion_test(b, m, a, n)
    assert there.too_small == back.too_small
    if there.p_value is not None:
        assert there.p_value == pytest.approx(back.p_value)
        assert 0.0 <= there.p_value <= 1.0
