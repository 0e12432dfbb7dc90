"""What `switch` and `serve` share around their strategies: the backbone on its device with the provenance
every row carries, the base model's speed probe (the machine's drift over a sweep), one fleet per setting
whose failure to build fails its rows rather than the sweep, and a strategy that raises as a row.

A strategy that raises (or runs out of memory) becomes a `failed` (or `oom`) row with its error, through the
same rule as a run's (bench/execute/run.py failure); the sweep goes on with the other strategies and
settings. `Unsupported` still makes an `unsupported` row.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from bench.execute.device import resolve_device
from bench.execute.run import failure, quiet_libraries
from bench.measure import environment, machine
from bench.measure.timing import sync
from bench.rows.fields import new_run_id, stamp
from bench.switching import fleet as fleets


@dataclass
class Session:
    device: torch.device
    base: torch.nn.Module  # the backbone (hidden states out)
    spec: object  # its catalog entry (models.resolve)
    prov: dict  # what every row of the command carries: schema, kind, time, git state, machine, settings
    vocab: int

    @property
    def weights(self) -> str:
        return "random" if self.spec.shape else "pretrained"  # shape-only models: speed, never accuracy


def open_session(kind: str, cfg, settings: dict) -> Session:
    """The command's backbone on its device (cfg.device, cfg.model) and its rows' provenance; `settings`:
    the command's options as its rows record them ({"sweep": ...} or {"serve": ...})."""
    device = torch.device(resolve_device(cfg.device))
    quiet_libraries()
    base, spec = fleets.load_backbone(cfg.model.name, cfg.model.layers, cfg.model.dtype, device)
    prov = {
        **stamp(kind, device.type),  # run_id: one per row, drawn as each is built
        "suite": cfg.name,
        "env": environment.environment(device),
        **settings,
    }
    return Session(device, base, spec, prov, vocab=base.get_input_embeddings().weight.shape[0])


def speed_probe(model, ids: torch.Tensor, device: torch.device):
    """(machine.SpeedProbe, the work it times): the base model on a few fixed requests, measured as a sweep
    goes so its rows carry the machine's drift (base_drift_pct)."""

    @torch.inference_mode()
    def work():
        model(input_ids=ids, attention_mask=torch.ones_like(ids))
        sync(device)

    return machine.SpeedProbe(), work


def build_fleet(base, n: int, device, **kw):
    """(the fleet, None), or (None, (status, error)) when building it raised: its rows fail, the sweep goes on."""
    try:
        return fleets.build(base, n, device, **kw), None
    except Exception as e:  # noqa: BLE001 - a fleet that cannot be built fails its settings' rows
        return None, failure(e)


def attempt(fn, *args, **kw):
    """(fn's value, None), or (None, (status, error)) when it raised: one strategy's failure, kept as its row."""
    try:
        return fn(*args, **kw), None
    except Exception as e:  # noqa: BLE001 - a strategy that raises is a row, the others go on
        return None, failure(e)


def failed_row(prov: dict, setting: dict, problem: tuple[str, str]) -> dict:
    """The row of a strategy (on one setting) that did not finish: its setting, status and error."""
    status, error = problem
    return {**prov, "run_id": new_run_id(), **setting, "status": status, "error": error}
