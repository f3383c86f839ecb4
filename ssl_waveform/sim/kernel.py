"""Numba kernel: exact piecewise-linear-circuit stepping of the inverter, one window per thread.

Every sub-step of length ``h`` (an integer fraction of the output sample period) is split at the
PWM edges inside it, which are found exactly from the piecewise-linear carrier and the linearly
interpolated reference. Inside each piece the gates are constant, so every phase has a
positive-current pole voltage ``V+`` and a negative-current pole voltage ``V-`` (diodes included);
phases at zero current are resolved to "conducting +", "conducting -" or "floating" by
enumerating the consistent assignment, and the RL + EMF equations are stepped exactly
(``i(t) = i_inf + (i0 - i_inf) exp(-t r / l)``), stopping at every current zero crossing so the
open-switch clamp is exact. The kernel returns the per-sub-step averages (box filter) of every
quantity, filtered by a FIR and decimated to the output rate.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

# column layout of the per-window parameter matrix
P_VDC, P_M, P_F, P_FSW, P_R, P_L, P_E, P_DELTA, P_PHASE, P_CDELAY = range(10)
P_VD, P_TD, P_ZS, P_MODE, P_CDC, P_ESR, P_RSRC, P_BW, P_FON, P_FOFF = range(10, 20)
P_IREF_RE, P_IREF_IM = 20, 21
N_PARAMS = 22

N_KINDS = 8
"""Quantities the kernel integrates, in this order: ia, ib, ic, va, vb, vc, vdc, idc."""

_SQ3_2 = math.sqrt(3.0) / 2.0
NH = 64  # comparison toggles waiting to be replayed td later (dead-time gates)
_MAX_ITER = 12


@njit(cache=True)
def _carrier(t: float, tc0: float, fsw: float) -> float:
    x = (t - tc0) * fsw
    fr = x - math.floor(x)
    if fr < 0.5:
        return 4.0 * fr - 1.0
    return 3.0 - 4.0 * fr


@njit(cache=True)
def _resolve(cur, vp, vm, em, st, tol):
    """Consistent conduction state of the three phases; returns the neutral voltage.

    st[x] = 0 floating (i = 0), 1 conducting positive, 2 conducting negative.
    """
    nfree = 0
    for x in range(3):
        if cur[x] == 0.0:
            nfree += 1
    ncomb = 1
    for _ in range(nfree):
        ncomb *= 3
    best_vn = 0.0
    for comb in range(ncomb):
        code = comb
        nc = 0
        s = 0.0
        for x in range(3):
            if cur[x] > 0.0:
                st[x] = 1
            elif cur[x] < 0.0:
                st[x] = 2
            else:
                st[x] = code % 3
                code //= 3
            if st[x] == 1:
                nc += 1
                s += vp[x] - em[x]
            elif st[x] == 2:
                nc += 1
                s += vm[x] - em[x]
        if nc == 1:
            continue
        if nc == 0:
            lo = -1e300
            hi = 1e300
            for x in range(3):
                lo = max(lo, vp[x] - em[x])
                hi = min(hi, vm[x] - em[x])
            if lo > hi + tol:
                continue
            vn = min(max(0.0, lo), hi)
            return vn
        vn = s / nc
        ok = True
        for x in range(3):
            if cur[x] != 0.0:
                continue
            if st[x] == 0:
                if vp[x] - em[x] > vn + tol or vm[x] - em[x] < vn - tol:
                    ok = False
            elif st[x] == 1:
                if vp[x] - em[x] - vn <= tol:
                    ok = False
            elif vm[x] - em[x] - vn >= -tol:
                ok = False
        if ok:
            return vn
        best_vn = vn
    # no consistent assignment (numerically degenerate): keep zero-current phases floating
    for x in range(3):
        st[x] = 1 if cur[x] > 0.0 else (2 if cur[x] < 0.0 else 0)
    return best_vn


@njit(cache=True, inline="always")
def _link_voltage(cur, up, lo, vc, prm):
    """DC-link terminal voltage from the capacitor state ``vc`` and the present DC current."""
    vs = prm[P_VDC]
    if prm[P_CDC] <= 0.0:
        return vs
    idc0 = 0.0
    for x in range(3):
        if cur[x] > 0.0 and up[x]:
            idc0 += cur[x]
        elif cur[x] < 0.0 and not lo[x]:
            idc0 += cur[x]
    rs = prm[P_RSRC]
    esr = prm[P_ESR]
    icap = ((vs - vc) - rs * idc0) / (rs + esr)
    return vc + esr * icap


@njit(cache=True)
def _step_piece(tau, cur, up, lo, em, prm, vc, acc, vp, vm, st, u, iinf):
    """Integrate a piece of constant gates and EMF of length ``tau``; returns the new capacitor voltage.

    ``acc`` collects the integrals (over time) of ia, ib, ic, va, vb, vc, vdc, idc.
    """
    r = prm[P_R]
    lind = prm[P_L]
    vd = prm[P_VD]
    cdc = prm[P_CDC]
    vs = prm[P_VDC]
    tconst = lind / r
    rem = tau
    for _ in range(_MAX_ITER):
        if rem <= 0.0:
            break
        vlink = _link_voltage(cur, up, lo, vc, prm)
        vh = 0.5 * vlink
        for x in range(3):
            vp[x] = vh if up[x] else -vh - vd
            vm[x] = -vh if lo[x] else vh + vd
        vn = _resolve(cur, vp, vm, em, st, 1e-9 * vs)
        # earliest zero crossing of a conducting current
        dt = rem
        xc = -1
        for x in range(3):
            if st[x] == 0:
                u[x] = 0.0
                iinf[x] = 0.0
                continue
            u[x] = (vp[x] if st[x] == 1 else vm[x]) - em[x] - vn
            iinf[x] = u[x] / r
            if cur[x] != 0.0 and cur[x] * iinf[x] < 0.0:
                tcx = tconst * math.log((cur[x] - iinf[x]) / (-iinf[x]))
                if tcx < dt:
                    dt = tcx
                    xc = x
        a = math.exp(-dt / tconst)
        gain = tconst * (1.0 - a)
        idc_int = 0.0
        for x in range(3):
            if st[x] == 0:
                acc[3 + x] += (vn + em[x]) * dt
                continue
            integ = iinf[x] * dt + (cur[x] - iinf[x]) * gain
            acc[x] += integ
            acc[3 + x] += (vp[x] if st[x] == 1 else vm[x]) * dt
            if (st[x] == 1 and up[x]) or (st[x] == 2 and not lo[x]):
                idc_int += integ
            cur[x] = iinf[x] + (cur[x] - iinf[x]) * a
        acc[6] += vlink * dt
        acc[7] += idc_int
        if cdc > 0.0 and dt > 0.0:
            rs = prm[P_RSRC]
            esr = prm[P_ESR]
            idc_avg = idc_int / dt
            vinf = vs - rs * idc_avg
            vc = vinf + (vc - vinf) * math.exp(-dt / ((rs + esr) * cdc))
        if xc >= 0:
            cur[xc] = 0.0
        # a single nonzero current cannot exist in an isolated star: it is roundoff
        nnz = 0
        for x in range(3):
            if cur[x] != 0.0:
                nnz += 1
        if nnz == 1:
            for x in range(3):
                cur[x] = 0.0
        rem -= dt
    return vc


@njit(cache=True, inline="always")
def _zero_sequence(ra, rb, rc, zs_on):
    """The phase references, with min-max zero-sequence injection when ``zs_on``."""
    if zs_on:
        z = -0.5 * (max(ra, max(rb, rc)) + min(ra, min(rb, rc)))
        ra += z
        rb += z
        rc += z
    return ra, rb, rc


@njit(cache=True, inline="always")
def _open_loop_ref(m, cth, sth, zs_on):
    """Open-loop SPWM references ``(ra, rb, rc)`` at the reference phasor ``(cth, sth)``."""
    return _zero_sequence(
        m * sth, m * (-0.5 * sth - _SQ3_2 * cth), m * (-0.5 * sth + _SQ3_2 * cth), zs_on
    )


@njit(cache=True, inline="always")
def _closed_loop_ref(prm, cur, cth, sth, t0, vc, integ, out):
    """Closed-loop controller at a carrier trough (synchronous phasor frame, see docs/simulator.md).

    Writes the references held for the next carrier period into ``out``; returns the new
    integrator state.
    """
    w = 2.0 * math.pi * prm[P_F]
    fsw = prm[P_FSW]
    iref = complex(prm[P_IREF_RE], prm[P_IREF_IM])
    wc = 2.0 * math.pi * (prm[P_BW] if prm[P_BW] > 0.0 else fsw / 20.0)
    kp = prm[P_L] * wc
    ki = prm[P_R] * wc
    ia, ib, ic = cur[0], cur[1], cur[2]
    re = (2.0 / 3.0) * (ia - 0.5 * ib - 0.5 * ic)
    im = (2.0 / 3.0) * (_SQ3_2 * ib - _SQ3_2 * ic)
    ejw = complex(cth, sth) * complex(math.cos(-prm[P_PHASE]), math.sin(-prm[P_PHASE]))
    xph = 1j * complex(re, im) / ejw
    err = iref - xph
    integ += ki * err / fsw
    lim = prm[P_VDC]
    if abs(integ) > lim:
        integ *= lim / abs(integ)
    eph = prm[P_E] * complex(math.cos(-prm[P_DELTA]), math.sin(-prm[P_DELTA]))
    vph = eph + 1j * w * prm[P_L] * xph + kp * err + integ
    # hold the voltage phasor for one carrier period: aim at its middle
    ang = w * (t0 + 0.5 / fsw)
    vr = vph * complex(math.cos(ang), math.sin(ang))
    vhalf = 0.5 * (vc if prm[P_CDC] > 0.0 else prm[P_VDC])
    ra = vr.imag / vhalf
    rb = (-0.5 * vr.imag - _SQ3_2 * vr.real) / vhalf
    rc = (-0.5 * vr.imag + _SQ3_2 * vr.real) / vhalf
    out[0], out[1], out[2] = _zero_sequence(ra, rb, rc, prm[P_ZS] > 0.5)
    return integ


@njit(cache=True, inline="always")
def _back_emf(e, cth, sth, cde, sde):
    """Phase back-EMFs at the sub-step midpoint (reference angle minus load angle)."""
    se = sth * cde + cth * sde
    ce = cth * cde - sth * sde
    return e * se, e * (-0.5 * se - _SQ3_2 * ce), e * (-0.5 * se + _SQ3_2 * ce)


@njit(cache=True, inline="always")
def _sync_gates(refs, c0, t0, first, td, gnow, gdel, hist_t, hist_l, n_hist):
    """Set the gate comparisons at the sub-step start; returns the new toggle-history length.

    A held (closed-loop) reference may jump at the boundary: that toggle is recorded so the
    dead-time-delayed copy follows it.
    """
    for x in range(3):
        g0 = refs[x] - c0 > 0.0
        if first:
            gdel[x] = g0
        elif g0 != gnow[x] and td > 0.0:
            hist_t[n_hist] = t0
            hist_l[n_hist] = x
            n_hist += 1
        gnow[x] = g0
    return n_hist


@njit(cache=True, inline="always")
def _comparison_edges(refs, refe, c0, t0, t1, h, tc0, fsw, ev, code):
    """Carrier-reference crossings inside ``(t0, t1]`` into ``ev`` / ``code``; returns their count.

    The reference is linear from ``refs`` to ``refe`` over the sub-step; the carrier is linear
    between its vertices, so each crossing is exact. Code ``x`` toggles the comparison of leg x.
    """
    n_ev = 0
    tv = tc0 + (math.floor((t0 - tc0) * 2.0 * fsw) + 1.0) * 0.5 / fsw
    cv = _carrier(tv, tc0, fsw) if tv < t1 else 0.0
    c1_ = _carrier(t1, tc0, fsw)
    for x in range(3):
        d0 = refs[x] - c0
        if tv < t1:
            rv = refs[x] + (refe[x] - refs[x]) * (tv - t0) / h
            dv = rv - cv
            if (d0 > 0.0) != (dv > 0.0):
                ev[n_ev] = t0 + (tv - t0) * d0 / (d0 - dv)
                code[n_ev] = x
                n_ev += 1
            ta_, da = tv, dv
        else:
            ta_, da = t0, d0
        d1 = refe[x] - c1_
        if (da > 0.0) != (d1 > 0.0):
            ev[n_ev] = ta_ + (t1 - ta_) * da / (da - d1)
            code[n_ev] = x
            n_ev += 1
    return n_ev


@njit(cache=True, inline="always")
def _delayed_edges(td, t1, ev, code, n_ev, hist_t, hist_l, n_hist):
    """Replay comparison toggles ``td`` later as codes ``x + 3``; returns ``(n_ev, n_hist)``.

    The dead-time-delayed comparison toggles exactly ``td`` after the comparison did; toggles
    not yet due by ``t1`` stay in the history.
    """
    for q in range(n_ev):
        if code[q] < 3:
            hist_t[n_hist] = ev[q]
            hist_l[n_hist] = code[q]
            n_hist += 1
    q = 0
    while q < n_hist:
        if hist_t[q] + td <= t1:
            ev[n_ev] = hist_t[q] + td
            code[n_ev] = hist_l[q] + 3
            n_ev += 1
            n_hist -= 1
            hist_t[q] = hist_t[n_hist]
            hist_l[q] = hist_l[n_hist]
        else:
            q += 1
    return n_ev, n_hist


@njit(cache=True, inline="always")
def _sort_events(ev, code, n_ev):
    """Insertion-sort the first ``n_ev`` events by time (few per sub-step), codes alongside."""
    for a_ in range(1, n_ev):
        key = ev[a_]
        kc = code[a_]
        b_ = a_ - 1
        while b_ >= 0 and ev[b_] > key:
            ev[b_ + 1] = ev[b_]
            code[b_ + 1] = code[b_]
            b_ -= 1
        ev[b_ + 1] = key
        code[b_ + 1] = kc


@njit(cache=True, inline="always")
def _phasors(prm, t_begin, h):
    """Reference phasor at ``t_begin`` and the sub-step rotations, each as a (cos, sin) pair.

    Returns ``(cth, sth, cw, sw, cde, sde)``: the reference angle at ``t_begin``, its advance per
    sub-step ``h``, and the offset from a sub-step start to the back-EMF angle at its midpoint.
    """
    w = 2.0 * math.pi * prm[P_F]
    th0 = w * t_begin + prm[P_PHASE]
    de = w * 0.5 * h - prm[P_DELTA]
    return (
        math.cos(th0),
        math.sin(th0),
        math.cos(w * h),
        math.sin(w * h),
        math.cos(de),
        math.sin(de),
    )


@njit(cache=True, inline="always")
def _rotate(c, s, cw, sw):
    """Advance the phasor ``(c, s)`` by ``(cw, sw)``, renormalised to first order."""
    c1 = c * cw - s * sw
    s1 = s * cw + c * sw
    nrm = 1.5 - 0.5 * (c1 * c1 + s1 * s1)
    return c1 * nrm, s1 * nrm


@njit(cache=True)
def _simulate_one(prm, mask, h, t_begin, n_int, xbuf):
    """Simulate one window, filling ``xbuf[n_int, N_KINDS]`` with per-sub-step averages."""
    fsw = prm[P_FSW]
    tc0 = prm[P_CDELAY] / fsw
    td = prm[P_TD]
    closed = prm[P_MODE] > 0.5
    zs_on = prm[P_ZS] > 0.5
    refs, refe, cur, em = np.zeros(3), np.zeros(3), np.zeros(3), np.zeros(3)
    acc = np.zeros(N_KINDS)
    # scratch of _step_piece
    up, lo = np.zeros(3, dtype=np.bool_), np.zeros(3, dtype=np.bool_)
    vp, vm, u, iinf = np.zeros(3), np.zeros(3), np.zeros(3), np.zeros(3)
    st = np.zeros(3, dtype=np.int64)
    # PWM edges of a sub-step: code x toggles the gate comparison of leg x, x + 3 its
    # dead-time-delayed copy, 6 the start or end of an intermittent fault
    ev = np.zeros(64)
    code = np.zeros(64, dtype=np.int64)
    gnow, gdel = np.zeros(3, dtype=np.bool_), np.zeros(3, dtype=np.bool_)
    hist_t = np.zeros(NH)
    hist_l = np.zeros(NH, dtype=np.int64)
    n_hist = 0
    vc = prm[P_VDC]
    # phasor (cos, sin) of the reference angle at the sub-step start, advanced by rotation
    cth, sth, cw, sw, cde, sde = _phasors(prm, t_begin, h)
    integ = prm[P_R] * complex(prm[P_IREF_RE], prm[P_IREF_IM])
    t_on = prm[P_FON]
    t_off = prm[P_FOFF]
    last_trough = -(2**62)
    for j in range(n_int):
        t0 = t_begin + j * h
        t1 = t0 + h
        c1, s1 = _rotate(cth, sth, cw, sw)
        if closed:
            # the references are held from one carrier trough to the next
            ntr = math.floor((t0 - tc0) * fsw)
            if ntr != last_trough or j == 0:
                last_trough = ntr
                integ = _closed_loop_ref(prm, cur, cth, sth, t0, vc, integ, refs)
            refe[0], refe[1], refe[2] = refs[0], refs[1], refs[2]
        else:
            refs[0], refs[1], refs[2] = _open_loop_ref(prm[P_M], cth, sth, zs_on)
            refe[0], refe[1], refe[2] = _open_loop_ref(prm[P_M], c1, s1, zs_on)
        em[0], em[1], em[2] = _back_emf(prm[P_E], cth, sth, cde, sde)
        c0 = _carrier(t0, tc0, fsw)
        n_hist = _sync_gates(refs, c0, t0, j == 0, td, gnow, gdel, hist_t, hist_l, n_hist)
        n_ev = _comparison_edges(refs, refe, c0, t0, t1, h, tc0, fsw, ev, code)
        if td > 0.0:
            n_ev, n_hist = _delayed_edges(td, t1, ev, code, n_ev, hist_t, hist_l, n_hist)
        for t_f in (t_on, t_off):
            if t0 < t_f < t1:
                ev[n_ev] = t_f
                code[n_ev] = 6
                n_ev += 1
        _sort_events(ev, code, n_ev)
        for k in range(N_KINDS):
            acc[k] = 0.0
        # stepped here, not in a helper: numba cannot prune the refcounts of arrays passed to an
        # inlined helper that calls _step_piece, which cost about a quarter of the throughput
        ta = t0
        for p in range(n_ev + 1):
            tb_ = t1 if p == n_ev else max(t0, min(t1, ev[p]))
            if tb_ > ta:
                faulted = t_on <= 0.5 * (ta + tb_) < t_off
                for x in range(3):
                    gd = gdel[x] if td > 0.0 else gnow[x]
                    up[x] = gnow[x] and gd and not (faulted and mask[2 * x])
                    lo[x] = (not gnow[x]) and (not gd) and not (faulted and mask[2 * x + 1])
                vc = _step_piece(tb_ - ta, cur, up, lo, em, prm, vc, acc, vp, vm, st, u, iinf)
                ta = tb_
            if p < n_ev:
                cc_ = code[p]
                if cc_ < 3:
                    gnow[cc_] = not gnow[cc_]
                elif cc_ < 6:
                    gdel[cc_ - 3] = not gdel[cc_ - 3]
        for k in range(N_KINDS):
            xbuf[j, k] = acc[k] / h
        cth = c1
        sth = s1


@njit(cache=True, parallel=True)
def simulate_kernel(params, masks, h, t_begin, n_pre, n_out, ratio, taps, kinds, out):
    """Simulate a batch of windows that share the sub-step ``h`` and decimation ``ratio``.

    Args:
        params: ``[n, N_PARAMS]`` float64 per-window parameters (column layout ``P_*``).
        masks: ``[n, 6]`` bool open-switch masks in the order of ``SWITCHES``.
        h: Sub-step in seconds (``1 / (ratio * sample_rate)``).
        t_begin: ``[n]`` start time of each window's simulation (circuit at rest), seconds.
        n_pre: Sub-steps before the one centred on the first output sample.
        n_out: Output samples per window.
        ratio: Sub-steps per output sample.
        taps: ``[ntaps]`` odd-length linear-phase anti-aliasing FIR at the sub-step rate.
        kinds: ``[C]`` indices into the ``N_KINDS`` quantities to output.
        out: ``[n, C, n_out]`` float32, written in place.
    """
    n = params.shape[0]
    ntaps = taps.shape[0]
    half = (ntaps - 1) // 2
    n_int = n_pre + (n_out - 1) * ratio + half + 1
    for b in prange(n):
        xbuf = np.zeros((n_int, N_KINDS))
        _simulate_one(params[b], masks[b], h, t_begin[b], n_int, xbuf)
        for c in range(kinds.shape[0]):
            kd = kinds[c]
            for k in range(n_out):
                centre = n_pre + k * ratio
                s = 0.0
                for q in range(ntaps):
                    jj = centre + q - half
                    if jj >= 0:
                        s += taps[q] * xbuf[jj, kd]
                out[b, c, k] = s
