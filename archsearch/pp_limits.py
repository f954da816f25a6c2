"""The CP-SAT model's limits stated as sets of pipeline depths, and the node counts they leave a network.

Every condition that depends on a (network, TP) pair (communication time, the calibrated speed and TTFT, the
comm-time balance rule) is computed by ``physics`` as the PP values it allows, and stated with coefficient-1
rows and enforcement literals (docs/exact-search.md: CP-SAT 9.15's #5293).  ``PipelineSets`` is the part of
``model.DesignModel`` that does this: it needs the model's ``use_mem``, ``use_net``, ``use_tp``, ``PP``,
``mems``, ``nets``, ``live`` and ``space``.  It also keeps, per (network, TP), the PP values some configuration
may use (``node_counts``), so the ranking's cuts need only state the node counts a network can take.
"""

from __future__ import annotations

import numpy as np
from .lazy_pandas import cp_model   # OR-Tools loads at first use (lazy_pandas)

from . import physics
from .physics import NetworkConfig


class PipelineSets:
    """Mixin of ``model.DesignModel``: allowed PP sets per (network, TP), and the pair literals they use."""

    def _state_pp_sets(self) -> None:
        """State the (network, TP) allowed PP sets collected by ``_collect_intervals``, and forget them."""
        for (j, t), (pp, allowed) in self._pp_sets.items():
            if not self._allow_pp_intervals(self._net_tp(j, t), pp, allowed):  # bounds too large for two rows
                for u, ok in zip(self.use_mem, allowed):
                    self._allow_pp([self._net_tp(j, t), u], pp, ok)
        self._pp_sets = {}

    def _class_pp(self, matrix) -> None:
        """A calibrated limit, stated per (network j, TP t, node class) as the PP values it allows.

        ``matrix(n, t, classes, pp)`` is the physics' exact rows x PP mask.  Classes of one group (the same
        per-layer time and FLOP/s) differ only in streaming bandwidth, and the limit loosens as it grows, so
        each group gets a chain of literals ``node_bw_at_most[g, v]`` (the chosen configuration is in group g
        with bandwidth <= v); the constraint of level v binds every class at or below it, and a level whose
        allowed set equals the next level's is implied by it.  Coefficient-1 rows with enforcement literals
        only (see ``_speed``)."""
        space = self.space
        terms = self._node_terms()
        lists: dict = {}   # one list per set of classes, so the physics' coefficients are worked out once per set
        for n in self.nets:
            pair = self._pairs_of(n)
            classes = sorted({terms[k] for k, m in enumerate(self.mems) if pair[m.index]})
            classes = lists.setdefault(tuple(classes), classes)   # this network's classes only (its live pairs)
            for t in space.tps:
                pp = self._pp_range(n, t)
                if pp is None or not classes:
                    continue
                masks = matrix(n, t, classes, pp)
                row_of = {c: i for i, c in enumerate(classes)}
                per_config = np.ones((len(self.mems), len(pp)), dtype=bool)  # incompatible: no condition
                for k, m in enumerate(self.mems):
                    if pair[m.index]:
                        per_config[k] = masks[row_of[terms[k]]]
                self._note_pp(n, t, per_config)
                if self._collect_intervals(n.index, t, pp, per_config):
                    continue
                rows = {}
                for i, c in enumerate(classes):  # sorted: by group, then by bandwidth
                    rows.setdefault(c.group(), []).append(i)
                for g, idx in rows.items():
                    for pos, i in enumerate(idx):
                        last = pos + 1 == len(idx)
                        if (last and masks[i].all()) or (not last and (masks[i] == masks[idx[pos + 1]]).all()):
                            continue
                        self._allow_pp([self._net_tp(n.index, t), self._bw_at_most(g, classes[i].eff_bw)], pp, masks[i])

    def _note_pp(self, n: NetworkConfig, t: int, masks: "np.ndarray") -> None:
        """Remember which PP values of ``pp_range(n, t)`` some compatible memory configuration may use under
        this limit (``masks``: one row for all, or one per configuration of ``mems``): ``node_counts`` gives
        the union over TP degrees of t x PP, a superset of the node counts network n can take."""
        if masks.ndim == 2:
            pair = self._pairs_of(n)
            rows = [k for k, m in enumerate(self.mems) if pair[m.index]]
            masks = masks[rows].any(axis=0) if rows else np.zeros(masks.shape[1], dtype=bool)
        key = (n.index, t)
        self._pp_any[key] = masks if key not in self._pp_any else self._pp_any[key] & masks

    def node_counts(self, n: NetworkConfig) -> "np.ndarray":
        """The node counts network n may take in this model, sorted: t x PP for every TP degree t and every PP
        some limit stated in the model allows (a superset: each limit is taken over all configurations)."""
        out = []
        for t in self.space.tps:
            pp = self._pp_range(n, t)
            if pp is None:
                continue
            ok = self._pp_any.get((n.index, t))
            out.append(t * (pp if ok is None else pp[ok]))
        return np.unique(np.concatenate(out)) if out else np.zeros(0, dtype=np.int64)

    def _collect_intervals(self, j: int, t: int, pp: "np.ndarray", masks: "np.ndarray") -> bool:
        """Keep a (network j, TP t) limit whose allowed PP set is one interval for every memory configuration,
        to be stated with the others of the same pair as one pair of rows (their intersection is an interval
        too); False (nothing kept) when some configuration's set is not an interval."""
        if masks.all():
            return True
        if not _intervals(masks):
            return False
        if (j, t) in self._pp_sets:
            masks = masks & self._pp_sets[(j, t)][1]
        self._pp_sets[(j, t)] = (pp, masks)
        return True

    def _allow_pp_intervals(self, lit, pp: "np.ndarray", masks: "np.ndarray") -> bool:
        """Enforced by lit: PP lies in the chosen memory configuration's allowed set, stated as two rows
        lo_k <= PP <= hi_k with lo and hi picked by the one-hot use_mem (PP <= sum hi_k use_mem[k], PP >= sum
        lo_k use_mem[k]; coefficients at most max_nodes + 1, and below 2^31 in total or not stated).  Exact only when every
        configuration's allowed set is one interval of ``pp``: returns False (nothing stated) otherwise, and
        the caller states the sets as domains.  ``masks``: configurations x PP (an empty set gives lo > hi)."""
        if masks.all():
            return True
        if not _intervals(masks):
            return False
        count = masks.sum(axis=1)
        first = masks.argmax(axis=1)
        last = masks.shape[1] - 1 - masks[:, ::-1].argmax(axis=1)
        top, bottom = int(pp.max()), int(pp.min())
        hi = [int(pp[j]) if c else 0 for j, c in zip(last, count)]
        lo = [int(pp[j]) if c else top + 1 for j, c in zip(first, count)]
        if sum(hi) + sum(lo) >= 2**31:  # keep enforced rows far from CP-SAT 9.15's 32-bit sum (#5293)
            return False
        if min(hi) < top:
            self.model.add(self.PP <= cp_model.LinearExpr.weighted_sum(self.use_mem, hi)).only_enforce_if(lit)
        if max(lo) > bottom:
            self.model.add(self.PP >= cp_model.LinearExpr.weighted_sum(self.use_mem, lo)).only_enforce_if(lit)
        return True

    def _pairs_of(self, n: NetworkConfig) -> np.ndarray:
        """For each memory configuration of the space (by index): network n can join it, and the pair is live."""
        ok = self.space.physics_cache.compatible[:, n.index]
        return ok & self.live[:, n.index] if self.live is not None else ok

    def _node_terms(self) -> list:
        if not hasattr(self, "_terms"):
            self._terms = [physics.node_terms(self.space.req, m) for m in self.mems]
            self._at_most_lits: dict = {}
        return self._terms

    def _bw_at_most(self, group, v: int):
        """Literal: the chosen memory configuration is of node-class group ``group`` with streaming bandwidth <= v."""
        key = (group, v)
        if key not in self._at_most_lits:
            members = [a for tm, a in zip(self._node_terms(), self.use_mem) if tm.group() == group and tm.eff_bw <= v]
            lit = self.model.new_bool_var(f"node_bw_at_most[{group},{v}]")
            self.model.add(sum(members) == lit)
            self._at_most_lits[key] = lit
        return self._at_most_lits[key]

    def _pp_range(self, n: NetworkConfig, t: int):
        """The pipeline depths PP with N = t * PP inside network n's node range, or None if there are none."""
        return self.space.physics_cache.pp_range(n, t)

    def _allow_pp(self, lits, pp: "np.ndarray", ok: "np.ndarray") -> None:
        """Enforced by lits: PP takes one of the values pp[ok] (nothing if all of pp are allowed)."""
        if ok.all():
            return
        lits = lits if isinstance(lits, list) else [lits]
        allowed = [int(x) for x in pp[ok]]
        if not allowed:
            self.model.add_bool_or([~l for l in lits])
            return
        self.model.add_linear_expression_in_domain(self.PP, cp_model.Domain.from_values(allowed)).only_enforce_if(lits)

    # -- pair literals ------------------------------------------------------------------------------
    def _net_tp(self, j: int, t: int):
        """Literal: network configuration j (its index in the space) and TP degree t are both chosen.

        Created for all pairs on first use and linked by transportation equalities (the sum over TP
        degrees is the network's literal, the sum over networks is the TP literal), so each pair
        literal is exactly the conjunction and the LP relaxation sees it.
        """
        cache = self._net_tp_lits
        if not cache:
            md = self.model
            for i in range(len(self.use_net)):
                for tt in self.space.tps:
                    cache[(i, tt)] = md.new_bool_var(f"use_net_tp[{i},{tt}]")
            for i, lit in enumerate(self.use_net):
                md.add(sum(cache[(i, tt)] for tt in self.space.tps) == lit)
            for tt, z in self.use_tp.items():
                md.add(sum(cache[(i, tt)] for i in range(len(self.use_net))) == z)
        return cache[(self.pos_net[j], t)]


def _intervals(masks: "np.ndarray") -> bool:
    """Whether every row's True values are one contiguous run (or none)."""
    count = masks.sum(axis=1)
    first = masks.argmax(axis=1)
    last = masks.shape[1] - 1 - masks[:, ::-1].argmax(axis=1)
    return bool(((count == 0) | (count == last - first + 1)).all())


def runs(values: "np.ndarray") -> list[list[int]]:
    """Sorted distinct integers as [first, last] runs of consecutive values."""
    if not len(values):
        return []
    breaks = np.flatnonzero(np.diff(values) != 1)
    starts = np.concatenate(([0], breaks + 1))
    ends = np.concatenate((breaks, [len(values) - 1]))
    return [[int(values[a]), int(values[b])] for a, b in zip(starts, ends)]


def count_runs(values: "np.ndarray") -> int:
    return int(len(values) and 1 + np.count_nonzero(np.diff(values) != 1))


def complement(values: "np.ndarray", top: int) -> list[list[int]]:
    """The integers 1..top not in ``values`` (sorted, distinct, within 1..top) as [first, last] runs."""
    out, prev = [], 0
    for a, b in runs(values):
        if a > prev + 1:
            out.append([prev + 1, a - 1])
        prev = b
    if prev < top:
        out.append([prev + 1, top])
    return out
