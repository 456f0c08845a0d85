"""Mutations of a valid blob, as a hostile or broken client would send them."""

from __future__ import annotations

import random
from collections.abc import Iterator

STRATEGIES = ("truncate", "bit_flips", "overwrite", "zero_region", "header", "random",
              "extend")


def mutate(seed: bytes, strategy: str, rng: random.Random) -> bytes:
    """One mutant of `seed` by `strategy` (deterministic for a given rng state)."""
    data = bytearray(seed)
    size = len(data)
    if strategy == "truncate":  # cut anywhere, often inside the header
        cut = rng.choice((rng.randrange(0, min(size, 64)), rng.randrange(0, size)))
        return bytes(data[:cut])
    if strategy == "bit_flips":
        for _ in range(rng.randint(1, 8)):
            position = rng.randrange(size)
            data[position] ^= 1 << rng.randrange(8)
        return bytes(data)
    if strategy == "overwrite":  # a region of random bytes
        start = rng.randrange(size)
        length = min(size - start, rng.randint(1, 64))
        data[start:start + length] = rng.randbytes(length)
        return bytes(data)
    if strategy == "zero_region":  # zeros or 0xff over a region (lengths, counts, sizes)
        start = rng.randrange(size)
        length = min(size - start, rng.randint(1, 32))
        data[start:start + length] = bytes([rng.choice((0x00, 0xFF))]) * length
        return bytes(data)
    if strategy == "header":  # the first bytes carry versions, type ids and lengths
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(min(size, 48))] = rng.randrange(256)
        return bytes(data)
    if strategy == "random":
        return rng.randbytes(rng.choice((0, 1, 16, 256, size)))
    if strategy == "extend":  # trailing garbage, or the blob twice
        return bytes(data) + (rng.randbytes(rng.randint(1, 64)) if rng.random() < 0.5
                              else bytes(data))
    raise ValueError(f"unknown strategy {strategy!r}")


def mutants(seed: bytes, rng: random.Random, count: int) -> Iterator[tuple[str, bytes]]:
    """`count` mutants of seed, the strategies taking turns."""
    for index in range(count):
        strategy = STRATEGIES[index % len(STRATEGIES)]
        yield strategy, mutate(seed, strategy, rng)
