"""Result order: the sort key's granularity and ties that move between requests.

Ordering is undocumented (API notes §8). ``order`` picks the direction; ``sort_key`` picks
what is sorted on (the local start second, or the local date only, as a date-indexed
backend might); ``unstable_ties`` makes rows that tie on the sort key come back in a new
order on every request, as a database without a unique tiebreak may. The strictest
combination, ``order="shuffled"`` with unstable ties, permutes the whole matching set anew
on every request.

A fresh permutation per request must not cost a shuffle of a 100k-row tie group per page,
so each tie group is permuted by a keyed pseudo-random permutation (a small Feistel network
with cycle walking) evaluated only at the positions a page needs.
"""

from __future__ import annotations

import hashlib
from array import array
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass

MASK64 = (1 << 64) - 1
ROUNDS = 4


def _mix(x: int) -> int:
    """SplitMix64's finaliser: a fast, well-spread 64-bit hash of an integer."""
    z = (x + 0x9E3779B97F4A7C15) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


class Permutation:
    """A keyed bijection of ``range(n)``, computed one position at a time."""

    __slots__ = ("_half", "_keys", "_mask", "n")

    def __init__(self, n: int, key: int) -> None:
        self.n = n
        bits = max(2, (n - 1).bit_length())
        bits += bits & 1  # a balanced Feistel network needs an even width
        self._half = bits // 2
        self._mask = (1 << self._half) - 1
        self._keys = tuple(_mix(key ^ (r << 56)) for r in range(ROUNDS))

    def _encrypt(self, value: int) -> int:
        half, mask = self._half, self._mask
        left, right = value >> half, value & mask
        for k in self._keys:
            left, right = right, left ^ (_mix(k ^ right) & mask)
        return (left << half) | right

    def __call__(self, i: int) -> int:
        """Where position ``i`` of the permuted group comes from."""
        if self.n <= 1:
            return i
        value = self._encrypt(i)
        while value >= self.n:  # cycle walking: at most a few steps (domain < 4n)
            value = self._encrypt(value)
        return value


def request_key(seed: int, counter: int, group_start: int) -> int:
    """Permutation key of one tie group in one request."""
    digest = hashlib.blake2b(f"{seed}:{counter}:{group_start}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


@dataclass(frozen=True)
class Ties:
    """Runs of tied rows (two or more) in a serving order: ``starts[g]`` .. ``ends[g]``."""

    starts: array
    ends: array

    @classmethod
    def runs(cls, n: int, same: Callable[[int, int], bool]) -> Ties:
        """Maximal runs of consecutive positions where ``same(i - 1, i)`` holds."""
        starts, ends = array("q"), array("q")
        i = 1
        while i < n:
            if same(i - 1, i):
                start = i - 1
                while i < n and same(i - 1, i):
                    i += 1
                starts.append(start)
                ends.append(i)
            i += 1
        return cls(starts, ends)

    @classmethod
    def whole(cls, n: int) -> Ties:
        """Everything ties (no sort key at all)."""
        return cls(array("q", [0] if n > 1 else []), array("q", [n] if n > 1 else []))

    def positions(self, first: int, stop: int, seed: int, counter: int) -> list[int]:
        """Source positions for serving positions ``first``..``stop`` in request ``counter``."""
        out = []
        perms: dict[int, Permutation] = {}
        starts, ends = self.starts, self.ends
        for i in range(first, stop):
            g = bisect_right(starts, i) - 1
            if g < 0 or i >= ends[g]:
                out.append(i)
                continue
            start = starts[g]
            perm = perms.get(g)
            if perm is None:
                perm = perms[g] = Permutation(ends[g] - start, request_key(seed, counter, start))
            out.append(start + perm(i - start))
        return out
