"""Polynomial coefficients for fusenum's own vector math kernels (fusenum/codegen/vmath).

    python tools/polyfit.py                # every fit the kernels use, with its error
    python tools/polyfit.py exp_tail       # one of them

Each fit interpolates a smooth function at Chebyshev nodes (within a small factor
of the minimax error) using exact rational arithmetic, with function values from
Python's ``decimal`` module at 60 digits; the coefficients are then rounded to
float64 or float32 and the error of the *rounded* polynomial is measured on a
dense grid. The kernels quote the fits by name, so every constant in them can be
regenerated here.
"""
from __future__ import annotations

import sys
import textwrap
from decimal import Decimal, getcontext
from fractions import Fraction

import numpy as np

getcontext().prec = 60
D = Decimal


def _exp(x: Decimal) -> Decimal:
    return x.exp()


def _expm1(x: Decimal) -> Decimal:
    if abs(x) > D("0.001"):
        return x.exp() - 1
    term, total, n = x, x, 1
    while abs(term) > D(10) ** -70:
        n += 1
        term = term * x / n
        total += term
    return total


def _log1p(x: Decimal) -> Decimal:
    if abs(x) > D("0.001"):
        return (1 + x).ln()
    term, total, n = x, D(0), 1
    while abs(term) > D(10) ** -70:
        total += term / n
        n += 1
        term = -term * x
    return total


def _atan(x: Decimal) -> Decimal:
    """arctan by its Taylor series after halving the angle until the argument is small."""
    halvings = 0
    while abs(x) > D("0.05"):
        x = x / (1 + (1 + x * x).sqrt())
        halvings += 1
    term, total, n, x2 = x, D(0), 1, x * x
    while abs(term) > D(10) ** -70:
        total += term / n
        term = -term * x2
        n += 2
    return total * (2 ** halvings)


def _sin_cos(x: Decimal) -> tuple[Decimal, Decimal]:
    s, c, term, n = D(0), D(0), D(1), 0
    while n < 200:
        if n % 4 == 0:
            c += term
        elif n % 4 == 1:
            s += term
        elif n % 4 == 2:
            c -= term
        else:
            s -= term
        n += 1
        term = term * x / n
        if abs(term) < D(10) ** -70:
            break
    return s, c


def _tan(x: Decimal) -> Decimal:
    s, c = _sin_cos(x)
    return s / c


def _atanh_series_tail(z: Decimal) -> Decimal:
    """``(2*atanh(s) - 2*s) / s**3`` for ``z = s**2``."""
    s = z.sqrt()
    if not s:
        return D(2) / 3
    return (((1 + s) / (1 - s)).ln() - 2 * s) / (s ** 3)


def _tanh(x: Decimal) -> Decimal:
    e = _expm1(2 * x)
    return e / (e + 2)


# name -> (function of t to approximate, interval, degree, dtype, description)
# The functions are the "tails" the kernels evaluate, e.g. exp(r) = 1 + r + r^2 * exp_tail(r).
FITS = {
    # float32
    "exp_tail_f32": (lambda r: (_expm1(r) - r) / (r * r), (-0.3466, 0.3466), 4, np.float32,
                     "exp(r) = 1 + r + r**2 * P(r), |r| <= ln2/2"),
    "tan_f32": (lambda t: (_tan(t.sqrt()) / t.sqrt() - 1) / t if t else D(1) / 3, (0, 0.6169), 6, np.float32,
                "tan(r) = r + r**3 * P(r**2), |r| <= pi/4"),
    "atan_f32": (lambda t: (_atan(t.sqrt()) / t.sqrt() - 1) / t if t else D(-1) / 3, (0, 1), 8, np.float32,
                 "atan(x) = x + x**3 * P(x**2), |x| <= 1"),
    "tanh_f32": (lambda t: (_tanh(t.sqrt()) / t.sqrt() - 1) / t if t else D(-1) / 3, (0, 0.3906), 4, np.float32,
                 "tanh(x) = x + x**3 * P(x**2), |x| <= 0.625"),
    "log1p_tail_table_f32": (lambda r: (_log1p(r) - r) / (r * r), (-0.0157, 0.0157), 2, np.float32,
                             "log1p(r) = r + r**2 * P(r), |r| <= 1/64 (float32 log's 32-entry table)"),
    # float64
    "exp_tail_f64": (lambda r: (_expm1(r) - r) / (r * r), (-0.3466, 0.3466), 10, np.float64,
                     "exp(r) = 1 + r + r**2 * P(r), |r| <= ln2/2"),
    "atanh_tail_f64": (_atanh_series_tail, (0, 0.02944), 7, np.float64,
                       "log1p(f) = 2*atanh(s) = 2s + s**3 * P(s**2), s = f/(2+f), |s| <= 3 - 2*sqrt(2)"),
    "log1p_tail_table_f64": (lambda r: (_log1p(r) - r) / (r * r), (-0.0304, 0.0304), 9, np.float64,
                             "log1p(r) = r + r**2 * P(r), |r| <= 0.0304 (pow's 16-entry log table)"),
    "expm1_tail_table_f64": (lambda r: (_expm1(r) - r) / (r * r), (-0.02167, 0.02167), 5, np.float64,
                             "expm1(r) = r + r**2 * P(r), |r| <= ln2/32 (pow's 16-entry exp table)"),
    "exp_tail_table8_f64": (lambda r: (_expm1(r) - r) / (r * r), (-0.04333, 0.04333), 6, np.float64,
                            "exp(r) = 1 + r + r**2 * P(r), |r| <= ln2/16 (float64 exp's 8-entry table)"),
    "sin_tail_pi32_f64": (lambda z: (_sin_cos(z.sqrt())[0] / z.sqrt() - 1) / z if z else D(-1) / 6, (0, 0.00965), 3,
                          np.float64, "sin(t) = t + t**3 * P(t**2), |t| <= pi/32 (float64 sin and cos)"),
    "cos_tail_pi32_f64": (lambda z: (_sin_cos(z.sqrt())[1] - 1) / z if z else D(-1) / 2, (0, 0.00965), 3,
                          np.float64, "cos(t) = 1 + t**2 * P(t**2), |t| <= pi/32 (float64 sin and cos)"),
    "tan_tail_pi32_f64": (lambda z: (_tan(z.sqrt()) / z.sqrt() - 1) / z if z else D(1) / 3, (0, 0.00965), 5,
                          np.float64, "tan(t) = t + t**3 * P(t**2), |t| <= pi/32 (float64 tan)"),
}


def chebyshev_fit(fn, interval, degree: int) -> list[Fraction]:
    """Monomial coefficients (exact rationals) of the interpolant of ``fn`` at Chebyshev nodes."""
    a, b = (Fraction(D(str(v))) for v in interval)
    nodes = []
    for k in range(degree + 1):
        c = np.cos((2 * k + 1) * np.pi / (2 * degree + 2))
        nodes.append((a + b) / 2 + (b - a) / 2 * Fraction(c))
    values = [Fraction(fn(D(t.numerator) / D(t.denominator))) for t in nodes]
    # Solve the Vandermonde system exactly.
    n = degree + 1
    rows = [[t ** j for j in range(n)] + [v] for t, v in zip(nodes, values)]
    for col in range(n):
        pivot = next(r for r in range(col, n) if rows[r][col] != 0)
        rows[col], rows[pivot] = rows[pivot], rows[col]
        for r in range(n):
            if r != col and rows[r][col]:
                factor = rows[r][col] / rows[col][col]
                rows[r] = [x - factor * y for x, y in zip(rows[r], rows[col])]
    return [rows[j][n] / rows[j][j] for j in range(n)]


def max_error(fn, interval, coefficients, samples: int = 2000) -> float:
    """Largest |P(t) - fn(t)| / |fn(t)| over a grid, with P's float coefficients, in exact arithmetic."""
    worst = 0.0
    a, b = interval
    for t in np.linspace(a, b, samples):
        t_frac = Fraction(float(t))
        p = Fraction(0)
        for c in reversed(coefficients):
            p = p * t_frac + Fraction(float(c))
        exact = Fraction(fn(D(t_frac.numerator) / D(t_frac.denominator)))
        if exact:
            worst = max(worst, float(abs((p - exact) / exact)))
    return worst


def fit(name: str) -> list:
    fn, interval, degree, dtype, _ = FITS[name]
    return [dtype(float(c)) for c in chebyshev_fit(fn, interval, degree)]


def _wrapped(values, indent: str) -> str:
    """A list literal broken into lines of at most 110 characters."""
    return "\n".join(textwrap.wrap("[" + ", ".join(map(repr, values)) + "]", 100, subsequent_indent=indent))


def main(names) -> None:
    for name in names or FITS:
        fn, interval, degree, dtype, what = FITS[name]
        coefficients = fit(name)
        print(f"{name}: {what}; degree {degree}; relative error {max_error(fn, interval, coefficients):.2e}")
        print("    (" + ", ".join(repr(float(c)) for c in coefficients) + ")")


if __name__ == "__main__":
    main(sys.argv[1:])
