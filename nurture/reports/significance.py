"""Is variant B's reply (or click) rate really different from A's? A two-proportion z-test,
with the standard library only. Pure: no I/O.

The normal approximation needs enough successes and failures in each group: with fewer than
`MIN_EXPECTED` expected under the pooled rate, the test says the sample is too small rather
than give a p-value nobody should trust.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import erfc, sqrt

MIN_EXPECTED = 5
ALPHA = 0.05
RULE = (f"two-proportion z-test, significant when p < {ALPHA}; \"sample too small\" when a "
        f"variant has fewer than {MIN_EXPECTED} expected successes or failures")


@dataclass(frozen=True)
class ProportionTest:
    """The outcome of comparing two rates; `z` and `p_value` are None when the sample is
    too small."""

    z: float | None
    p_value: float | None
    too_small: bool
    is_significant: bool = field(init=False)
    verdict: str = field(init=False)

    def __post_init__(self) -> None:
        significant = self.p_value is not None and self.p_value < ALPHA
        if self.too_small:
            verdict = "sample too small"
        else:
            verdict = f"{'' if significant else 'not '}significant (p = {self.p_value:.3f})"
        object.__setattr__(self, "is_significant", significant)
        object.__setattr__(self, "verdict", verdict)


def two_proportion_test(successes_a: int, trials_a: int,
                        successes_b: int, trials_b: int) -> ProportionTest:
    """Two-sided z-test of H0: both groups share one success rate."""
    trials = trials_a + trials_b
    pooled = (successes_a + successes_b) / trials if trials else 0.0
    expected = [n * p for n in (trials_a, trials_b) for p in (pooled, 1 - pooled)]
    if min(expected) < MIN_EXPECTED:
        return ProportionTest(None, None, too_small=True)
    error = sqrt(pooled * (1 - pooled) * (1 / trials_a + 1 / trials_b))
    z = (successes_a / trials_a - successes_b / trials_b) / error
    return ProportionTest(z, erfc(abs(z) / sqrt(2)), too_small=False)
