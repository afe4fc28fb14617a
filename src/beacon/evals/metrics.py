"""Agreement metrics between drafted levels and human levels (pure functions, no I/O).

Levels are integers 1..k. Quadratic weighted kappa follows Cohen (1968): 1 is perfect agreement,
0 is what chance alone gives, negative is worse than chance."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass


def confusion(human: Sequence[int], drafted: Sequence[int], k: int = 4) -> list[list[int]]:
    """Rows: human level 1..k; columns: drafted level 1..k."""
    matrix = [[0] * k for _ in range(k)]
    for h, d in zip(human, drafted, strict=True):
        matrix[h - 1][d - 1] += 1
    return matrix


def qwk(human: Sequence[int], drafted: Sequence[int], k: int = 4) -> float | None:
    """Quadratic weighted kappa; None when it is undefined (no items, or no spread at all)."""
    n = len(human)
    if n == 0:
        return None
    observed = confusion(human, drafted, k)
    rows = [sum(r) for r in observed]
    cols = [sum(observed[i][j] for i in range(k)) for j in range(k)]
    weights = [[(i - j) ** 2 / (k - 1) ** 2 for j in range(k)] for i in range(k)]
    num = sum(weights[i][j] * observed[i][j] for i in range(k) for j in range(k))
    den = sum(weights[i][j] * rows[i] * cols[j] / n for i in range(k) for j in range(k))
    if den == 0:
        return 1.0 if num == 0 else None
    return 1.0 - num / den


@dataclass(frozen=True)
class Agreement:
    n: int
    qwk: float | None
    exact: float | None
    adjacent: float | None
    mae: float | None
    mean_human: float | None
    mean_drafted: float | None
    confusion: list[list[int]]

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def agreement(human: Sequence[int], drafted: Sequence[int], k: int = 4) -> Agreement:
    n = len(human)
    if n == 0:
        return Agreement(0, None, None, None, None, None, None, confusion([], [], k))
    pairs = list(zip(human, drafted, strict=True))
    return Agreement(
        n=n,
        qwk=qwk(human, drafted, k),
        exact=sum(h == d for h, d in pairs) / n,
        adjacent=sum(abs(h - d) <= 1 for h, d in pairs) / n,
        mae=sum(abs(h - d) for h, d in pairs) / n,
        mean_human=sum(human) / n,
        mean_drafted=sum(drafted) / n,
        confusion=confusion(human, drafted, k),
    )


def group_bias(rows: Sequence[tuple[str, int, float]]) -> dict[str, dict]:
    """Fairness at equal human score. ``rows`` are (group, human level, drafted level). For each
    group: how many, the mean drafted-minus-human difference, and the mean difference between its
    drafted levels and everyone else's *with the same human level* (0 means no group effect)."""
    by_level: dict[int, list[tuple[str, float]]] = defaultdict(list)
    for group, human, drafted in rows:
        by_level[human].append((group, drafted))
    sizes = Counter(group for group, _, _ in rows)
    result = {}
    for group, n in sorted(sizes.items()):
        signed = [d - h for g, h, d in rows if g == group]
        gaps, weight = 0.0, 0
        for items in by_level.values():
            mine = [d for g, d in items if g == group]
            rest = [d for g, d in items if g != group]
            if mine and rest:
                gaps += (sum(mine) / len(mine) - sum(rest) / len(rest)) * len(mine)
                weight += len(mine)
        result[group] = {"n": n, "mean_drafted_minus_human": sum(signed) / n,
                         "vs_others_at_equal_human_level": gaps / weight if weight else None}
    return result
