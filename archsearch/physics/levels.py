"""Two-level networks: scale-up domains of D nodes joined by a scale-out fabric.

A two-level configuration is a ``NetworkConfig`` with ``domain_nodes`` D > 0.  Its two levels are
single-level configurations built by the same code as every other (``tier_configs``):

    domain   a tier with role ``domain``, wired as one topology over exactly D nodes (D from the
             tier's ``domain_sizes``, inside the topology's node range and the tier's reach)
    fabric   a tier with role ``fabric``, wired as one topology over all N nodes, each node with the
             tier's ``fabric_links_per_node`` ports (one NIC per accelerator, as in a DGX SuperPOD)

    N > D (at least two domains; N <= D is the domain tier's own single-level design)
    cost     = domain items per whole domain x ceil(N / D)  +  the fabric's items at N
               (a partly filled domain is still built whole; its nodes' own ports count per node)
    TP       inside one domain: TP divides D, so D / TP pipeline stages fit in a domain; or, with expert
             parallel on a MoE model and a switched fabric, TP a multiple of D: each stage covers TP / D
             whole domains, its all-reduces and all-to-alls cross the fabric (``network.spanning_comm``)
    PP hops  stages placed in order, D / TP per domain: f = ceil(TP PP / D) - 1 of the PP - 1 hops
             cross the fabric, the others stay in a domain (``network.CommCoefficients``); with a TP group
             over whole domains all PP - 1 hops cross it

Expert parallel shares the tensor-parallel group (``network.comm_coefficients``): inside a domain, or
across whole domains with its all-to-all on the fabric's injection and bisection bounds.
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from typing import TYPE_CHECKING

from .. import topology as topo
from ..units import exact
from .configs import (NetworkConfig, SWITCHED_FABRICS, compatible, links_keep_up, memory_configs, spans_domains,
                      tier_configs)

if TYPE_CHECKING:  # pragma: no cover
    from ..problem import Problem


def domain_terms(d: NetworkConfig, size: int) -> list[topo.Term]:
    """A domain's items as terms in N: its nodes' ports per node, everything else per whole domain."""
    out = []
    for t in d.terms:
        if t.label == "ports":
            out.append(dataclasses.replace(t, label="domain ports"))
            continue
        each = int(t.count(size, d.rack_nodes))
        if each:
            out.append(topo.Term(f"domain {t.label}", 1, size, topo.NODES, each, t.usd, t.w))
    return out


def fabric_tier(tier):
    """The tier as a fabric sees it: ``fabric_links_per_node`` ports per node and ``fabric_topologies``
    (default: all of its ports and topologies)."""
    return dataclasses.replace(tier, links_per_node=tier.fabric_links_per_node or tier.links_per_node,
                               topologies=tier.fabric_topologies or tier.topologies)


def two_level_configs(problem: "Problem", start: int) -> list[NetworkConfig]:
    """Every (domain configuration, D, fabric configuration) the catalog and max_nodes allow and some
    node type of the problem can join, indexed from ``start`` (after every single-level configuration)."""
    cat, inc, nmax = problem.catalog, problem.search.include, problem.constraints.max_nodes
    tiers = [t for t in cat.interconnects.values() if "interconnects" not in inc or t.name in inc["interconnects"]]
    fabrics = [f for t in tiers if "fabric" in t.roles for f in tier_configs(problem, fabric_tier(t), nmax, -1)]
    mems = memory_configs(problem)
    out: list[NetworkConfig] = []
    for tier in tiers:
        if "domain" not in tier.roles:
            continue
        for d in tier_configs(problem, tier, nmax, -1):
            for size in tier.domain_sizes:
                if not (d.n_min <= size <= d.n_max and size < nmax):
                    continue
                dom = dataclasses.replace(d, n_min=size, n_max=size)
                dterms = domain_terms(d, size)
                for f in fabrics:
                    lo, hi = max(size + 1, f.n_min), f.n_max
                    if lo > hi:
                        continue
                    fterms = [dataclasses.replace(t, label=f"fabric {t.label}") for t in f.terms]
                    cfg = NetworkConfig(
                        index=start + len(out), tier=d.tier, topology=d.topology, level=d.level, n_min=lo,
                        n_max=hi, rack_nodes=f.rack_nodes, terms=tuple(dterms + fterms),
                        node_link_bytes_per_s=d.node_link_bytes_per_s, link_bytes_per_s=d.link_bytes_per_s,
                        latency_s=d.latency_s, domain_nodes=size, domain=dom, fabric=f)
                    if any(compatible(m, cfg) and _pipeline_links_ok(problem, cfg, m) for m in mems):
                        out.append(cfg)
    return out


def _pipeline_links_ok(problem: "Problem", cfg: NetworkConfig, m) -> bool:
    """Under the ratio rule, whether some design of this network with these nodes may pass its balance checks
    (a configuration no node type passes is left out of the space).  A design whose TP group fits in a domain
    has PP >= 2 (N > D >= TP), so its hops need the pipeline ratio on the slower level; a TP group over whole
    domains (``spans_domains``) may have PP = 1 and then needs only the tensor-parallel ratio, on both levels."""
    bal = problem.constraints.balance
    if bal.rule != "ratio":
        return True
    ratio = exact(bal.pipeline_parallel_ratio)
    if ratio == 0 or links_keep_up(cfg, m, ratio, pipeline=True):
        return True
    tp_ratio = exact(bal.tensor_parallel_ratio)
    return (spans_domains(problem) and cfg.fabric.topology.kind in SWITCHED_FABRICS
            and (tp_ratio == 0 or links_keep_up(cfg, m, tp_ratio, pipeline=True)))


def level_items(cfg: NetworkConfig, n: int) -> dict[str, dict[str, int]]:
    """Item counts at n nodes, per level ("domain", "fabric"; a one-level network is all "domain")."""
    out: dict[str, dict[str, int]] = {"domain": {}, "fabric": {}}
    for t in cfg.terms:
        level, _, label = t.label.partition(" ") if cfg.domain_nodes else ("domain", "", t.label)
        out[level][label] = out[level].get(label, 0) + int(t.count(n, cfg.rack_nodes))
    return out


def level_cost_usd(cfg: NetworkConfig, n: int) -> dict[str, Fraction]:
    """Network cost at n nodes per level, exact as ``costs.network_cost_usd``."""
    from .costs import network_term_usd
    out = {"domain": Fraction(0), "fabric": Fraction(0)}
    for t in cfg.terms:
        level = t.label.partition(" ")[0] if cfg.domain_nodes else "domain"
        out[level] += network_term_usd(t) * int(t.count(n, cfg.rack_nodes))
    return out


def level_comm_s(cfg: NetworkConfig, cc, pp: int, m: int, accepted) -> dict[str, Fraction]:
    """Communication time per token per user on each level (the two add up to t_comm): the domain carries
    the all-reduces, all-to-alls and in-domain hops, the fabric the hops between domains (and, for a TP
    group spanning domains, the fabric phases of its all-reduces and all-to-alls: ``far``)."""
    from ..units import PS_PER_S
    f = fabric_hops(pp, cc.stages_per_domain) if cc.stages_per_domain else 0
    inner = pp - 1 - f
    fabric = cc.fhop * pp * f + cc.fhop_tok * m * f + cc.pf_fhop * f + cc.far * pp + cc.far_tok * m + cc.pf_far
    total = cc.pp_comm_ps(pp, m)
    scale = pp * PS_PER_S * accepted
    return {"domain": Fraction(total - fabric) / scale, "fabric": Fraction(fabric) / scale,
            "fabric_hops": f, "domain_hops": inner}


def fabric_hops(pp, stages_per_domain: int):
    """Pipeline hops that cross the fabric: ceil(PP / s) - 1 with s = D / TP stages per domain (int or numpy)."""
    return (pp + stages_per_domain - 1) // stages_per_domain - 1


def domains(cfg: NetworkConfig, n: int) -> int:
    """Scale-up domains of a design: ceil(N / D) (1 for a one-level network)."""
    return -(-n // cfg.domain_nodes) if cfg.domain_nodes else 1

