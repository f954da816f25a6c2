"""The physics of a design: one set of pure functions shared by the CP-SAT model,
the exhaustive oracle and the reports.

A design is: a memory configuration (node type, memory medium, units per node),
a network configuration (interconnect tier, topology, fat-tree depth), a node
count N, and a parallel split N = TP x PP.  Equations (also in docs/equations.md):

    KV bytes per token  = layers * kv_elements_per_layer * kv_dtype_bytes
                          (kv_elements_per_layer = 2 * kv_heads * head_dim unless overridden)
    capacity required   = (weights + concurrency * context * KV per token) * (1 + overhead)
    capacity held       = N * units * unit capacity
    bandwidth B         = N * units * unit bandwidth
    cost                = N * (node curve(units) + memory curve(units)) + network terms(N)
    objective           = B / cost                                   (maximised exactly)

    decode, c concurrent requests in k = min(c, PP) micro-batches, M = PP * c / k = max(PP, c); a step
    verifies gamma + 1 tokens per request (speculative decoding; 0 drafted without it) and yields a:
    step bytes = PP * W1 + M * KV_read + X(min(PP, c))   (W1: one request's step; X: MoE experts a
                 micro-batch touches beyond W1, from E (1 - (1 - k/E)^m); KV_read: the KV sparsity share)
    t_mem  = step bytes / (a B)                          per token per user (busy fraction k / PP)
    t_comm = (n_AR AR(TP, S) + n_A2A A2A(TP, k_e S / TP) + (PP - 1) hop(S)) / a,  S = (gamma+1)(c/k) hidden act_bytes
             + c L / (O PP) x (bandwidth parts of the all-reduces and hops, per token)   (amortised prefill)
    t_comp = (2 P (gamma+1) + 2 P_draft gamma) M / (a N F) + c (prefill + recompute FLOPs) / (O eff N F)
    t_io   = c KV_hist / (O min(backing bandwidth / 2, N node_io))   (KV swapping; out and in each way)
    time per token per user = max(t_mem, t_comm, t_comp, t_io)   (overlapped: a roofline bound)
    TTFT   = max(prefill FLOPs / (TP F eff), W(L) / (TP b), prompt all-reduces and hops)

Exact arithmetic: byte and bandwidth figures are exact rationals; costs are exact fractions of
dollars (``costs``); communication coefficients are whole picoseconds rounded up.
"""

# The package's chapters, in the order a reader meets them; every name the model, the oracle and the
# reports use is re-exported here, so callers write ``physics.evaluate`` whichever file holds it.
from ..units import s_to_ps_ceil  # noqa: F401  (re-exported: tests state coefficients with it)
from .requirements import (  # noqa: F401
    Requirements, SwapNeed, moe_weight_bytes, prefill_flops, requirements, kv_replication, capacity_for_tp,
    kv_read_for_tp,
)
from .costs import (  # noqa: F401
    basis_factor, die_max_units, die_cost_usd, die_cost_exact_usd, wafers_per_good_die, DIE_FACTOR_RESOLUTION, curve_domain, curve_value,
    network_term_usd, network_cost_usd, network_cost_units, network_power_w, network_counts,
)
from .configs import (  # noqa: F401
    MemoryConfig, memory_configs, memory_configs_of, NetworkConfig, network_configs, BackingConfig, backing_configs, backing_shortfall, io_min_nodes, compatible, links_keep_up, links_keep_up_matrix, tp_values,
    tier_configs, tier_configs_of, tp_fits, spans_domains, spanning, tp_group_domains,
)
from .levels import (  # noqa: F401
    two_level_configs, level_items, level_cost_usd, fabric_hops, domains, level_comm_s,
)
from .decode import (  # noqa: F401
    micro_batch_m, moe_extra, step_bytes, step_rate, speed_ok, speed_coefficients, compute_per_token_flops, compute_ok, compute_coefficients,
)
from .network import (  # noqa: F401
    CommCoefficients, collective_latency_s, comm_coefficients, comm_coefficients_of, decode_comm, base_comm, comm_speed_ok, comm_speed_mask,
    comm_rule_matrix, comm_rule_terms, machine_groups, machine_mask, comm_speed_mask_at, comm_rule_matrix_at,
)
from .prefill import (  # noqa: F401
    ttft_compute_s, ttft_memory_s, ttft_pair_ok, prompt_comm_mask, ttft_comm_mask,
)
from .calibrated import (  # noqa: F401
    NodeTerms, prefill_efficiency, effective_bandwidth, node_terms, step_times, speed_matrix, ttft_ps, ttft_matrix,
    speed_matrix_at, ttft_matrix_at, saturating, layer_overhead_ps, prefill_rate_matrix, prefill_rate_matrix_at,
    class_arrays, class_columns, speed_slack, node_terms_of, TermsInputs,
)
from .design import (  # noqa: F401
    Design, Metrics, design_comm, ttft_s, roofline, io_bandwidth_bytes_per_s, evaluate,
)
from .checks import (  # noqa: F401
    Check, checks, BINDING_SLACK, tightest, binding,
)
