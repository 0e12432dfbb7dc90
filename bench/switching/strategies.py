"""Each switching strategy serves a request stream; every batch and every swap is timed (wall
clock between device synchronisations, so GPU work is included).

One adapter at a time (`merge_swap`, `set_adapter`, `hotswap`, `hotswap_compiled`, `load_cold`,
`load_warm`, `prompt_swap`): batches are consecutive requests of one task and a swap precedes
each change of task. Mixed (`peft_mixed_batch`, `gathered_lora`, `mixed_prompt_batch`) and
`base`: batches are consecutive requests whatever their task, never a swap.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from bench.errors import Unsupported
from bench.measure.timing import timed
from bench.options import STRATEGIES
from bench.switching import gathered, prompts
from bench.switching.fleet import Fleet, adapter_name
from bench.switching.workload import homogeneous_batches, mixed_batches


@dataclass
class Served:
    total_ms: float = 0.0
    batch_ms: list[float] = field(default_factory=list)
    batch_sizes: list[int] = field(default_factory=list)
    switch_ms: list[float] = field(default_factory=list)


class Server:
    """A strategy bound to a fleet: `swap(task)` (one-at-a-time only) and `forward(ids, tasks)`."""

    mixed = False
    needs: tuple[str, ...] = ()  # the fleet's forms it serves from (fleet.FORMS)

    def __init__(self, fleet: Fleet):
        self.fleet = fleet
        self.current: int | None = None

    def prepare(self) -> None:
        self.current = None

    def swap(self, task: int) -> None:  # pragma: no cover - overridden
        pass

    def forward(self, ids: torch.Tensor, tasks: torch.Tensor):  # pragma: no cover - overridden
        raise NotImplementedError

    def finish(self) -> None:
        pass

    def resident_bytes(self) -> int:
        return 0

    def extra_tokens_per_request(self) -> int:
        return 0


def _mask(ids: torch.Tensor) -> torch.Tensor:
    return torch.ones_like(ids)


class Base(Server):
    mixed = True

    def forward(self, ids, tasks):
        return self.fleet.plain(input_ids=ids, attention_mask=_mask(ids))


class MergeSwap(Server):
    """W = W0 + s·BA merged for the active task; a swap unmerges the old adapter and merges the new."""

    needs = ("multi",)

    def swap(self, task):
        m = self.fleet.multi
        if self.current is not None:
            m.base_model.unmerge_adapter()
        m.set_adapter(adapter_name(task))
        m.base_model.merge_adapter()
        self.current = task

    def forward(self, ids, tasks):
        return self.fleet.multi(input_ids=ids, attention_mask=_mask(ids))

    def finish(self):
        if self.current is not None:
            self.fleet.multi.base_model.unmerge_adapter()
        self.current = None

    def resident_bytes(self):
        return self.fleet.n * self.fleet.adapter_bytes


class SetAdapter(MergeSwap):
    """Adapters stay unmerged; a swap only changes which one is active."""

    def swap(self, task):
        self.fleet.multi.set_adapter(adapter_name(task))
        self.current = task

    def finish(self):
        self.current = None


class LoadWarm(Server):
    """One LoRA slot; a swap copies the next adapter in from CPU memory."""

    def swap(self, task):
        from peft import set_peft_model_state_dict

        set_peft_model_state_dict(self.fleet.single, self.fleet.lora_states[task])
        self.current = task

    def forward(self, ids, tasks):
        return self.fleet.single(input_ids=ids, attention_mask=_mask(ids))

    def resident_bytes(self):
        return self.fleet.adapter_bytes  # on the device; the N copies wait in host memory


class LoadCold(LoadWarm):
    """One LoRA slot; a swap reads the adapter's safetensors file from disk (the OS page cache
    may hold it: this is a read from the file system, not from a cold drive)."""

    needs = ("files",)

    def swap(self, task):
        from peft import set_peft_model_state_dict
        from safetensors.torch import load_file

        set_peft_model_state_dict(
            self.fleet.single, load_file(str(self.fleet.lora_dirs[task] / "adapter_model.safetensors"))
        )
        self.current = task


class Hotswap(LoadWarm):
    """PEFT's hotswap_adapter: replaces the slot's weights in place from a saved adapter folder."""

    needs = ("files",)

    def swap(self, task):
        from peft.utils.hotswap import hotswap_adapter

        hotswap_adapter(
            self.fleet.single,
            str(self.fleet.lora_dirs[task]),
            adapter_name="default",
            torch_device=str(self.fleet.device),
        )
        self.current = task


class HotswapCompiled(Hotswap):
    """hotswap into a torch.compile'd model (PEFT's prepare_model_for_compiled_hotswap): no recompile."""

    def __init__(self, fleet):
        super().__init__(fleet)
        self.compiled = None

    def prepare(self):
        super().prepare()
        if self.compiled is None:
            try:
                from peft.utils.hotswap import prepare_model_for_compiled_hotswap

                prepare_model_for_compiled_hotswap(self.fleet.single, target_rank=self.fleet.rank)
                self.compiled = torch.compile(self.fleet.single, dynamic=True)  # batch sizes vary: no recompiles
                with torch.inference_mode():  # compile now, for 1 row and for any other shape, not mid-stream
                    for shape in ((1, 8), (2, 8), (3, 9)):
                        probe = torch.zeros(shape, dtype=torch.long, device=self.fleet.device)
                        self.compiled(input_ids=probe, attention_mask=_mask(probe))
            except Exception as e:  # noqa: BLE001 - any compile failure makes the row unsupported
                raise Unsupported(
                    f"torch.compile failed here: {type(e).__name__}: {str(e).splitlines()[0][:200]}"
                ) from None

    def forward(self, ids, tasks):
        return self.compiled(input_ids=ids, attention_mask=_mask(ids))


class PeftMixedBatch(MergeSwap):
    """PEFT's mixed-adapter batch: forward(adapter_names=[...]) runs each adapter on its rows."""

    mixed = True

    def forward(self, ids, tasks):
        names = [adapter_name(int(t)) for t in tasks.tolist()]
        return self.fleet.multi(input_ids=ids, attention_mask=_mask(ids), adapter_names=names)


class GatheredLora(Server):
    mixed = True
    needs = ("gathered",)

    def forward(self, ids, tasks):
        with gathered.use_adapters(self.fleet.selection, tasks):
            return self.fleet.gathered(input_ids=ids, attention_mask=_mask(ids))

    def resident_bytes(self):
        return gathered.resident_bytes(self.fleet.gathered)


class PromptSwap(Server):
    """PEFT prompt tuning with one soft-prompt slot; a swap copies the next task's prompt in."""

    needs = ("prompt",)

    def swap(self, task):
        with torch.no_grad():
            self.fleet.prompt.prompt_encoder["default"].embedding.weight.copy_(self.fleet.prompt_table[task])
        self.current = task

    def forward(self, ids, tasks):
        return self.fleet.prompt(input_ids=ids, attention_mask=_mask(ids))

    def resident_bytes(self):
        return self.fleet.n * self.fleet.prompt_bytes

    def extra_tokens_per_request(self):
        return self.fleet.virtual_tokens


class MixedPromptBatch(PromptSwap):
    mixed = True
    needs = ()  # the base model and the table of prompts

    def forward(self, ids, tasks):
        return prompts.forward_mixed(self.fleet.plain, ids, self.fleet.prompt_table, tasks)


SERVERS = {
    "base": Base,
    "merge_swap": MergeSwap,
    "set_adapter": SetAdapter,
    "hotswap": Hotswap,
    "hotswap_compiled": HotswapCompiled,
    "load_cold": LoadCold,
    "load_warm": LoadWarm,
    "peft_mixed_batch": PeftMixedBatch,
    "gathered_lora": GatheredLora,
    "prompt_swap": PromptSwap,
    "mixed_prompt_batch": MixedPromptBatch,
}
assert set(SERVERS) == set(STRATEGIES)


def forms_for(strategies) -> tuple[str, ...]:
    """The fleet forms the named strategies serve from (build only those: N = 1,024 PEFT adapters take minutes)."""
    return tuple(sorted({f for s in strategies for f in SERVERS[s].needs}))


@torch.inference_mode()
def serve(server: Server, inputs: torch.Tensor, tasks: list[int], batch_size: int) -> Served:
    """Serve the whole stream once. inputs: [n_requests, tokens] on the fleet's device."""
    device = server.fleet.device
    out = Served()
    task_t = torch.tensor(tasks, device=device)
    server.prepare()
    try:
        if server.mixed:
            plan = [(None, idx) for idx in mixed_batches(tasks, batch_size)]
        else:
            plan = homogeneous_batches(tasks, batch_size)
        for task, idx in plan:
            if task is not None and task != server.current:
                out.switch_ms.append(timed(lambda: server.swap(task), device))
            sel = torch.tensor(idx, device=device)
            ids, row_tasks = inputs.index_select(0, sel), task_t.index_select(0, sel)
            out.batch_ms.append(timed(lambda: server.forward(ids, row_tasks), device))
            out.batch_sizes.append(len(idx))
    finally:
        server.finish()
    out.total_ms = sum(out.batch_ms) + sum(out.switch_ms)
    return out
