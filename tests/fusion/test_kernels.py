"""The compiled kernels against the numpy forms they replaced (kept here as the reference)."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest

from perimeter.fusion import ekf, kernels
from perimeter.fusion.associate import assign, assign_gated
from perimeter.geometry import wrap_pi

FloatArray = npt.NDArray[np.float64]


def _transition(dt: FloatArray) -> FloatArray:
    f = np.tile(np.eye(4), (dt.size, 1, 1))
    f[:, 0, 2] = f[:, 1, 3] = dt
    return f


def _predict_ref(x: FloatArray, p: FloatArray, dt: FloatArray,
                 q: FloatArray) -> tuple[FloatArray, FloatArray]:
    f = _transition(dt)
    a = np.abs(dt)
    qm = np.zeros_like(p)
    qm[:, 0, 0] = qm[:, 1, 1] = q * a**3 / 3
    qm[:, 0, 2] = qm[:, 2, 0] = qm[:, 1, 3] = qm[:, 3, 1] = q * a**2 / 2
    qm[:, 2, 2] = qm[:, 3, 3] = q * a
    return np.einsum("nij,nj->ni", f, x), f @ p @ f.swapaxes(-1, -2) + qm


def _innovation_ref(x: FloatArray, p: FloatArray, tower: FloatArray, z: FloatArray,
                    r2: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    dx, dy = x[:, 0] - tower[0], x[:, 1] - tower[1]
    rr = np.maximum(dx * dx + dy * dy, 1.0)
    h = np.zeros((len(x), 4))
    h[:, 0], h[:, 1] = dy / rr, -dx / rr
    nu = (z[None, :] - np.arctan2(dx, dy)[:, None] + math.pi) % (2 * math.pi) - math.pi
    return nu, np.einsum("ni,nij,nj->n", h, p, h)[:, None] + r2[None, :], h


def _update_ref(x: FloatArray, p: FloatArray, h: FloatArray, nu: FloatArray,
                r2: FloatArray) -> tuple[FloatArray, FloatArray]:
    ph = np.einsum("nij,nj->ni", p, h)
    k = ph / (np.einsum("ni,ni->n", h, ph) + r2)[:, None]
    a = np.eye(4)[None] - k[:, :, None] * h[:, None, :]
    pn = a @ p @ a.swapaxes(-1, -2) + r2[:, None, None] * k[:, :, None] * k[:, None, :]
    return x + k * nu[:, None], 0.5 * (pn + pn.swapaxes(-1, -2))


def _states(rng: np.random.Generator, n: int) -> tuple[FloatArray, FloatArray]:
    x = np.column_stack([rng.uniform(-5000, 5000, (n, 2)), rng.normal(0, 3, (n, 2))])
    m = rng.normal(size=(n, 4, 4))
    p = m @ m.swapaxes(-1, -2) * rng.uniform(1, 400, (n, 1, 1)) + np.eye(4)
    return x, p


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kernels_match_the_numpy_forms(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x, p = _states(rng, 7)
    dt, q = rng.uniform(-3, 3, 7), rng.uniform(0.01, 1.0, 7)
    for got, want in zip(ekf.predict(x, p, dt, q), _predict_ref(x, p, dt, q), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-9)
    tower, z = rng.uniform(-3000, 3000, 2), rng.uniform(-math.pi, math.pi, 5)
    r2 = rng.uniform(1e-6, 1e-3, 5)
    got_i, want_i = ekf.innovation(x, p, tower, z, r2), _innovation_ref(x, p, tower, z, r2)
    for got, want in zip(got_i, want_i, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    nu, _s, h = got_i
    for got, want in zip(ekf.update(x, p, h, nu[:, 0], r2[:2].repeat(4)[:7]),
                         _update_ref(x, p, h, nu[:, 0], r2[:2].repeat(4)[:7]), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


def test_innovation_wraps_across_north() -> None:
    x, p = np.array([[-10.0, 1000.0, 0.0, 0.0]]), np.eye(4)[None]
    nu, _s, _h = ekf.innovation(x, p, np.zeros(2), np.array([math.radians(0.5)]), np.ones(1))
    assert nu[0, 0] == pytest.approx(math.radians(0.5) + math.atan2(10.0, 1000.0))


def test_gate_costs_flags_unusable_variances_and_finds_the_first_smallest() -> None:
    nu = np.array([[0.1, 0.1], [0.3, 5.0]])
    s = np.ones((2, 2))
    ok, cost, best = kernels.gate_costs(nu, s, 1.0)
    assert ok.tolist() == [[True, True], [True, False]]
    assert cost[1, 1] == kernels.INFEASIBLE
    assert best == 0  # (0, 0) and (0, 1) tie: the first
    assert kernels.gate_costs(nu, np.array([[1.0, 0.0], [1.0, 1.0]]), 1.0)[2] == -2
    assert kernels.gate_costs(nu, np.full((2, 2), math.inf), 1.0)[2] == -2
    assert kernels.gate_costs(np.full((2, 2), math.nan), s, 1.0)[2] == -1


def test_assign_with_a_zero_variance_uses_the_masked_form() -> None:
    nu = np.array([[0.1, 0.2], [0.2, 0.1]])
    s = np.array([[1.0, 0.0], [1.0, 1.0]])
    found = assign(nu, s, 9.0)
    assert sorted(zip(found.tracks.tolist(), found.detections.tolist(), strict=True)) == [
        (0, 0), (1, 1)]
    assert found.gated is not None and not found.gated[0, 1]


@pytest.mark.parametrize("seed", [4, 5])
def test_late_kernels_are_the_separate_calls_bit_for_bit(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x, p = _states(rng, 6)
    x[0, 0] = 100.0  # due north of the tower: a zero Jacobian entry
    dt, q = rng.uniform(-2.0, 0.1, 6), rng.choice([0.05, 0.3, 1.0], 6)
    tower, z = np.array([100.0, -2000.0]), rng.uniform(-math.pi, math.pi, 4)
    r2 = rng.uniform(1e-6, 1e-3, 4)
    xb, pb = ekf.predict(x, p, dt, q)
    want = ekf.innovation(xb, pb, tower, z, r2)
    got = kernels.late_innovation(x, p, dt, q, 100.0, -2000.0, z, r2)
    assert all(a.tobytes() == b.tobytes() for a, b in zip(got, want, strict=True))
    nu, s, h = want
    ti, di = np.array([4, 0, 2]), np.array([1, 3, 0])
    h_eff = np.einsum("ni,nij->nj", h[ti], ekf.transition(dt[ti]))
    want_u = ekf.update_with_gain(x[ti], p[ti], h_eff, nu[ti, di], s[ti, di])
    got_u = kernels.late_update(x, p, h, dt, nu, s, ti, di)
    assert all(a.tobytes() == b.tobytes() for a, b in zip(got_u, want_u, strict=True))
    gate = 1e5  # wide: several pairs in a gate, so the assignment has a choice
    *got_g, ok, cost, best, in_gate = kernels.late_gate(x, p, dt, q, 100.0, -2000.0, z, r2,
                                                       gate)
    assert all(a.tobytes() == b.tobytes() for a, b in zip(got_g, want, strict=True))
    mine, theirs = assign_gated(nu, s, gate, ok, cost, best, in_gate), assign(nu, s, gate)
    assert ok.sum() > 1 and mine.tracks.size > 1
    for field in ("tracks", "detections", "in_some_gate", "gated"):
        a, b = getattr(mine, field), getattr(theirs, field)
        assert a.tobytes() == b.tobytes()


def _shadow_pairs_ref(rows: npt.NDArray[np.int64], cols: npt.NDArray[np.int64],
                      owners: list[int], b_track: FloatArray, b_other: FloatArray,
                      tolerance: FloatArray, n: int, min_imagers: int) -> list[FloatArray]:
    """The numpy form :func:`kernels.shadow_pairs` replaced (``duplicates._shadows`` and the
    pair masks of ``find_duplicates``)."""
    shadow = np.zeros((n, n), dtype=bool)
    seen = np.zeros(n, dtype=bool)
    if owners:
        off = np.abs(wrap_pi(b_track[:, None] - b_other)) <= tolerance[:, None]
        starts = [k for k in range(len(owners)) if k == 0 or owners[k] != owners[k - 1]]
        who = [owners[k] for k in starts]
        shadow[who] = np.logical_and.reduceat(off, starts, axis=0)
        seen[who] = True
    on_bearing = shadow
    if owners and min_imagers > 1:
        imagers = np.diff(np.append(starts, len(owners)))
        fixed = np.zeros(n, dtype=bool)
        fixed[who] = imagers >= min_imagers
        shadow = shadow & fixed[:, None]
    a_shadow, b_shadow = shadow[rows, cols], shadow[cols, rows]
    separable = (seen[rows] & ~on_bearing[rows, cols]) | (seen[cols] & ~on_bearing[cols, rows])
    act = a_shadow | b_shadow | ~separable
    return [rows[act], cols[act], a_shadow[act], b_shadow[act], separable[act]]


@pytest.mark.parametrize("seed", [6, 7, 8])
@pytest.mark.parametrize("min_imagers", [1, 2])
def test_shadow_pairs_is_the_numpy_form(seed: int, min_imagers: int) -> None:
    rng = np.random.default_rng(seed)
    n, towers = 9, rng.uniform(-3000.0, 3000.0, (5, 2))
    xy = rng.uniform(-2000.0, 2000.0, (n, 2))
    xy[1] = towers[0] + 1.5 * (xy[0] - towers[0])  # on track 0's ray from tower 0: a shadow
    owners = [0, 1, *sorted(rng.integers(2, n - 2, 12).tolist())]  # the last two unseen
    at = towers[rng.integers(0, len(towers), len(owners))]
    at[0] = at[1] = towers[0]  # tracks 0 and 1 seen by tower 0 alone
    own = xy[owners]
    b_track = np.arctan2(own[:, 0] - at[:, 0], own[:, 1] - at[:, 1])
    b_other = np.arctan2(xy[None, :, 0] - at[:, 0, None], xy[None, :, 1] - at[:, 1, None])
    tolerance = rng.uniform(0.002, 0.6, len(owners))  # wide ones: many pairs on a bearing
    rows, cols = np.nonzero(np.triu(np.ones((n, n), dtype=bool), 1))
    want = _shadow_pairs_ref(rows, cols, owners, b_track, b_other, tolerance, n, min_imagers)
    got = kernels.shadow_pairs(rows, cols, np.array(owners, dtype=np.int64), b_track, b_other,
                               tolerance, n, min_imagers)
    assert [g.tolist() for g in got] == [w.tolist() for w in want]
    assert 0 < len(got[0]) < len(rows)  # the test keeps some pairs, not all
    if min_imagers == 1:  # 0 and 1 lie on one bearing of tower 0, their only imager
        pair = (got[0] == 0) & (got[1] == 1)
        assert pair.any() and (got[2] | got[3])[pair].all()
