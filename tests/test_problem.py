"""archsearch.problem: bundled problems load; bad problems fail with one exact message."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Callable

import pytest

from archsearch.catalog import default_directory, load_catalog
from archsearch.errors import CatalogError, ProblemError
from archsearch.problem import Problem, bundled_problems, default_problem_path, load_problem


@functools.lru_cache(maxsize=None)
def known(section: str) -> str:
    return ", ".join(sorted(load_catalog().section(section)))


# -- problems that load ----------------------------------------------------------------------
def test_default_problem_loads() -> None:
    p = load_problem()
    assert isinstance(p, Problem)
    assert p.path == str(default_problem_path())
    assert p.name == "llama-2-70b-chat"
    assert p.model.name == "llama-2-70b"
    assert p.workload.context_length == 4096 and p.workload.concurrency == 64
    assert p.constraints.max_nodes == 1024
    assert Path(p.catalog.directory) == default_directory()


def test_there_are_bundled_problems() -> None:
    assert default_problem_path() in bundled_problems()


@pytest.mark.parametrize("path", bundled_problems(), ids=lambda p: p.name)
def test_every_bundled_problem_loads(path: Path) -> None:
    p = load_problem(path)
    assert p.name and p.path == str(path)


def test_small_problem_loads_with_defaults(write_problem: Callable[..., Path], small_problem_dict: dict) -> None:
    p = load_problem(write_problem(small_problem_dict))
    assert p.constraints.max_nodes == 16
    assert p.search.top_k == 3 and p.search.time_limit_s == 30 and p.search.seed == 0
    assert p.search.workers == 1 and p.search.distinct == "architecture" and dict(p.search.include) == {}
    assert p.constraints.max_power_w is None
    assert p.constraints.max_tensor_parallel == 16  # capped at max_nodes
    assert p.search.two_level is False  # two-level networks are opt-in (docs/two-level-networks.md)


def test_minimal_problem_takes_every_default(write_problem: Callable[..., Path]) -> None:
    p = load_problem(write_problem({"name": "tiny", "model": "llama-3-8b",
                                    "workload": {"context_length": 1024, "concurrency": 1},
                                    "constraints": {"max_nodes": 4}}))
    assert p.description == ""
    assert p.workload.weight_dtype == p.workload.kv_dtype == p.workload.activation_dtype == "bf16"
    assert p.cost.basis == "build" and p.constraints.balance.rule == "ratio"


def test_explicit_model_from_a_preset(write_problem: Callable[..., Path], small_problem_dict: dict) -> None:
    small_problem_dict["model"] = {"preset": "llama-2-70b", "layers": 40}
    p = load_problem(write_problem(small_problem_dict))
    preset = load_catalog().models["llama-2-70b"]
    assert p.model.layers == 40
    assert p.model.hidden_size == preset.hidden_size and p.model.kv_heads == preset.kv_heads
    assert p.model.parameters == preset.parameters


def test_explicit_model_without_a_preset(write_problem: Callable[..., Path], small_problem_dict: dict) -> None:
    small_problem_dict["model"] = {"name": "toy", "layers": 4, "hidden_size": 512, "attention_heads": 8,
                                   "kv_heads": 2, "head_dim": 64, "parameters": 1e8, "active_parameters": 1e8}
    path = write_problem(small_problem_dict)
    p = load_problem(path)
    assert p.model.name == "toy" and p.model.kv_elements_per_layer == 2 * 2 * 64
    assert p.model.source == str(path) and p.model.estimate is False


def test_overrides_reach_the_catalog(write_problem: Callable[..., Path], small_problem_dict: dict) -> None:
    small_problem_dict["overrides"] = {"memory": {"hbm3": {"capacity_gb": 24}}}
    p = load_problem(write_problem(small_problem_dict))
    assert p.catalog.memory["hbm3"].capacity_gb == 24


def test_search_include(write_problem: Callable[..., Path], small_problem_dict: dict) -> None:
    small_problem_dict["search"]["include"] = {"memory": ["hbm3", "gddr6"], "topologies": ["ring"]}
    p = load_problem(write_problem(small_problem_dict))
    assert dict(p.search.include) == {"memory": ("hbm3", "gddr6"), "topologies": ("ring",)}


def test_another_catalog_directory(write_problem: Callable[..., Path], small_problem_dict: dict,
                                   catalog_dir: Path) -> None:
    p = load_problem(write_problem(small_problem_dict), catalog_dir)
    assert p.catalog.directory == str(catalog_dir)


# -- bad problems ----------------------------------------------------------------------------
def put(dotted: str, value: Any) -> Callable[[dict], None]:
    def apply(d: dict) -> None:
        *head, last = dotted.split(".")
        for h in head:
            d = d[h]
        d[last] = value
    return apply


def drop(dotted: str) -> Callable[[dict], None]:
    def apply(d: dict) -> None:
        *head, last = dotted.split(".")
        for h in head:
            d = d[h]
        del d[last]
    return apply


MEMORY_YAML = default_directory() / "memory.yaml"
#: the allowed fields of each section of a problem file, as unknown-field messages list them
ALLOWED = {
    "problem": "name, description, overrides, model, workload, constraints, cost, search",
    "workload": "context_length, concurrency, output_tokens_per_request, min_decode_tokens_per_s_per_user, "
                "weight_dtype, kv_dtype, activation_dtype, compute_dtype, prompt_tokens, prefill_compute_efficiency, "
                "kv_read_fraction, speculative, kv_swap",
    "speculative": "draft_tokens, accepted_tokens_per_step, draft_parameters",
    "kv_swap": "idle_requests, backing, mode, node_io_gb_per_s",
    "constraints": "max_nodes, budget_usd, max_power_w, capacity_overhead_fraction, tensor_parallel, "
                   "max_tensor_parallel, expert_parallel, max_ttft_ms, balance, speed_model",
    "balance": "rule, tensor_parallel_ratio, pipeline_parallel_ratio, comm_time_ratio",
    "cost": "basis, market_over_build, amortisation_years",
    "search": "top_k, distinct, time_limit_s, seed, workers, include, two_level, engine",
    "include": "memory, nodes, interconnects, topologies",
    "model": "name, description, layers, hidden_size, attention_heads, kv_heads, head_dim, parameters, "
             "active_parameters, kv_elements_per_token_per_layer, moe, source, estimate",
    "moe": "experts, active_experts, expert_parameters, layers",
}
BAD = [
    (put("colour", "red"), "{p}: problem: colour: unknown field; allowed: " + ALLOWED["problem"]),
    (put("workload.colour", "red"), "{p}: problem.workload: colour: unknown field; allowed: " + ALLOWED["workload"]),
    (drop("name"), "{p}: problem: name: missing required field"),
    (drop("workload"), "{p}: problem: workload: missing required field"),
    (put("workload", None), "{p}: problem.workload: context_length: missing required field"),
    (put("workload", "chat"), "{p}: problem: workload: expected a mapping, found 'chat'"),
    (drop("constraints.max_nodes"), "{p}: problem.constraints: max_nodes: missing required field"),
    (put("workload.context_length", 0), "{p}: problem.workload: context_length: expected an integer in "
                                        "[1, 1,073,741,824], found 0"),
    (put("workload.context_length", "4kB"), "{p}: problem.workload: context_length: expected an integer in "
                                            "[1, 1,073,741,824], found '4kB'"),
    (put("workload.context_length", 4096.5), "{p}: problem.workload: context_length: expected an integer in "
                                             "[1, 1,073,741,824], found 4096.5"),
    (put("workload.context_length", True), "{p}: problem.workload: context_length: expected an integer in "
                                           "[1, 1,073,741,824], found true (a boolean)"),
    (put("workload.concurrency", -1), "{p}: problem.workload: concurrency: expected an integer in "
                                      "[1, 100,000,000], found -1"),
    (put("workload.min_decode_tokens_per_s_per_user", -5), "{p}: problem.workload: "
     "min_decode_tokens_per_s_per_user: expected a number in [0, 1,000,000], found -5"),
    (put("model", "llama-9"), "{p}: problem: model: unknown model preset 'llama-9' (known: {models})"),
    (put("model", 70), "{p}: problem: model: expected a preset name or a mapping of model fields, found 70"),
    (put("workload.kv_dtype", "fp12"), "{p}: problem.workload: kv_dtype: expected one of fp32, bf16, fp16, fp8, "
                                       "int8, fp4, int4, found 'fp12' (did you mean 'fp32'?)"),
    (put("constraints.balance.rule", "ration"), "{p}: problem.constraints.balance: rule: expected one of ratio, "
                                                "comm_time, found 'ration' (did you mean 'ratio'?)"),
    (put("constraints.balance", "ratio"), "{p}: problem.constraints: balance: expected a mapping, found 'ratio'"),
    (put("constraints.max_nodes", 0), "{p}: problem.constraints: max_nodes: expected an integer in "
                                      "[1, 1,000,000,000,000], found 0"),
    (put("cost.basis", "retail"), "{p}: problem.cost: basis: expected one of build, market, found 'retail'"),
    (put("search.top_k", 0), "{p}: problem.search: top_k: expected an integer in [1, 1,000], found 0"),
    (put("search.two_level", "yes"), "{p}: problem.search: two_level: expected true or false, found 'yes'"),
    (put("search.distinct", "node"), "{p}: problem.search: distinct: expected one of architecture, medium, "
                                     "design, found 'node'"),
    (put("search.include", {"memory": ["hbm9"]}), "{p}: problem.search.include: memory: unknown memory entry "
                                                  "'hbm9' (known: {memory})"),
    (put("search.include", {"memory": []}), "{p}: problem.search.include: memory: expected a non-empty list of "
                                            "names, found a list"),
    (put("search.include", {"models": ["llama-3-8b"]}), "{p}: problem.search.include: models: unknown field (did "
                                                        "you mean 'nodes'?); allowed: " + ALLOWED["include"]),
    (put("overrides", {"memory": {"hbm9": {"capacity_gb": 1}}}), "{p}: overrides.memory.hbm9: no such memory "
                                                                 "entry in {memory_yaml} (did you mean 'hbm4'?)"),
    (put("overrides", {"memroy": {}}), "{p}: overrides.memroy: unknown catalog section (expected one of memory, "
                                       "nodes, interconnects, topologies, models) (did you mean 'memory'?)"),
    (put("overrides", ["memory"]), "{p}: problem: overrides: expected a mapping of catalog sections, found a list"),
    (put("model", {"name": "toy", "hidden_size": 8192, "attention_heads": 64, "kv_heads": 8, "head_dim": 128,
                   "parameters": 7e10, "active_parameters": 7e10}),
     "{p}: problem.model: layers: missing required field"),
    (put("model", {"layers": 80, "hidden_size": 8192, "attention_heads": 64, "kv_heads": 8, "head_dim": 128,
                   "parameters": 7e10, "active_parameters": 7e10}),
     "{p}: problem.model: name: missing required field"),
    (put("model", {"preset": "llama-9", "layers": 40}), "{p}: problem: model.preset: unknown model preset "
                                                        "'llama-9' (known: {models})"),
    (put("model", {"preset": "llama-2-70b", "layerz": 40}), "{p}: problem.model: layerz: unknown field (did you mean "
                                                            "'layers'?); allowed: " + ALLOWED["model"]),
    (put("model", {"preset": "llama-2-70b", "layers": 0}), "{p}: problem.model: layers: expected an integer "
                                                           "in [1, 10,000], found 0"),
    (put("workload.prompt_tokens", 5000), "{p}: problem.workload: prompt_tokens: 5000 exceeds context_length 4096 "
                                          "(the context holds the prompt)"),
    (put("workload.kv_read_fraction", 1.5), "{p}: problem.workload: kv_read_fraction: expected a number in "
                                            "[1e-6, 1], found 1.5"),
    (put("workload.prefill_compute_efficiency", 0), "{p}: problem.workload: prefill_compute_efficiency: expected "
                                                    "a number in [1e-6, 1], found 0"),
    (put("workload.speculative", {"draft_tokens": 2, "accepted_tokens_per_step": 4}),
     "{p}: problem.workload.speculative: accepted_tokens_per_step: 4 exceeds draft_tokens + 1 = 3 (a step yields "
     "at most the drafted tokens and one of its own)"),
    (put("workload.speculative", {"accepted_tokens_per_step": 2}),
     "{p}: problem.workload.speculative: draft_tokens: missing required field"),
    (put("workload.kv_swap", {"idle_requests": 10, "backing": ["hbm9"]}),
     "{p}: problem.workload.kv_swap: backing: unknown memory 'hbm9' (known: {memory})"),
    (put("workload.kv_swap", {"idle_requests": 10, "mode": "page"}),
     "{p}: problem.workload.kv_swap: mode: expected one of swap, recompute, best, found 'page'"),
    (put("constraints.max_ttft_ms", 100), "{p}: problem.constraints: max_ttft_ms: needs workload.prompt_tokens "
                                          "(time to first token is the prefill of the prompt)"),
    (put("constraints.expert_parallel", "yes"), "{p}: problem.constraints: expert_parallel: expected true or false, "
                                                "found 'yes'"),
    (put("model", {"preset": "mixtral-8x7b", "moe": {"experts": 8, "active_experts": 9,
                                                     "expert_parameters": 4e10, "layers": 32}}),
     "{p}: problem.model.moe: active_experts: 9 exceeds experts 8"),
]
BAD_IDS = [
    "unknown-top-level-key", "unknown-workload-key", "missing-name", "missing-workload", "empty-workload",
    "workload-not-mapping", "missing-max-nodes", "context-length-zero", "context-length-string",
    "context-length-fraction", "context-length-bool", "negative-concurrency", "negative-min-decode",
    "unknown-model-preset", "model-number", "unknown-dtype", "balance-rule-typo", "balance-not-mapping",
    "max-nodes-zero", "bad-cost-basis", "top-k-zero", "two-level-not-bool", "bad-distinct", "include-unknown-memory",
    "include-empty", "include-models", "override-unknown-entry", "override-unknown-section",
    "overrides-not-mapping", "explicit-model-missing-layers", "explicit-model-missing-name",
    "explicit-model-unknown-preset", "explicit-model-unknown-field", "explicit-model-zero-layers",
    "prompt-longer-than-context", "kv-read-fraction-above-one", "prefill-efficiency-zero",
    "accepted-beyond-draft", "speculative-missing-draft", "swap-unknown-backing", "swap-bad-mode",
    "ttft-without-prompt", "expert-parallel-not-bool", "moe-more-active-than-experts",
]


@pytest.mark.parametrize("change, message", BAD, ids=BAD_IDS)
def test_bad_problem(write_problem: Callable[..., Path], small_problem_dict: dict,
                     change: Callable[[dict], None], message: str) -> None:
    change(small_problem_dict)
    path = write_problem(small_problem_dict)
    with pytest.raises(ProblemError) as exc:
        load_problem(path)
    assert str(exc.value) == message.format(p=path, models=known("models"), memory=known("memory"),
                                            memory_yaml=MEMORY_YAML)


def test_override_with_a_bad_value_is_a_catalog_error(write_problem: Callable[..., Path],
                                                      small_problem_dict: dict) -> None:
    small_problem_dict["overrides"] = {"memory": {"hbm3": {"capacity_gb": -1}}}
    path = write_problem(small_problem_dict)
    with pytest.raises(CatalogError) as exc:
        load_problem(path)
    assert str(exc.value) == (f"{MEMORY_YAML} (with overrides from {path}): memory[hbm3]: capacity_gb: "
                              "expected a number in [1e-6, 1,000,000], found -1")


def test_missing_problem_file(tmp_path: Path) -> None:
    with pytest.raises(ProblemError) as exc:
        load_problem(tmp_path / "nope.yaml")
    assert str(exc.value) == f"{tmp_path / 'nope.yaml'}: file not found"


def test_problem_that_is_not_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(ProblemError) as exc:
        load_problem(path)
    assert str(exc.value) == f"{path}: problem: expected a mapping, found a list"


def test_a_bundled_problem_loads_by_name_from_anywhere(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_problem("long-document-prefill").name == "long-document-prefill"
    assert load_problem("problems/llama-3.1-70b-kv-swap.yaml").name == "llama-3.1-70b-kv-swap"
    with pytest.raises(ProblemError, match="file not found"):
        load_problem("no-such-problem")


# -- issue 13 and issue 10 item 4: hostile values, one-line messages, the number grammar ---------------
def rename(dotted: str, new: str) -> Callable[[dict], None]:
    def apply(d: dict) -> None:
        *head, last = dotted.split(".")
        for h in head:
            d = d[h]
        d[new] = d.pop(last)
    return apply


TOPOLOGIES = "all-to-all, dragonfly, fat-tree, mesh-2d, ring, single-switch, torus-2d, torus-3d"
ROBUST = [
    (put("workload.concurrency", 10**30), "{p}: problem.workload: concurrency: expected an integer in "
                                          "[1, 100,000,000], found a 31-digit integer"),
    (put("constraints.budget_usd", 1e300), "{p}: problem.constraints: budget_usd: expected a number in [1, 1e15], "
                                           "found 1e+300"),
    (put("workload.prefill_compute_efficiency", 1e-300), "{p}: problem.workload: prefill_compute_efficiency: "
                                                         "expected a number in [1e-6, 1], found 1e-300"),
    (put("workload.context_length", float("nan")), "{p}: problem.workload: context_length: expected an integer in "
                                                   "[1, 1,073,741,824], found nan"),
    (put("cost.market_over_build", 1e-12), "{p}: problem.cost: market_over_build: expected a number in [0.01, 100], "
                                           "found 1e-12"),
    (put("search.seed", 2**31), "{p}: problem.search: seed: expected an integer in [0, 2,147,483,647], found "
                                "2147483648"),
    (put("model", "a\nb"), "{p}: problem: model: unknown model preset 'a\\nb' (known: {models})"),
    (put("name", "x\ny"), "{p}: problem: name: expected a one-line name of at most 100 printable characters, "
                          "found 'x\\ny'"),
    (put("overrides", False), "{p}: problem: overrides: expected a mapping of catalog sections, found false "
                              "(a boolean)"),
    (put("overrides", {"interconnects": {"nvlink4": {"topologies": ["no-such-topology"]}}}),
     "{p}: overrides.interconnects.nvlink4.topologies: unknown topology 'no-such-topology' (known: " + TOPOLOGIES + ")"),
    (put("overrides", {"memory": {"hbm3": {"name": {"a": 1}}}}),
     "{memory_yaml} (with overrides from {p}): memory[2]: name: expected a non-empty string, found a mapping"),
    (rename("workload.concurrency", "concurency"), "{p}: problem.workload: concurency: unknown field (did you mean "
                                                    "'concurrency'?); allowed: " + ALLOWED["workload"]),
    (put("workload.kv_dtype", "bf61"), "{p}: problem.workload: kv_dtype: expected one of fp32, bf16, fp16, fp8, int8, "
                                       "fp4, int4, found 'bf61' (did you mean 'bf16'?)"),
    (put("workload.context_length", "32 k"), "{p}: problem.workload: context_length: expected an integer in "
                                             "[1, 1,073,741,824], found '32 k'"),
]
ROBUST_IDS = ["30-digit-integer", "1e300", "1e-300", "nan", "market-over-build-tiny", "seed-beyond-int32",
              "newline-in-model", "newline-in-name", "overrides-false", "override-breaks-reference",
              "override-name-mapping", "typo-before-missing", "choice-did-you-mean", "spaced-suffix"]


@pytest.mark.parametrize("change, message", ROBUST, ids=ROBUST_IDS)
def test_hostile_problem(write_problem: Callable[..., Path], small_problem_dict: dict,
                         change: Callable[[dict], None], message: str) -> None:
    change(small_problem_dict)
    path = write_problem(small_problem_dict)
    with pytest.raises((ProblemError, CatalogError)) as exc:
        load_problem(path)
    assert str(exc.value) == message.format(p=path, models=known("models"), memory_yaml=MEMORY_YAML)


@pytest.mark.parametrize("field, text, value", [
    ("workload.context_length", "32k", 32768), ("workload.context_length", "32K", 32768),
    ("workload.context_length", '"32768"', 32768), ("workload.context_length", "32_768", 32768),
    ("workload.context_length", "3.2768e4", 32768), ("constraints.budget_usd", "2e6", 2_000_000),
    ("constraints.budget_usd", "2M", 2_000_000), ("workload.concurrency", "1k", 1000),
    ("workload.prompt_tokens", "1k", 1024),
], ids=lambda x: str(x))
def test_numbers_as_people_write_them(write_problem: Callable[..., Path], small_problem_dict: dict,
                                      field: str, text: str, value: int) -> None:
    section, key = field.split(".")
    small_problem_dict[section][key] = "PLACEHOLDER"
    path = write_problem(small_problem_dict)
    path.write_text(path.read_text(encoding="utf-8").replace("PLACEHOLDER", text), encoding="utf-8")
    got = getattr(getattr(load_problem(path), section), key)
    assert got == value


def test_problem_from_stdin(monkeypatch: pytest.MonkeyPatch, small_problem_dict: dict) -> None:
    import io
    import yaml
    from archsearch import problem as problem_mod
    monkeypatch.setattr(problem_mod, "_STDIN_TEXT", [])
    monkeypatch.setattr("sys.stdin", io.StringIO(yaml.safe_dump(small_problem_dict)))
    p = load_problem("-")
    assert p.name == "small-llama-2-70b" and p.path == "<stdin>"
    assert load_problem("-").name == p.name  # read once, kept for a second load (a sweep reads twice)


def test_a_mistyped_bundled_name_lists_the_bundled_ones() -> None:
    with pytest.raises(ProblemError) as exc:
        load_problem("llama-3-8b-edg")
    names = ", ".join(p.stem for p in bundled_problems())
    assert str(exc.value) == f"llama-3-8b-edg: file not found (did you mean 'llama-3-8b-edge'? bundled problems: {names})"


def test_max_nodes_above_every_reach_is_clamped(write_problem: Callable[..., Path], small_problem_dict: dict) -> None:
    small_problem_dict["constraints"]["max_nodes"] = 10**9
    p = load_problem(write_problem(small_problem_dict))
    reach = max(ic.reach_nodes for ic in p.catalog.interconnects.values())
    assert p.constraints.max_nodes == reach and p.constraints.max_nodes_requested == 10**9
    small_problem_dict["constraints"]["max_nodes"] = reach
    assert load_problem(write_problem(small_problem_dict)).constraints.max_nodes_requested is None


# -- issue 10: an unknown key is reported before a missing required field, in every section -------------------
def both(*changes: Callable[[dict], None]) -> Callable[[dict], None]:
    def apply(d: dict) -> None:
        for c in changes:
            c(d)
    return apply


SPEC = {"draft_tokens": 3, "accepted_tokens_per_step": 2}
SWAP = {"idle_requests": 8}
EXPLICIT_MODEL = {"name": "toy", "layers": 8, "hidden_size": 1024, "attention_heads": 8, "kv_heads": 8, "head_dim": 128,
                  "parameters": 1e9, "active_parameters": 1e9}
UNKNOWN_BEFORE_MISSING = [
    ("problem", both(drop("name"), put("colour", "red")), "{p}: problem: colour: unknown field; allowed: "
     + ALLOWED["problem"]),
    ("workload", both(drop("workload.context_length"), put("workload.colour", "red")),
     "{p}: problem.workload: colour: unknown field; allowed: " + ALLOWED["workload"]),
    ("speculative", put("workload.speculative", {"accepted_tokens_per_step": 2, "drafts": 3}),
     "{p}: problem.workload.speculative: drafts: unknown field (did you mean 'draft_tokens'?); allowed: "
     + ALLOWED["speculative"]),
    ("kv_swap", put("workload.kv_swap", {"backing": ["nvme-ssd"], "size": 9}),
     "{p}: problem.workload.kv_swap: size: unknown field; allowed: " + ALLOWED["kv_swap"]),
    ("constraints", both(drop("constraints.max_nodes"), put("constraints.nodes", 8)),
     "{p}: problem.constraints: nodes: unknown field (did you mean 'max_nodes'?); allowed: " + ALLOWED["constraints"]),
    ("balance", put("constraints.balance", {"rule": "ratio", "ratio": 1}),
     "{p}: problem.constraints.balance: ratio: unknown field; allowed: " + ALLOWED["balance"]),
    ("cost", put("cost", {"basis": "build", "currency": "eur"}),
     "{p}: problem.cost: currency: unknown field; allowed: " + ALLOWED["cost"]),
    ("search", put("search", {"top_k": 3, "topk": 3}),
     "{p}: problem.search: topk: unknown field (did you mean 'top_k'?); allowed: " + ALLOWED["search"]),
    ("include", put("search.include", {"memory": ["hbm3"], "colour": ["red"]}),
     "{p}: problem.search.include: colour: unknown field; allowed: " + ALLOWED["include"]),
    ("model", put("model", {**{k: v for k, v in EXPLICIT_MODEL.items() if k != "layers"}, "colour": "red"}),
     "{p}: problem.model: colour: unknown field; allowed: " + ALLOWED["model"]),
    ("moe", put("model", {**EXPLICIT_MODEL, "moe": {"active_experts": 2, "expert_parameters": 5e8, "layers": 8,
                                                    "colour": "red"}}),
     "{p}: problem.model.moe: colour: unknown field; allowed: " + ALLOWED["moe"]),
]


@pytest.mark.parametrize("change, message", [c[1:] for c in UNKNOWN_BEFORE_MISSING],
                         ids=[c[0] for c in UNKNOWN_BEFORE_MISSING])
def test_an_unknown_key_is_reported_before_a_missing_field(write_problem: Callable[..., Path],
                                                           small_problem_dict: dict,
                                                           change: Callable[[dict], None], message: str) -> None:
    """Each section of a problem file with an unrelated unknown key and (where it has one) a required field
    missing: the unknown key is what is reported, with the section's allowed fields."""
    change(small_problem_dict)
    path = write_problem(small_problem_dict)
    with pytest.raises(ProblemError) as exc:
        load_problem(path)
    assert str(exc.value) == message.format(p=path)
