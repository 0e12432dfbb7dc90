"""Switching: every strategy's gates on a tiny model, the gathered and mixed-prompt paths against per-task
outputs, the sweep's rows, compiled hotswap, and trained adapters in the fleet. Workloads are in test_workload.py."""

from __future__ import annotations

import json

import pytest
import torch

from bench.cli import main
from bench.options import STRATEGIES


@pytest.fixture(scope="module")
def fleet4(tiny_bert_dir):
    from transformers import AutoModel

    from bench.switching import fleet

    base = AutoModel.from_pretrained(tiny_bert_dir).eval()
    f = fleet.build(base, 4, torch.device("cpu"), rank=4, virtual_tokens=3, seed=0)
    yield f
    f.close()


@pytest.fixture(scope="module")
def probe():
    from tests.conftest import VOCAB

    return torch.randint(5, len(VOCAB), (8, 6), generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("strategy", [s for s in STRATEGIES if s not in ("base", "hotswap_compiled")])
def test_every_strategy_passes_its_gate(fleet4, probe, strategy):
    from bench.switching import gates
    from bench.switching.strategies import SERVERS

    result = gates.check_server(fleet4, strategy, SERVERS[strategy](fleet4), probe)
    assert result["gate_ok"], result
    err = result.get("mixed_vs_alone_max_rel_err", result.get("swap_vs_reference_max_rel_err"))
    assert err is not None and err <= gates.MIXED_RTOL


def test_gathered_lora_equals_each_task_alone(fleet4, probe):
    """Rows of one gathered batch with 4 different adapters == each row run with PEFT's set_adapter."""
    from bench.switching import gathered
    from bench.switching.gates import rel_err

    tasks = torch.tensor([3, 0, 2, 1, 1, 3, 0, 2])
    with torch.inference_mode(), gathered.use_adapters(fleet4.selection, tasks):
        mixed = fleet4.gathered(input_ids=probe, attention_mask=torch.ones_like(probe)).last_hidden_state
    for i, t in enumerate(tasks.tolist()):
        fleet4.multi.set_adapter(f"task{t}")
        with torch.inference_mode():
            alone = fleet4.multi(
                input_ids=probe[i : i + 1], attention_mask=torch.ones_like(probe[i : i + 1])
            ).last_hidden_state
        assert rel_err(mixed[i : i + 1], alone) < 1e-5


def test_mixed_prompt_batch_equals_peft_prompt_tuning_per_task(fleet4, probe):
    from bench.switching.gates import reference, rel_err
    from bench.switching.prompts import forward_mixed

    tasks = torch.tensor([1, 3, 0, 2])
    with torch.inference_mode():
        mixed = forward_mixed(fleet4.plain, probe[:4], fleet4.prompt_table, tasks).last_hidden_state
    assert mixed.shape[1] == probe.shape[1] + fleet4.virtual_tokens
    for i, t in enumerate(tasks.tolist()):
        assert rel_err(mixed[i : i + 1], reference(fleet4, probe[i : i + 1], t, prompt=True)) < 1e-5


def test_a_broken_mixed_path_fails_its_gate(fleet4, probe):
    """The gate can fail: rows served with the wrong adapters are caught."""
    from bench.switching import gates
    from bench.switching.strategies import GatheredLora

    class Wrong(GatheredLora):
        def forward(self, ids, tasks):
            return super().forward(ids, (tasks + 1) % self.fleet.n)

    assert not gates.check_server(fleet4, "gathered_lora", Wrong(fleet4), probe)["gate_ok"]


def test_adapters_change_output_and_merge_drift(fleet4, probe):
    from bench.switching import gates

    change = gates.adapters_change_output(fleet4, probe)
    assert change["lora_changes_output"] and change["prompt_changes_output"]
    drift = gates.merge_drift(fleet4, cycles=(1, 10))
    assert drift["drift_fp32_1"] <= drift["drift_fp32_10"] <= gates.DRIFT_FP32_MAX
    assert drift["drift_bf16_10"] > drift["drift_fp32_10"]  # bf16 rounding shows; fp32 restores W0
    assert drift["drift_ok"]


def test_switch_cli_quick_rows(tiny_bert_dir, tmp_path, capsys):
    out = tmp_path / "switch.jsonl"
    code = main(
        [
            "switch",
            "--model",
            str(tiny_bert_dir),
            "--tasks-n",
            "1,4",
            "--batch-sizes",
            "4",
            "--requests",
            "16",
            "--repeats",
            "1",
            "--order",
            "grouped,shuffled",
            "--popularity",
            "zipf",
            "--lengths",
            "short",
            "--strategies",
            ",".join(s for s in STRATEGIES if s != "hotswap_compiled"),
            "--output",
            str(out),
            "--no-progress",
        ]
    )
    assert code == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 2 * 2 * 10
    assert all(r["kind"] == "switch" and r["status"] == "ok" and r["gate_ok"] for r in rows), [
        (r["strategy"], r["error"]) for r in rows if r["status"] != "ok"
    ]
    by = {(r["strategy"], r["n_tasks"], r["order"]): r for r in rows}
    assert by[("base", 4, "shuffled")]["overhead_vs_base_pct"] == 0
    assert (
        by[("set_adapter", 4, "shuffled")]["n_switches"] == by[("set_adapter", 4, "shuffled")]["expected_switches"] > 3
    )
    assert by[("set_adapter", 4, "grouped")]["n_switches"] == 4  # the first load counts as a swap
    assert by[("gathered_lora", 4, "shuffled")]["n_switches"] == 0
    assert by[("mixed_prompt_batch", 4, "shuffled")]["extra_tokens"] == 16 * 20
    assert (
        by[("peft_mixed_batch", 4, "grouped")]["adapter_bytes_resident"]
        == 4 * by[("load_warm", 4, "grouped")]["adapter_bytes_resident"]
    )
    assert "break_even_requests_per_task" in by[("merge_swap", 4, "grouped")]
    for r in rows:
        assert r["requests_per_s"] > 0 and len(r["total_ms_samples"]) == 1
    assert "gathered_lora" in capsys.readouterr().out


def test_hotswap_into_a_compiled_model(tiny_bert_dir, probe):
    """torch.compile + PEFT's compiled hotswap: passes the gate where it works, else an Unsupported."""
    from transformers import AutoModel

    from bench.errors import Unsupported
    from bench.switching import fleet, gates
    from bench.switching.strategies import SERVERS

    f = fleet.build(AutoModel.from_pretrained(tiny_bert_dir).eval(), 3, torch.device("cpu"), rank=4, virtual_tokens=3)
    try:
        server = SERVERS["hotswap_compiled"](f)
        try:
            server.prepare()
        except Unsupported as e:
            pytest.skip(f"torch.compile does not work here: {e}")
        assert gates.check_server(f, "hotswap_compiled", server, probe)["gate_ok"]
    finally:
        f.close()


def test_trained_adapters_fill_the_first_slots(tiny_bert_dir, tmp_path):
    """A LoRA adapter and a soft prompt saved by a classification run land, weight for weight, in slot 0."""
    from peft import LoraConfig, PromptTuningConfig, TaskType, get_peft_model
    from transformers import AutoModel, BertForSequenceClassification

    from bench.switching import fleet, trained

    torch.manual_seed(1)
    rows = []
    for method, cfg in (
        ("lora", LoraConfig(task_type=TaskType.SEQ_CLS, r=4, lora_alpha=8, init_lora_weights=False)),
        ("prompt_tuning", PromptTuningConfig(task_type=TaskType.SEQ_CLS, num_virtual_tokens=3)),
    ):
        model = get_peft_model(BertForSequenceClassification.from_pretrained(tiny_bert_dir, num_labels=2), cfg)
        model.save_pretrained(tmp_path / method)
        rows.append(
            {
                "kind": "run",
                "status": "ok",
                "model": "tiny",
                "method": method,
                "task": "t",
                "run_id": method,
                "method_params": {"r": 4, "alpha": 8} if method == "lora" else {"num_virtual_tokens": 3},
                "adapter_path": str(tmp_path / method),
            }
        )
    base = AutoModel.from_pretrained(tiny_bert_dir).eval()
    got = trained.load(rows, "tiny", rank=4, virtual_tokens=3, base_prefix=base.base_model_prefix)
    assert len(got.lora) == 1 and len(got.prompts) == 1 and "encoder.layer.0.attention.self.query" in got.lora[0]
    f = fleet.build(base, 2, torch.device("cpu"), rank=4, virtual_tokens=3, trained=got)
    try:
        assert (f.trained_lora, f.trained_prompts) == (1, 1)
        layer = f.multi.base_model.model.encoder.layer[0].attention.self.query
        assert torch.equal(layer.lora_A["task0"].weight, got.lora[0]["encoder.layer.0.attention.self.query"][0])
        assert not torch.equal(layer.lora_A["task1"].weight, layer.lora_A["task0"].weight)
        assert torch.equal(f.prompt_table[0], got.prompts[0])
    finally:
        f.close()


def test_trained_adapters_of_a_sweep_are_the_selected_settings(tiny_bert_dir, tmp_path):
    """--adapters-from on a learning-rate sweep serves the adapter of the rate selected on validation only."""
    from peft import LoraConfig, TaskType, get_peft_model
    from transformers import BertForSequenceClassification

    from bench.switching import trained

    rows = []
    for lr, val in ((1e-3, 0.70), (3e-3, 0.80), (1e-2, 0.50)):
        model = get_peft_model(
            BertForSequenceClassification.from_pretrained(tiny_bert_dir, num_labels=2),
            LoraConfig(task_type=TaskType.SEQ_CLS, r=4, lora_alpha=8),
        )
        model.save_pretrained(tmp_path / str(lr))
        rows.append(
            {
                "kind": "run",
                "status": "ok",
                "model": "tiny",
                "method": "lora",
                "task": "t",
                "seed": 0,
                "run_id": f"lr{lr}",
                "method_params": {"r": 4, "alpha": 8, "lr": lr},
                "lr_sweep": [1e-3, 3e-3, 1e-2],
                "val_accuracy": val,
                "adapter_path": str(tmp_path / str(lr)),
            }
        )
    got = trained.load(rows, "tiny", rank=4, virtual_tokens=3, base_prefix="bert")
    assert got.sources == ["lora t (lr0.003)"]
    assert len(trained.load([{**r, "lr_sweep": []} for r in rows], "tiny", 4, 3, "bert").lora) == 3  # no sweep: all


def test_a_trained_adapter_is_served_with_the_update_it_trained(tiny_bert_dir, tmp_path):
    """Fleet adapters scale B A by alpha / r = 2; a trained one with another alpha, or rsLoRA's alpha / sqrt(r),
    is rescaled so the served update equals the one PEFT applied in training."""
    from peft import LoraConfig, TaskType, get_peft_model
    from transformers import BertForSequenceClassification

    from bench.switching import trained
    from bench.switching.fleet import ALPHA_PER_RANK

    torch.manual_seed(0)
    for params in ({"r": 4, "alpha": 4}, {"r": 4, "alpha": 8, "use_rslora": True}):
        model = get_peft_model(
            BertForSequenceClassification.from_pretrained(tiny_bert_dir, num_labels=2),
            LoraConfig(
                task_type=TaskType.SEQ_CLS,
                r=4,
                lora_alpha=params["alpha"],
                use_rslora=params.get("use_rslora", False),
                init_lora_weights=False,
            ),
        )
        model.save_pretrained(tmp_path / "a")
        layer = model.base_model.model.bert.encoder.layer[0].attention.self.query
        update = layer.scaling["default"] * layer.lora_B["default"].weight @ layer.lora_A["default"].weight
        row = {
            "kind": "run",
            "status": "ok",
            "model": "tiny",
            "method": "lora",
            "task": "t",
            "run_id": "a",
            "method_params": params,
            "adapter_path": str(tmp_path / "a"),
        }
        a, b = trained.load([row], "tiny", rank=4, virtual_tokens=3, base_prefix="bert").lora[0][
            "encoder.layer.0.attention.self.query"
        ]
        assert torch.allclose(ALPHA_PER_RANK * b @ a, update, atol=1e-6), params
    assert (
        trained.lora_scale({"r": 16, "alpha": 32}) == 2
        and trained.lora_scale({"r": 16, "alpha": 8, "use_rslora": True}) == 2
    )


def test_a_fleet_built_for_some_strategies_holds_the_same_adapters(fleet4, tiny_bert_dir, probe):
    """Only the forms the strategies serve from are built (N = 1,024 PEFT adapters take minutes); the adapters
    are the same whichever are, and the saved state dicts are keyed as PEFT keys them."""
    from peft import get_peft_model_state_dict
    from transformers import AutoModel

    from bench.switching import fleet
    from bench.switching.strategies import SERVERS, forms_for

    assert forms_for(["base", "gathered_lora", "mixed_prompt_batch"]) == ("gathered",)
    assert forms_for(["merge_swap", "hotswap"]) == ("files", "multi")
    base = AutoModel.from_pretrained(tiny_bert_dir).eval()
    f = fleet.build(base, 4, torch.device("cpu"), rank=4, virtual_tokens=3, seed=0, forms=forms_for(["gathered_lora"]))
    try:
        assert f.multi is None and f.prompt is None and not f.lora_dirs
        tasks = torch.tensor([0, 1, 2, 3, 3, 2, 1, 0])
        outs = [SERVERS["gathered_lora"](x).forward(probe, tasks).last_hidden_state for x in (f, fleet4)]
        assert torch.equal(outs[0], outs[1])
        assert set(f.lora_states[0]) == set(get_peft_model_state_dict(fleet4.single))
        with pytest.raises(ValueError, match="unknown fleet forms"):
            fleet.build(base, 1, torch.device("cpu"), forms=("nope",))
    finally:
        f.close()


def test_adding_many_adapters_at_once_builds_what_peft_add_adapter_builds(tiny_bert_dir, probe):
    from peft import LoraConfig, TaskType, get_peft_model
    from transformers import AutoModel

    from bench.switching import fleet

    cfg = LoraConfig(task_type=TaskType.FEATURE_EXTRACTION, r=4, lora_alpha=8)
    base = AutoModel.from_pretrained(tiny_bert_dir).eval()
    names = ["task1", "task2", "task3"]
    by_peft = get_peft_model(fleet._copy(base, share_linear=False), cfg, adapter_name="task0")
    for name in names:
        by_peft.add_adapter(name, cfg)
    fast = get_peft_model(fleet._copy(base, share_linear=False), cfg, adapter_name="task0")
    fleet._add_adapters(fast, names)
    a, b = by_peft.state_dict(), fast.state_dict()
    assert a.keys() == b.keys() and all(a[k].shape == b[k].shape for k in a)
    assert by_peft.peft_config.keys() == fast.peft_config.keys() and fast.active_adapter == "task0"
    torch.manual_seed(0)
    for k in a:
        if "lora_" in k:
            a[k].normal_()
    fast.load_state_dict(a)
    by_peft.eval(), fast.eval()
    tasks = ["task0", "task1", "task2", "task3"] * 2
    with torch.no_grad():
        mixed = [m(input_ids=probe, adapter_names=tasks).last_hidden_state for m in (by_peft, fast)]
        assert torch.allclose(mixed[0], mixed[1])
        for m in (by_peft, fast):
            m.set_adapter("task2")
            m.base_model.merge_adapter()
        merged = [m(input_ids=probe).last_hidden_state for m in (by_peft, fast)]
        assert torch.allclose(merged[0], merged[1], atol=1e-5) and not torch.allclose(merged[0], mixed[0])
