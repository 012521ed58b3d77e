"""The counter-based random generator of docs/ODD.md, in pure Python (the reference).

Every draw is a pure function of (root seed, stream, day, a, b), so the order in which an engine
evaluates things never changes a result. ``cyext.rng`` is the same function in C.
"""

from __future__ import annotations

M = (1 << 64) - 1
G = 0x9E3779B97F4A7C15
INV_2_53 = 2.0**-53

# Streams (docs/ODD.md). Names match the phase that draws from them.
ENTRY = 1
HOME = 2
MARKET = 3
HOST = 4
DETECT = 5
NOTICE_DELAY = 6
COMPLY = 7
SEIZE = 8
COURT_DELAY = 9
QUIT = 10
OPEN = 11
REQ_DELAY = 12
GRANT = 13
IDENT = 14
EXTRADITE = 15
ARREST_DELAY = 16
SUCCESSOR = 17
SUCC_DELAY = 18
REPROVISION = 19
RESIDENCE = 20
MONEY = 21
PROSECUTE = 22
MIGRATE_DELAY = 23
BLOCK_DELAY = 24
CUTOFF_DELAY = 25
CUTOFF_QUIT = 26
HOST_ACCEPT = 27
HOST_EXACT = 28


def mix(z: int) -> int:
    """SplitMix64 finaliser of ``z`` (a 64-bit unsigned integer)."""
    z = (z + G) & M
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
    return z ^ (z >> 31)


def bits(seed: int, stream: int, t: int, a: int, b: int = 0) -> int:
    """64 random bits for (seed, stream, t, a, b)."""
    return mix(mix(mix(mix(mix(seed & M) ^ stream) ^ t) ^ a) ^ b)


def uniform(seed: int, stream: int, t: int, a: int, b: int = 0) -> float:
    """A uniform double in [0, 1) for (seed, stream, t, a, b); exact multiples of 2**-53."""
    return (bits(seed, stream, t, a, b) >> 11) * INV_2_53


class CounterRNG:
    """The generator bound to one root seed: ``rng.u(stream, t, a, b)``."""

    __slots__ = ("seed",)

    def __init__(self, seed: int) -> None:
        self.seed = seed & M

    def u(self, stream: int, t: int, a: int, b: int = 0) -> float:
        """Uniform in [0, 1) for this seed (see :func:`uniform`)."""
        return uniform(self.seed, stream, t, a, b)

    def top53(self, stream: int, t: int, a: int, b: int = 0) -> int:
        """The 53 bits behind :meth:`u` as an integer (``u == top53 * 2**-53``), for exact integer draws."""
        return bits(self.seed, stream, t, a, b) >> 11
