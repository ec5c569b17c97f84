"""External wavefunctions in the HELAS conventions MadGraph uses (``ixxxxx``, ``oxxxxx``, ``vxxxxx``, ``sxxxxx``).

Batched over events and helicities: momenta are float64 tensors shaped (B, 4) = (E, px, py, pz) and ``nhel`` is a
sequence of helicities; every function returns a :class:`Wavefunction`: the four complex128 components shaped
(4, len(nhel), B) (events innermost, so every elementwise loop runs over contiguous events) and the momentum MadGraph stores with the leg, shaped (4, B): ``+p`` for a final-state leg,
``-p`` for an initial-state one (the momentum flowing *out* of the vertex the leg attaches to). Dirac matrices are
in the chiral basis of HELAS (left-handed components first).

The formulas reproduce HELAS exactly, including their behaviour on momenta *off* the slot's mass shell (a massive
b momentum in a massless quark slot and vice versa, as the assignment agent produces): massive spinors use
``pp = min(E, |p|)`` and ``omega = sqrt(E + pp)``; massless spinors use ``sqrt(max(E + pz, 0))`` with the
special case of a momentum along -z; massive polarisation vectors use ``pp = min(E, |p|)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import torch

__all__ = ["Wavefunction", "ixxxxx", "oxxxxx", "sxxxxx", "vxxxxx"]

_SQH = math.sqrt(0.5)


class Wavefunction(NamedTuple):
    w: torch.Tensor   # complex128 (4, n_helicities, B)
    p: torch.Tensor   # float64 (4, B): stored momentum


def _columns(p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Momentum components shaped (1, B) and contiguous, to broadcast against helicities (n, 1)."""
    t = p.T.contiguous()
    return t[0:1], t[1:2], t[2:3], t[3:4]


def _row(values: Sequence[float], like: torch.Tensor) -> torch.Tensor:
    """Per-helicity values shaped (n, 1)."""
    return torch.tensor([[v] for v in values], dtype=like.dtype, device=like.device)


def _c(x: torch.Tensor) -> torch.Tensor:
    return torch.complex(x, torch.zeros_like(x))


def _massless_chi(p: torch.Tensor, nhel: Sequence[int], nsf: int, conj: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """(chi0 (1,B), chi1 (n,B)) of a massless fermion: sqrt(p0+p3), zero for a momentum along -z."""
    p0, p1, p2, p3 = _columns(p)
    nh = _row([h * nsf for h in nhel], p)
    along_minus_z = (p1 == 0) & (p2 == 0) & (p3 < 0)
    sq = torch.where(along_minus_z, torch.zeros_like(p0), torch.sqrt(torch.clamp(p0 + p3, min=0.0)) * nsf)
    zero = sq == 0
    safe = torch.where(zero, torch.ones_like(sq), sq)
    im = (-p2 if conj else p2) / safe
    regular = torch.complex(nh * p1 / safe, im.expand_as(nh * p1))
    special = _c(-_row(nhel, p) * torch.sqrt(2.0 * p0))
    return _c(sq), torch.where(zero, special, regular)


def _massive(p: torch.Tensor, fmass: float, nhel: Sequence[int], nsf: int, conj: bool):
    """HELAS massive-spinor pieces: (pp, sfomega_0, sfomega_1, chi_im, chi_ip), broadcast over helicities."""
    p0, p1, p2, p3 = _columns(p)
    nh = _row([h * nsf for h in nhel], p)
    up = nh > 0
    pp = torch.minimum(p0, torch.sqrt(p1 * p1 + p2 * p2 + p3 * p3))
    safe_pp = torch.where(pp == 0, torch.ones_like(pp), pp)
    pp3 = torch.clamp(pp + p3, min=0.0)
    safe_pp3 = torch.where(pp3 == 0, torch.ones_like(pp3), pp3)
    chi0 = _c(torch.sqrt(pp3 * 0.5 / safe_pp)).expand(nh.shape[0], -1)
    im = (-p2 if conj else p2).expand_as(nh * p1)
    chi1 = torch.where(pp3 == 0, _c(-nh).expand_as(chi0), torch.complex(nh * p1, im) / torch.sqrt(2.0 * safe_pp * safe_pp3))
    omega0 = torch.sqrt(p0 + pp)
    omega1 = fmass / omega0
    sf0 = (1 + nsf + (1 - nsf) * nh) * 0.5
    sf1 = (1 + nsf - (1 - nsf) * nh) * 0.5
    sfomega0 = sf0 * torch.where(up, omega1, omega0)          # sf(1) * omega(ip)
    sfomega1 = sf1 * torch.where(up, omega0, omega1)          # sf(2) * omega(im)
    chi_im = torch.where(up, chi0, chi1)
    chi_ip = torch.where(up, chi1, chi0)
    return pp, sfomega0, sfomega1, chi_im, chi_ip


def _at_rest(fmass: float, nhel: Sequence[int], nsf: int, like: torch.Tensor, flowing_in: bool) -> list[torch.Tensor]:
    """HELAS spinor components for pp == 0 (a fermion at rest), shaped (n, 1) each."""
    sqm = (math.sqrt(abs(fmass)), math.copysign(math.sqrt(abs(fmass)), fmass))
    cols = []
    for h in nhel:
        nh = h * nsf
        if flowing_in:
            ip, im = (1 + nh) // 2, (1 - nh) // 2
            cols.append((ip * sqm[ip], im * nsf * sqm[ip], ip * nsf * sqm[im], im * sqm[im]))
        else:
            im = h * (1 + nh) // 2
            ip = -h * ((1 - nh) // 2)
            cols.append((im * sqm[abs(ip)], ip * nsf * sqm[abs(ip)], im * nsf * sqm[abs(im)], ip * sqm[abs(im)]))
    return [_c(_row([c[k] for c in cols], like)) for k in range(4)]


def ixxxxx(p: torch.Tensor, fmass: float, nhel: Sequence[int], nsf: int) -> Wavefunction:
    """Flowing-in fermion spinor: u(p) of an incoming fermion (nsf=+1) or v(p) of an outgoing antifermion (-1)."""
    if fmass != 0.0:
        pp, sfo0, sfo1, chi_im, chi_ip = _massive(p, fmass, nhel, nsf, conj=False)
        moving = [sfo0 * chi_im, sfo0 * chi_ip, sfo1 * chi_im, sfo1 * chi_ip]
        rest = _at_rest(fmass, nhel, nsf, p, flowing_in=True)
        comps = [torch.where(pp == 0, r, m) for r, m in zip(rest, moving)]
    else:
        chi0, chi1 = _massless_chi(p, nhel, nsf, conj=False)
        up = _row([h * nsf for h in nhel], p) > 0
        zero = torch.zeros_like(chi1)
        comps = [torch.where(up, zero, chi1), torch.where(up, zero, chi0), torch.where(up, chi0, zero),
                 torch.where(up, chi1, zero)]
    return Wavefunction(torch.stack(comps), -nsf * p.T)


def oxxxxx(p: torch.Tensor, fmass: float, nhel: Sequence[int], nsf: int) -> Wavefunction:
    """Flowing-out fermion spinor: ubar(p) of an outgoing fermion (nsf=+1) or vbar(p) of an incoming antifermion."""
    if fmass != 0.0:
        pp, sfo0, sfo1, chi_im, chi_ip = _massive(p, fmass, nhel, nsf, conj=True)
        moving = [sfo1 * chi_im, sfo1 * chi_ip, sfo0 * chi_im, sfo0 * chi_ip]
        rest = _at_rest(fmass, nhel, nsf, p, flowing_in=False)
        comps = [torch.where(pp == 0, r, m) for r, m in zip(rest, moving)]
    else:
        chi0, chi1 = _massless_chi(p, nhel, nsf, conj=True)
        up = _row([h * nsf for h in nhel], p) > 0
        zero = torch.zeros_like(chi1)
        comps = [torch.where(up, chi0, zero), torch.where(up, chi1, zero), torch.where(up, zero, chi1),
                 torch.where(up, zero, chi0)]
    return Wavefunction(torch.stack(comps), nsf * p.T)


def vxxxxx(p: torch.Tensor, vmass: float, nhel: Sequence[int], nsv: int) -> Wavefunction:
    """Polarisation vectors epsilon^mu (contravariant) of helicities ``nhel``; nsv = -1 initial, +1 final."""
    p0, p1, p2, p3 = _columns(p)
    hel = _row(nhel, p)
    nsvahl = nsv * hel.abs()
    pt2 = p1 * p1 + p2 * p2
    sign_pz = torch.where(p3 < 0, torch.full_like(p3, -_SQH), torch.full_like(p3, _SQH))
    if vmass != 0.0:
        hel0 = 1.0 - hel.abs()
        pp = torch.minimum(p0, torch.sqrt(pt2 + p3 * p3))
        pt = torch.minimum(pp, torch.sqrt(pt2))
        safe_pp = torch.where(pp == 0, torch.ones_like(pp), pp)
        safe_pt = torch.where(pt == 0, torch.ones_like(pt), pt)
        emp = p0 / (vmass * safe_pp)
        pzpt = p3 / (safe_pp * safe_pt) * _SQH * hel
        e0 = hel0 * pp / vmass
        e3 = hel0 * p3 * emp + hel * pt / safe_pp * _SQH
        moving_pt = pt != 0
        e1 = torch.where(moving_pt, torch.complex(hel0 * p1 * emp - p1 * pzpt, -nsvahl * p2 / safe_pt * _SQH),
                         _c((-hel * _SQH).expand_as(pzpt)))
        e2 = torch.where(moving_pt, torch.complex(hel0 * p2 * emp - p2 * pzpt, nsvahl * p1 / safe_pt * _SQH),
                         torch.complex(torch.zeros_like(pzpt), nsvahl * sign_pz))
        rest = pp == 0
        e0 = torch.where(rest, torch.zeros_like(e0), e0)
        e3 = torch.where(rest, hel0.expand_as(e3), e3)
        e1 = torch.where(rest, _c((-hel * _SQH).expand_as(pzpt)), e1)
        e2 = torch.where(rest, torch.complex(torch.zeros_like(pzpt), (nsvahl * _SQH).expand_as(pzpt)), e2)
        comps = [_c(e0), e1, e2, _c(e3)]
    else:
        pt = torch.sqrt(pt2)
        safe_pt = torch.where(pt == 0, torch.ones_like(pt), pt)
        pzpt = p3 / (p0 * safe_pt) * _SQH * hel
        e3 = hel * pt / p0 * _SQH
        moving_pt = pt != 0
        e1 = torch.where(moving_pt, torch.complex(-p1 * pzpt, (-nsv * p2 / safe_pt * _SQH).expand_as(pzpt)),
                         _c((-hel * _SQH).expand_as(pzpt)))
        e2 = torch.where(moving_pt, torch.complex(-p2 * pzpt, (nsv * p1 / safe_pt * _SQH).expand_as(pzpt)),
                         torch.complex(torch.zeros_like(pzpt), (nsv * sign_pz).expand_as(pzpt)))
        comps = [torch.zeros_like(e1), e1, e2, _c(e3)]
    return Wavefunction(torch.stack(comps), nsv * p.T)


def sxxxxx(p: torch.Tensor, nss: int) -> Wavefunction:
    """A scalar: the constant 1 in component 0 (components 1..3 unused, zero), one 'helicity'."""
    one = torch.ones((1, p.shape[0]), dtype=torch.complex128, device=p.device)
    zero = torch.zeros_like(one)
    return Wavefunction(torch.stack([one, zero, zero, zero]), nss * p.T)
