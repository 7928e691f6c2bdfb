#!/usr/bin/env python3
"""Reference values for the DIIP gauntlet statistics (governance/Diip/DiipStatistics.cs), computed independently with
the Python standard library only: exact binomial tail sums with math.comb and fractions.Fraction (no floating point
until the final division), and statistics.NormalDist for the normal quantile. Run: python3 generate.py > statistics.json
"""
import json
import math
from fractions import Fraction
from statistics import NormalDist


def sign_test_p(b, c):
    """One-sided exact sign test: P(X >= b) for X ~ Binomial(b + c, 1/2); 1 when b == 0."""
    n = b + c
    if b == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(b, n + 1))
    return float(Fraction(tail, 2 ** n))


def non_inferiority_lower(b, c, n, alpha):
    d = (b - c) / n
    var = max(0.0, ((b + c) - (b - c) ** 2 / n) / (n * n))
    z = NormalDist().inv_cdf(1 - alpha)
    return d - z * math.sqrt(var)


sign = [[b, c, sign_test_p(b, c)] for b, c in [
    (0, 0), (0, 7), (1, 0), (1, 1), (5, 0), (6, 1), (7, 3), (10, 10), (15, 5), (20, 6), (30, 10), (12, 30),
    (40, 20), (60, 40), (100, 70), (150, 100), (3, 12), (25, 25), (200, 150), (9, 1)]]
ni = [[b, c, n, alpha, non_inferiority_lower(b, c, n, alpha)] for b, c, n, alpha in [
    (5, 5, 200, 0.05), (10, 4, 300, 0.05), (4, 10, 300, 0.05), (0, 0, 100, 0.05), (20, 35, 400, 0.05),
    (8, 8, 1000, 0.01), (30, 2, 120, 0.10), (3, 9, 150, 0.05)]]
print(json.dumps({
    "source": "tests/vectors/diip/generate.py (Python stdlib: math.comb, fractions, statistics.NormalDist)",
    "sign_test": {"desc": "[b, c, p] one-sided exact P(X >= b), X ~ Bin(b+c, 1/2)", "cases": sign},
    "non_inferiority": {"desc": "[b, c, n, alpha, lower bound of (b-c)/n]", "cases": ni},
}, indent=1))
