"""The Gauss hypergeometric function 2F1(1, B; C; z) with its derivatives in B, C and z.

Pareto/NBD needs this special case only (after an Euler transform, see
:mod:`cxlib.clv.paretonbd`), with ``0 < B < C`` and ``0 <= z < 1``.  Its series

.. math:: F = \\sum_{n \\ge 0} t_n, \\quad t_0 = 1, \\quad t_{n+1} = t_n \\, z \\, \\frac{B+n}{C+n}

has positive terms below ``z^n`` (``B < C``): no overflow and no cancellation,
whatever the size of ``B`` and ``C`` (hundreds or thousands of purchases).
Differentiating term by term (``d/dB log (B)_n = psi(B+n) - psi(B) = sum_{j<n} 1/(B+j)``)

.. math::
    F_B = \\sum_n t_n \\sum_{j<n} \\frac{1}{B+j}, \\quad
    F_C = -\\sum_n t_n \\sum_{j<n} \\frac{1}{C+j}, \\quad
    F_z = \\sum_{n \\ge 1} n \\, t_n / z

are accumulated in the same recurrence (Abramowitz & Stegun 15.1.1; DLMF 15.2.1).
The tail after term ``n`` is below ``t_{n+1} / (1 - z)``; the loop stops when that is
below 1e-16 of ``F`` (``F >= 1``) for every row.  Rows with ``z > Z_SERIES_MAX``
(slow series) use scipy's ``hyp2f1`` for ``F`` and ``F_z = (B/C) 2F1(2, B+1; C+1; z)``
and central differences of it for ``F_B, F_C``.
"""
from __future__ import annotations

import numpy as np
from scipy import special

#: Above this z the series would need more than ~370 terms for 1e-17; scipy's hyp2f1 takes over.
Z_SERIES_MAX = 0.9
_TOL = 1e-16
_LOOP = 20  # terms summed by the row-wise recurrence before the 2-d tail block


def hyp2f1_1bc(B: np.ndarray, C: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return ``F, F_B/F, F_C/F, F_z/F`` for ``F = 2F1(1, B; C; z)``, elementwise.

    Parameters
    ----------
    B, C, z : numpy.ndarray
        1-d float arrays (B and C may be scalars) with ``0 < B < C`` and ``0 <= z < 1``.
    """
    z = np.asarray(z, dtype=float)
    B, C = np.broadcast_to(np.asarray(B, dtype=float), z.shape), np.broadcast_to(np.asarray(C, dtype=float), z.shape)
    slow = z > Z_SERIES_MAX
    if not slow.any():
        F, FB, FC, Fz = _series(B, C, z)
    else:
        F, FB, FC, Fz = (np.empty_like(z) for _ in range(4))
        fast = ~slow
        if fast.any():
            F[fast], FB[fast], FC[fast], Fz[fast] = _series(B[fast], C[fast], z[fast])
        F[slow], FB[slow], FC[slow], Fz[slow] = _slow(B[slow], C[slow], z[slow])
    return F, FB / F, FC / F, Fz / F


def _n_terms(z, u, hB, hC, f, n):
    """Terms still needed after term ``n``: the tails of F, F_B, F_C, F_z are below
    ``u z^(m+1) (1 + hB + hC + n + m) / (1 - z)^2`` after ``m`` more terms (terms fall at least by z)."""
    scale = (1.0 + hB + hC + n + 64.0) / (1.0 - z) ** 2
    with np.errstate(divide="ignore"):
        need = np.log(_TOL * f / (u * scale)) / np.log(np.maximum(z, 1e-300))
    return np.maximum(np.ceil(need), 0.0)


def _series(B, C, z):
    """Sum the series: a short row-wise recurrence, then one 2-d block for the rows that need more terms."""
    u = B / C  # u_n = t_{n+1} / z, so that F_z = sum (n+1) u_n without dividing by z
    hB = 1.0 / B  # sum_{j<=n} 1/(B+j)
    hC = 1.0 / C
    f = np.ones_like(z)
    fb = np.zeros_like(z)
    fc = np.zeros_like(z)
    fz = np.zeros_like(z)
    t, tmp = np.empty_like(z), np.empty_like(z)
    bn, cn = B.astype(float, copy=True), C.astype(float, copy=True)
    loop = int(min(_LOOP, _n_terms(z.max(initial=0.0), 1.0, 1.0 / B.min(initial=1.0), 1.0, 1.0, 0) + 1))
    for n in range(loop):  # in-place ufuncs: this loop is most of the cost of a Pareto/NBD likelihood
        np.multiply(u, n + 1, out=tmp)
        fz += tmp
        np.multiply(u, z, out=t)  # t_{n+1}
        f += t
        np.multiply(t, hB, out=tmp)
        fb += tmp
        np.multiply(t, hC, out=tmp)
        fc -= tmp
        bn += 1.0
        cn += 1.0
        np.multiply(t, bn, out=u)
        u /= cn
        np.divide(1.0, bn, out=tmp)
        hB += tmp
        np.divide(1.0, cn, out=tmp)
        hC += tmp
    need = _n_terms(z, u, hB, hC, f, loop)
    todo = need > 0
    if todo.any():
        zt, ut = z[todo], u[todo]
        m = int(need[todo].max()) + 1
        ns = loop + np.arange(m)
        Bt, Ct = B[todo][:, None], C[todo][:, None]
        step = zt[:, None] * (Bt + ns + 1) / (Ct + ns + 1)
        U = ut[:, None] * np.cumprod(np.concatenate([np.ones((len(zt), 1)), step[:, :-1]], axis=1), axis=1)
        HB = hB[todo][:, None] + np.cumsum(np.concatenate([np.zeros((len(zt), 1)), 1.0 / (Bt + ns[1:])], axis=1), axis=1)
        HC = hC[todo][:, None] + np.cumsum(np.concatenate([np.zeros((len(zt), 1)), 1.0 / (Ct + ns[1:])], axis=1), axis=1)
        Tm = U * zt[:, None]
        f[todo] += Tm.sum(axis=1)
        fb[todo] += (Tm * HB).sum(axis=1)
        fc[todo] -= (Tm * HC).sum(axis=1)
        fz[todo] += ((ns + 1) * U).sum(axis=1)
    return f, fb, fc, fz


def _slow(B, C, z):
    """scipy's hyp2f1 for F and F_z = (B/C) 2F1(2, B+1; C+1; z); central differences for F_B and F_C."""
    f = special.hyp2f1(1.0, B, C, z)
    fz = B / C * special.hyp2f1(2.0, B + 1.0, C + 1.0, z)
    hb = 1e-6 * np.maximum(1.0, B)
    hc = 1e-6 * np.maximum(1.0, C)
    fb = (special.hyp2f1(1.0, B + hb, C, z) - special.hyp2f1(1.0, B - hb, C, z)) / (2 * hb)
    fc = (special.hyp2f1(1.0, B, C + hc, z) - special.hyp2f1(1.0, B, C - hc, z)) / (2 * hc)
    return f, fb, fc, fz
