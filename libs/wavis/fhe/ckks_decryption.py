"""Server-mode CKKS decryption that is not a key-recovery oracle.

A CKKS decryption returns m + e, and the error e is a function of the secret key: given the
ciphertext and m, one decryption reveals the key (Li and Micciancio, EUROCRYPT 2021). So the
server adds Gaussian noise to every value it returns (noise flooding, as OpenFHE's
NOISE_FLOODING_DECRYPT mode does), with the standard deviation of Li, Micciancio, Schultz and
Sorrell (CRYPTO 2022) that OpenFHE implements, sigma = sqrt(12 tau) 2^(s/2) t:

- s: statistical security, an adversary's success at most 2^-s (OpenFHE: at least 30);
- tau: decryptions allowed per key (the budget the service enforces);
- t: a bound on the l2 norm of the error over the values released. A key admits ciphertexts
  whose error OpenFHE estimates (from the imaginary part of the decoding: the messages are
  real, so it is all error) at `admitted_bits` bits of precision or better, about 2^-B per
  value; with OpenFHE's own decoding noise (sqrt(2) times its estimate) and rounding of its
  figure, t = sqrt(2 slots) 2^-B over every slot, whichever are released.

All three are public, so the noise, the refusal threshold and `precision_bits` are functions of
the key's parameters and the deployment's settings, never of a ciphertext's actual error.
Ciphertexts built from uploaded bytes are never decrypted (their error is whatever the caller
built, c0 + c1*s with c1 chosen reveals s outright). See
docs/decisions/0081-server-mode-decryption-floods-with-noise.md and docs/security.md.
"""

from __future__ import annotations

import math
import os
import struct
from dataclasses import dataclass

# precision_bits bounds each value's distance to the exact result by TAIL_SIGMAS standard
# deviations of the added noise: P(|Z| > 8) = 1.2e-15, below 2^-49 per value.
TAIL_SIGMAS = 8


@dataclass(frozen=True)
class DecryptionPolicy:
    """How a key's decryptions are done (all of it public)."""

    budget: int  # decryptions allowed per key (tau)
    security_bits: int  # statistical security s
    admitted_bits: float  # OpenFHE's precision estimate a ciphertext needs to be decrypted
    sigma: float  # standard deviation of the noise added to each value
    precision_bits: float  # each value within 2^-precision_bits of the exact result
    margin_bits: int  # bits of error admitted above a fresh encryption's


def decryption_policy(*, scale_bits: int, ring_dim: int, slot_count: int, budget: int,
                      security_bits: int, margin_bits: int) -> DecryptionPolicy:
    """The policy of a key: a fresh encryption measures about scale_bits - log2(ring_dim) - 2
    bits (OpenFHE's estimate), and errors up to 2^(margin_bits - 2) times larger are admitted."""
    admitted = scale_bits - math.log2(ring_dim) - margin_bits
    error_l2 = math.sqrt(2 * slot_count) * 2.0 ** -admitted
    sigma = math.sqrt(12 * budget) * 2.0 ** (security_bits / 2) * error_l2
    precision = math.floor(-math.log2(TAIL_SIGMAS * sigma) * 100) / 100
    return DecryptionPolicy(budget, security_bits, admitted, sigma, precision, margin_bits)


def flooded(values: list[float], sigma: float) -> list[float]:
    """values, each plus independent Gaussian noise of standard deviation sigma, drawn from
    the operating system's CSPRNG (Box-Muller on 53-bit uniforms: the tails are cut at 8.6
    sigma, which moves the distribution by less than 2^-55)."""
    pairs = (len(values) + 1) // 2
    words = struct.unpack(f"<{4 * pairs}I", os.urandom(16 * pairs))
    noise: list[float] = []
    for i in range(pairs):
        a, b, c, d = words[4 * i:4 * i + 4]
        u1 = ((a >> 5) * 67108864.0 + (b >> 6) + 1.0) / 9007199254740992.0  # (0, 1]
        u2 = ((c >> 5) * 67108864.0 + (d >> 6)) / 9007199254740992.0  # [0, 1)
        radius = sigma * math.sqrt(-2.0 * math.log(u1))
        noise += (radius * math.cos(2 * math.pi * u2), radius * math.sin(2 * math.pi * u2))
    return [value + delta for value, delta in zip(values, noise, strict=False)]
