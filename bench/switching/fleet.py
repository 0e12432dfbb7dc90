"""N task adapters on one base model, in every form the switching strategies serve them:

- `multi`: one PEFT model holding all N LoRA adapters (merge-swap, set_adapter, PEFT mixed batches);
- `single`: a PEFT model with one LoRA slot that adapters are swapped into (hotswap, loads);
- `gathered`: the base model with all adapters stacked for gathered mixed-batch LoRA;
- `plain`: the base model alone (the `base` strategy and mixed soft-prompt batches);
- `prompt`: a PEFT prompt-tuning model with one soft-prompt slot (prompt swap);
- per adapter: a saved PEFT folder (disk) and a state dict in CPU memory.

Trained adapters and soft prompts of earlier runs fill the first slots where they exist; the rest
are freshly initialised with non-zero A and B (a zero B would make every adapter the base model),
seeded so that a sweep is reproducible.
"""

from __future__ import annotations

import copy
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch

from bench.catalog import models, shapes
from bench.errors import BenchError
from bench.switching import gathered as gathered_lora


@dataclass
class Fleet:
    n: int
    device: torch.device
    rank: int
    virtual_tokens: int
    plain: torch.nn.Module
    multi: torch.nn.Module
    single: torch.nn.Module
    gathered: torch.nn.Module
    selection: object
    prompt: torch.nn.Module
    prompt_table: torch.Tensor  # [N, virtual, hidden]
    lora_states: list[dict] = field(default_factory=list)  # CPU copies, for warm loads
    lora_dirs: list[Path] = field(default_factory=list)  # saved PEFT folders, for cold loads and hotswap
    adapter_bytes: int = 0  # one LoRA adapter's tensors
    prompt_bytes: int = 0  # one soft prompt
    workdir: tempfile.TemporaryDirectory | None = None
    trained_lora: int = 0  # slots holding adapters trained by earlier runs (the first ones)
    trained_prompts: int = 0

    def names(self) -> list[str]:
        return [adapter_name(i) for i in range(self.n)]

    def close(self) -> None:
        if self.workdir is not None:
            self.workdir.cleanup()


def adapter_name(i: int) -> str:
    return f"task{i}"


ALPHA_PER_RANK = 2  # every fleet adapter has alpha = 2r: the update is scaled by 2 (trained ones are rescaled to it)


FORMS = ("multi", "gathered", "prompt", "files")  # what build() makes on demand (the one-slot model: always)
PEFT_PREFIX = "base_model.model."  # what PEFT puts before a layer's name


def build(
    base: torch.nn.Module,
    n: int,
    device: torch.device,
    rank: int = 8,
    virtual_tokens: int = 20,
    target_modules: list[str] | None = None,
    seed: int = 0,
    trained=None,
    forms: tuple[str, ...] = FORMS,
) -> Fleet:
    """`trained` (switching.trained.Trained): adapters and prompts of earlier runs take the first slots;
    the rest are freshly initialised. `forms`: the forms to build (FORMS; the strategies' `needs`); the
    weights are the same whichever are built. The one-slot PEFT model is always built: it names the layers."""
    from peft import LoraConfig, PromptTuningConfig, TaskType, get_peft_model

    unknown = set(forms) - set(FORMS)
    if unknown:
        raise ValueError(f"unknown fleet forms {sorted(unknown)}; valid: {FORMS}")
    gen = torch.Generator().manual_seed(seed)
    base = plain = base.eval()
    lora_cfg = LoraConfig(
        task_type=TaskType.FEATURE_EXTRACTION, r=rank, lora_alpha=ALPHA_PER_RANK * rank, target_modules=target_modules
    )
    single = get_peft_model(_copy(base, share_linear=True), lora_cfg, adapter_name="default")
    layers, scaling = _lora_layers(single)
    adapters = _draw_adapters(layers, n, gen, list(trained.lora) if trained is not None else [])

    multi = _multi(base, lora_cfg, adapters) if "multi" in forms else None
    gathered = selection = None
    if "gathered" in forms:
        gathered, selection = _gathered(base, layers, adapters, scaling)
    states = [
        {f"{PEFT_PREFIX}{name}.lora_{ab}.weight": t for name, (a, b) in ad.items() for ab, t in (("A", a), ("B", b))}
        for ad in adapters
    ]
    adapter_bytes = sum(t.numel() * t.element_size() for t in states[0].values())
    workdir, dirs = None, []
    if "files" in forms:
        workdir = tempfile.TemporaryDirectory(prefix="adapter-bench-fleet-")
        for i, sd in enumerate(states):
            dirs.append(Path(workdir.name) / adapter_name(i))
            _save_adapter(dirs[-1], sd, single.peft_config["default"])

    prompt_table, trained_prompts = _prompt_table(base, n, virtual_tokens, gen, trained)
    prompt = None
    if "prompt" in forms:
        prompt = get_peft_model(
            plain, PromptTuningConfig(task_type=TaskType.FEATURE_EXTRACTION, num_virtual_tokens=virtual_tokens)
        )
    fleet = Fleet(
        n=n,
        device=device,
        rank=rank,
        virtual_tokens=virtual_tokens,
        plain=plain,
        multi=multi,
        single=single,
        gathered=gathered,
        selection=selection,
        prompt=prompt,
        prompt_table=prompt_table,
        lora_states=states,
        lora_dirs=dirs,
        adapter_bytes=adapter_bytes,
        prompt_bytes=prompt_table[0].numel() * prompt_table.element_size(),
        workdir=workdir,
        trained_lora=min(n, len(trained.lora) if trained is not None else 0),
        trained_prompts=trained_prompts,
    )
    for m in (fleet.multi, fleet.single, fleet.gathered, fleet.prompt):
        if m is not None:
            m.to(device).eval()
    fleet.prompt_table = fleet.prompt_table.to(device)
    return fleet


def _multi(base: torch.nn.Module, lora_cfg, adapters: list[dict]):
    """One PEFT model holding every adapter (task0 .. taskN-1), their weights copied in."""
    from peft import get_peft_model

    n = len(adapters)
    multi = get_peft_model(_copy(base, share_linear=False), lora_cfg, adapter_name=adapter_name(0))
    _add_adapters(multi, [adapter_name(i) for i in range(1, n)])
    for name, m in _lora_layers(multi)[0].items():
        with torch.no_grad():
            for i in range(n):
                m.lora_A[adapter_name(i)].weight.copy_(adapters[i][name][0])
                m.lora_B[adapter_name(i)].weight.copy_(adapters[i][name][1])
    return multi


def _gathered(base: torch.nn.Module, layers: dict, adapters: list[dict], scaling: float):
    """The base model with every adapter stacked per layer for gathered LoRA: (model, its adapter selection)."""
    weights = {
        name: (torch.stack([a[name][0] for a in adapters]), torch.stack([a[name][1] for a in adapters]), scaling)
        for name in layers
    }
    gathered = _copy(base, share_linear=True)
    return gathered, gathered_lora.install(gathered, weights)


def _prompt_table(base: torch.nn.Module, n: int, virtual_tokens: int, gen: torch.Generator, trained):
    """N soft prompts [N, virtual, hidden], trained ones of earlier runs first: (table, how many were trained)."""
    hidden = base.get_input_embeddings().weight
    token_ids = torch.randint(0, hidden.shape[0], (n, virtual_tokens), generator=gen)
    prompt_table = hidden.detach()[token_ids].clone()  # initialised from vocabulary embeddings, as PEFT's text init
    prompt_table += torch.randn(prompt_table.shape, generator=gen) * 0.02
    trained_prompts = 0
    for i, p in enumerate((trained.prompts if trained is not None else [])[:n]):
        if p.shape == prompt_table[i].shape:
            prompt_table[i] = p
            trained_prompts += 1
    return prompt_table, trained_prompts


def _add_adapters(model, names: list[str]) -> None:
    """PEFT's add_adapter for many adapters of the first one's config, in time linear in their number: each LoRA
    layer is extended as add_adapter extends it (LoraLayer.update_layer), without add_adapter's walk over every
    module per adapter (quadratic: 1,024 adapters took many minutes)."""
    first = model.active_adapter
    cfg = model.peft_config[first]
    for key, m in _lora_layers(model)[0].items():
        for name in names:
            m.update_layer(name, cfg.r, lora_alpha=cfg.lora_alpha, target_name=key, config=cfg)
    for name in names:
        model.peft_config[name] = copy.deepcopy(cfg)
    model.set_adapter(first)


def _lora_layers(model) -> tuple[dict, float]:
    """{layer name without PEFT's prefix: LoRA layer} in module order, and the adapters' scaling."""
    from peft.tuners.lora import LoraLayer

    layers = {n.removeprefix(PEFT_PREFIX): m for n, m in model.named_modules() if isinstance(m, LoraLayer)}
    first = next(iter(layers.values()))
    return layers, float(next(iter(first.scaling.values())))


def _draw_adapters(layers: dict, n: int, gen: torch.Generator, trained: list[dict]) -> list[dict]:
    """Each adapter's {layer: (A, B)}: a trained adapter's tensors where one fits the slot, else random with a
    non-zero B (drawn adapter by adapter, layer by layer, A then B: the order fixes the weights for a seed)."""
    out = []
    for i in range(n):
        source = trained[i] if i < len(trained) else None
        ad = {}
        for name, m in layers.items():
            w_a, w_b = m.lora_A["default"].weight, m.lora_B["default"].weight
            if source is not None and name in source and source[name][0].shape == w_a.shape:
                a, b = source[name]
            else:
                a = torch.randn(w_a.shape, generator=gen) / w_a.shape[1] ** 0.5
                b = torch.randn(w_b.shape, generator=gen) * 0.02
            ad[name] = (a.detach().to("cpu", w_a.dtype, copy=True), b.detach().to("cpu", w_b.dtype, copy=True))
        out.append(ad)
    return out


def _copy(base: torch.nn.Module, share_linear: bool) -> torch.nn.Module:
    """A copy of the base model that shares the tensors no strategy writes: embeddings and norms always,
    the linear layers too where nothing merges into them (only `multi` merges). A shape-only model's
    embedding (128k x 2048 for Llama-3.2-1B) is then held once, not four times."""
    memo = {}
    for module in base.modules():
        if share_linear or not isinstance(module, torch.nn.Linear):
            for t in (*module.parameters(recurse=False), *module.buffers(recurse=False)):
                memo[id(t)] = t
    return copy.deepcopy(base, memo)


def _save_adapter(folder: Path, state: dict, config) -> None:
    """A PEFT adapter folder (adapter_config.json + adapter_model.safetensors), as save_pretrained writes."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    config.save_pretrained(str(folder))
    save_file({k: v.contiguous() for k, v in state.items()}, str(folder / "adapter_model.safetensors"))


def load_backbone(model_name: str, layers: int = 0, dtype: str = "fp32", device="cpu"):
    """The base model without a task head (hidden states out), fp32 (a shape-only model: random weights,
    its first `layers` layers, in `dtype`), and its spec."""
    from transformers import AutoModel

    spec = models.resolve(model_name)
    if spec.shape:
        return shapes.build(spec.shape, layers=layers, dtype=dtype, device=device), spec
    if layers or dtype != "fp32":
        raise BenchError(f"model.layers and dtype apply to shape-only models (shape:<name>), not {model_name!r}")
    path = models.local_path(spec)
    model = AutoModel.from_pretrained(path, dtype=torch.float32)
    return model.eval(), spec
