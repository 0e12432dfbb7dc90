"""Methods by name: PEFT adapters (lora, prompt_tuning) and baselines (head_only, full, zero_shot).

Each method has a frozen dataclass of hyperparameters (overridable as params.<method>.<key>)
and a default learning rate with its source. A path to a PEFT `adapter_config.json` (or its
folder) is also a method: its PEFT type picks the default learning rate.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.config import update_dataclass
from bench.errors import BenchError, Unsupported, choices


@dataclass(frozen=True)
class LoraParams:
    r: int = 8
    alpha: int = 16
    dropout: float = 0.0
    target_modules: tuple[str, ...] = ()  # empty: PEFT's default for the architecture (query/value, q_proj/v_proj)
    use_dora: bool = False
    use_rslora: bool = False  # scale the update by alpha / sqrt(r) instead of alpha / r (Kalajdzievski 2023)
    # 3e-3: measured on MiniLM/rotten_tomatoes, 2,000 snippets, batch 32: a minimal loop gave 0.767 at 3e-3
    # vs 0.60 at 1e-3; this loop (warm-up + linear decay), one pass: 0.717 at 3e-3, 0.724 at 6e-3, 0.732 at
    # 1e-2; two passes at 3e-3: 0.760 (the quick suite). The LoRA paper's 4e-4..5e-4 (RoBERTa, GLUE)
    # assumes 10-80 epochs; a budget of one or two passes needs more.
    lr: float = 3e-3


@dataclass(frozen=True)
class PromptTuningParams:
    num_virtual_tokens: int = 20
    init: str = "text"  # "text": from the task's description (Lester et al. 2021, sec. 3.2); "random"
    init_text: str = ""  # empty: the task description
    # 3e-2: PEFT's prompt-tuning examples use 3e-2 with AdamW; Lester et al. use 0.3 with Adafactor
    # over 30k steps. Prompt tuning needs a learning rate ~10x LoRA's (PEFT method comparison).
    lr: float = 3e-2


@dataclass(frozen=True)
class PrefixTuningParams:
    num_virtual_tokens: int = 20
    # Li & Liang's reparameterisation: prefixes from an MLP over an embedding (PEFT's prefix_projection),
    # off by default as in PEFT; direct prefixes start random and can knock a causal LM off its zero-shot
    # answer (measured: SmolLM2 / rotten_tomatoes fell to the majority class at 1e-2)
    projection: bool = False
    # 1e-2: PEFT's prefix-tuning examples (AdamW 1e-2); Li & Liang (2021) use 5e-5..8e-5 with a
    # reparameterisation MLP over many epochs.
    lr: float = 1e-2


@dataclass(frozen=True)
class PTuningParams:
    num_virtual_tokens: int = 20
    encoder_hidden_size: int = 128  # the prompt encoder's MLP width
    # 1e-2: PEFT's P-tuning examples use 1e-3 for 20+ epochs; a one- or two-pass budget needs more,
    # as prompt tuning does (Liu et al. 2021 train the prompt encoder at 1e-5..1e-3 for far longer).
    lr: float = 1e-2


@dataclass(frozen=True)
class IA3Params:
    # 3e-3: the (IA)^3 paper (Liu et al. 2022, T-Few) trains its rescaling vectors at 3e-3.
    lr: float = 3e-3


@dataclass(frozen=True)
class HeadOnlyParams:
    # 1e-2: a linear probe on frozen features converges fast at a high rate (measured 0.63 on
    # rotten_tomatoes in one pass; 1e-3 underfits in one epoch).
    lr: float = 1e-2


@dataclass(frozen=True)
class FullParams:
    # 5e-5: BERT paper's fine-tuning grid {2e-5, 3e-5, 5e-5}, top value for a one-epoch budget.
    lr: float = 5e-5


@dataclass(frozen=True)
class ZeroShotParams:
    lr: float = 0.0  # no training: label-word scoring with the pretrained LM (causal models)


@dataclass(frozen=True)
class AdapterConfigParams:
    adapter_config: str = ""
    lr: float = 0.0  # 0: the default of the matching built-in method


@dataclass(frozen=True)
class Method:
    name: str
    params_cls: type
    build: Callable  # (model, params, ctx) -> model with the right parameters trainable
    lr_source: str
    peft: bool = True


@dataclass(frozen=True)
class BuildContext:
    kind: str  # encoder | causal
    task_text: str  # prompt-tuning text initialisation
    tokenizer_path: str


METHODS: dict[str, Method] = {}


def register(name: str, params_cls: type, lr_source: str, peft: bool = True):
    def wrap(fn):
        METHODS[name] = Method(name, params_cls, fn, lr_source, peft)
        return fn

    return wrap


def _task_type(ctx: BuildContext):
    from peft import TaskType

    return TaskType.CAUSAL_LM if ctx.kind == "causal" else TaskType.SEQ_CLS


@register("lora", LoraParams, "measured one-pass sweep on MiniLM/rotten_tomatoes (see LoraParams)")
def build_lora(model, p: LoraParams, ctx: BuildContext):
    from peft import LoraConfig, get_peft_model

    cfg = LoraConfig(
        task_type=_task_type(ctx),
        r=p.r,
        lora_alpha=p.alpha,
        lora_dropout=p.dropout,
        target_modules=list(p.target_modules) or None,
        use_dora=p.use_dora,
        use_rslora=p.use_rslora,
    )
    return get_peft_model(model, cfg)


@register("prompt_tuning", PromptTuningParams, "PEFT prompt-tuning examples, AdamW 3e-2 (see PromptTuningParams)")
def build_prompt_tuning(model, p: PromptTuningParams, ctx: BuildContext):
    from peft import PromptTuningConfig, PromptTuningInit, get_peft_model

    if p.init not in ("text", "random"):
        raise BenchError(f"params.prompt_tuning.init: {p.init!r}; valid values: random, text")
    kwargs = {}
    if p.init == "text":
        kwargs = dict(
            prompt_tuning_init=PromptTuningInit.TEXT,
            prompt_tuning_init_text=p.init_text or ctx.task_text,
            tokenizer_name_or_path=ctx.tokenizer_path,
        )
    cfg = PromptTuningConfig(task_type=_task_type(ctx), num_virtual_tokens=p.num_virtual_tokens, **kwargs)
    return get_peft_model(model, cfg)


@dataclass(frozen=True)
class DoraParams(LoraParams):
    use_dora: bool = True  # rows and `bench list` show the setting the run really used


@register("dora", DoraParams, "as lora (DoRA shares LoRA's rank and rate; Liu et al. 2024 use LoRA's settings)")
def build_dora(model, p: DoraParams, ctx: BuildContext):
    """LoRA with weight-decomposed magnitude: lora's parameters plus one magnitude vector per layer."""
    return build_lora(model, p, ctx)


@register("prefix_tuning", PrefixTuningParams, "PEFT prefix-tuning examples, AdamW 1e-2 (see PrefixTuningParams)")
def build_prefix_tuning(model, p: PrefixTuningParams, ctx: BuildContext):
    from peft import PrefixTuningConfig

    cfg = PrefixTuningConfig(
        task_type=_task_type(ctx), num_virtual_tokens=p.num_virtual_tokens, prefix_projection=p.projection
    )
    return _peft_or_unsupported(model, cfg, "prefix_tuning")


@register("p_tuning", PTuningParams, "PEFT P-tuning examples, raised for a short budget (see PTuningParams)")
def build_p_tuning(model, p: PTuningParams, ctx: BuildContext):
    from peft import PromptEncoderConfig

    cfg = PromptEncoderConfig(
        task_type=_task_type(ctx), num_virtual_tokens=p.num_virtual_tokens, encoder_hidden_size=p.encoder_hidden_size
    )
    return _peft_or_unsupported(model, cfg, "p_tuning")


@register("ia3", IA3Params, "(IA)^3 paper, 3e-3 (see IA3Params)")
def build_ia3(model, p: IA3Params, ctx: BuildContext):
    from peft import IA3Config

    return _peft_or_unsupported(model, IA3Config(task_type=_task_type(ctx)), "ia3")


def _peft_or_unsupported(model, cfg, name: str):
    """PEFT refuses some (method, architecture) pairs with a ValueError: that is an `unsupported` row."""
    import torch
    from peft import get_peft_model

    try:
        peft_model = get_peft_model(model, cfg)
        if cfg.is_prompt_learning:  # some refusals only come at the first forward (e.g. no past key values)
            probe = torch.ones((1, 2), dtype=torch.long, device=next(peft_model.parameters()).device)
            with torch.no_grad():
                peft_model(input_ids=probe, attention_mask=torch.ones_like(probe))
        return peft_model
    except (ValueError, NotImplementedError, KeyError) as e:
        raise Unsupported(f"{name} on {type(model).__name__}: {str(e).splitlines()[0][:200]}") from None


@register("head_only", HeadOnlyParams, "linear-probe practice, 1e-2 (see HeadOnlyParams)", peft=False)
def build_head_only(model, p: HeadOnlyParams, ctx: BuildContext):
    if ctx.kind == "causal":
        raise Unsupported(
            "head_only trains a classifier head; a causal LM scores label words with its shared "
            "LM head (use zero_shot as the untrained baseline)"
        )
    prefix = model.base_model_prefix + "."
    for name, param in model.named_parameters():
        param.requires_grad = not name.startswith(prefix)
    return model


@register("full", FullParams, "BERT paper fine-tuning grid, 5e-5 (see FullParams)", peft=False)
def build_full(model, p: FullParams, ctx: BuildContext):
    for param in model.parameters():
        param.requires_grad = True
    return model


@register("zero_shot", ZeroShotParams, "no training", peft=False)
def build_zero_shot(model, p: ZeroShotParams, ctx: BuildContext):
    for param in model.parameters():
        param.requires_grad = False
    return model


def _default_lr_for(peft_type: str) -> float:
    return {"LORA": LoraParams.lr, "PROMPT_TUNING": PromptTuningParams.lr}.get(peft_type, LoraParams.lr)


def build_from_adapter_config(model, p: AdapterConfigParams, ctx: BuildContext):
    from peft import get_peft_model

    return get_peft_model(model, read_adapter_config(p.adapter_config))


def read_adapter_config(path: str):
    from peft import PeftConfig

    file = Path(path)
    if file.is_dir():
        file = file / "adapter_config.json"
    try:
        data = json.loads(file.read_text())
    except OSError as e:
        raise BenchError(f"cannot read adapter config {file}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise BenchError(f"malformed adapter config {file}: not UTF-8 text") from None
    except json.JSONDecodeError as e:
        raise BenchError(f"malformed adapter config {file}: {e.msg} (line {e.lineno})") from None
    except (ValueError, RecursionError) as e:  # an integer past the digit limit, nesting past the stack
        raise BenchError(f"malformed adapter config {file}: {str(e).split(';')[0] or 'nested too deeply'}") from None
    if not isinstance(data, dict) or "peft_type" not in data:
        raise BenchError(f"malformed adapter config {file}: no peft_type")
    try:
        return PeftConfig.from_peft_type(**data)
    except (ValueError, TypeError, KeyError) as e:
        raise BenchError(f"malformed adapter config {file}: {str(e).splitlines()[0]}") from None


def is_adapter_config(name: str) -> bool:
    p = Path(name)
    return p.name.endswith(".json") or (p.is_dir() and (p / "adapter_config.json").is_file())


def resolve(name: str, overrides: dict, key_prefix: str = "") -> tuple[Method, object]:
    """(method, params) for a method name or an adapter_config.json path; params type-checked (errors
    name keys as `key_prefix` + key; default params.<name>.)."""
    if is_adapter_config(name):
        cfg = read_adapter_config(name)
        peft_type = str(getattr(cfg.peft_type, "value", cfg.peft_type))
        params = AdapterConfigParams(adapter_config=str(name), lr=_default_lr_for(peft_type))
        method = Method(name, AdapterConfigParams, build_from_adapter_config, f"default for {peft_type}")
        return method, update_dataclass(params, overrides, key_prefix or f"params.{name}.")
    if name not in METHODS:
        raise BenchError(
            f"unknown method {name!r}; valid methods: {choices(METHODS)} (or a path to an adapter_config.json)"
        )
    method = METHODS[name]
    return method, update_dataclass(method.params_cls(), overrides, key_prefix or f"params.{name}.")


def params_dict(params) -> dict:
    return dataclasses.asdict(params)
