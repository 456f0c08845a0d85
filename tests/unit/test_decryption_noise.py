"""The noise server-mode decryption adds, and the policy that sizes it
(wavis.fhe.ckks_decryption)."""

from __future__ import annotations

import math
import statistics

from wavis.fhe.ckks_decryption import TAIL_SIGMAS, decryption_policy, flooded


def test_the_noise_is_gaussian_of_the_policys_deviation_and_fresh_each_time() -> None:
    sigma = 2.0 ** -10
    values = [1.5] * 40_001  # an odd count: the last pair's second draw is dropped
    first, second = flooded(values, sigma), flooded(values, sigma)
    assert len(first) == len(values)
    deltas = [a - 1.5 for a in first]
    assert abs(statistics.fmean(deltas)) < 5 * sigma / math.sqrt(len(deltas))
    assert abs(statistics.pstdev(deltas) / sigma - 1) < 0.02
    beyond = sum(abs(d) > 3 * sigma for d in deltas) / len(deltas)
    assert 0.0015 < beyond < 0.0040  # a Gaussian's tails: 0.27% beyond 3 sigma
    assert max(abs(d) for d in deltas) < TAIL_SIGMAS * sigma
    assert sum(a == b for a, b in zip(first, second, strict=True)) == 0


def test_the_policy_follows_the_flooding_formula() -> None:
    # N=2048 (1024 slots), scale 55, tau 40, s 30, margin 6: B = 55 - 11 - 6 = 38;
    # t = sqrt(2*1024) 2^-38; sigma = sqrt(12*40) 2^15 t.
    policy = decryption_policy(scale_bits=55, ring_dim=2048, slot_count=1024, budget=40,
                               security_bits=30, margin_bits=6)
    assert policy.admitted_bits == 38
    assert math.isclose(policy.sigma, math.sqrt(480) * 2 ** 15 * math.sqrt(2048) * 2 ** -38)
    assert policy.precision_bits == math.floor(-math.log2(8 * policy.sigma) * 100) / 100
    assert 2 ** -policy.precision_bits >= TAIL_SIGMAS * policy.sigma  # a bound, rounded down
    # Four times the budget or two more bits of security: one bit less.
    quadrupled = decryption_policy(scale_bits=55, ring_dim=2048, slot_count=1024, budget=160,
                                   security_bits=30, margin_bits=6)
    assert math.isclose(quadrupled.sigma, 2 * policy.sigma)
    stronger = decryption_policy(scale_bits=55, ring_dim=2048, slot_count=1024, budget=40,
                                 security_bits=32, margin_bits=6)
    assert math.isclose(stronger.sigma, 2 * policy.sigma)
