"""Every field a result row carries, with its JSON type, whether every new row has it, and what it means; and
the provenance stamp every new row starts with.

RUN_FIELDS: a `run` row (bench/execute/run.py); SWITCH_FIELDS: a `switch` row (bench/switching/sweep.py).
Metrics are fields too: RUN_FIELDS takes them from the metric table (bench/rows/schema.py), declared there
once. A type is JSON's, in Python's names: str, int, float, bool, list, dict; `|null` when it may be null.
`required`: every new row of the kind has it, whatever its status (a failed run stops early, so most fields
are in ok rows only, and some only for one kind of task or method). Nested values (budget, env, gates, ...)
are described here, not typed field by field.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

from bench import __version__
from bench.measure import environment
from bench.rows.schema import KINDS, METRICS, SCHEMA_VERSION, kind_of

_JSON = {"str": str, "int": int, "float": float, "bool": bool, "list": list, "dict": dict, "null": type(None)}


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # "float", "str|null", ...: JSON types in Python's names, "|"-separated
    required: bool  # every new row of its kind has it
    description: str
    metric: bool = False  # declared in the metric table (direction, unit, display: bench/rows/schema.py)

    def __post_init__(self):
        unknown = [t for t in self.type.split("|") if t not in _JSON]
        if unknown:
            raise ValueError(f"field {self.name}: unknown type {unknown[0]!r}; valid: {', '.join(_JSON)}")

    def accepts(self, value) -> bool:
        """The value is of a declared type (a bool is no int, an int no float)."""
        return any(type(value) is _JSON[t] for t in self.type.split("|"))


def _table(text: str) -> dict[str, Field]:
    """Lines of `name  type  yes|no  description` -> fields by name."""
    out = {}
    for line in text.strip().splitlines():
        name, typ, required, description = line.split(None, 3)
        if required not in ("yes", "no") or name in out:
            raise ValueError(f"field table: bad line {line!r}")
        out[name] = Field(name, typ, required == "yes", description)
    return out


# What every new row starts with (stamp()); the first fields of both kinds of row.
PROVENANCE = _table("""
schema_version  int        yes  the row layout's version (bench/rows/schema.py SCHEMA_VERSION); compare refuses to mix versions
kind            str        yes  "run" (one method on one task), "switch" (one workload and strategy of the switching sweep) or "serve" (one strategy and N under load)
run_id          str        yes  16 hex characters, new for every row; names a kept adapter's folder
created_at      str        yes  when the row was begun (the sweep, for switch rows): ISO 8601, UTC, to the second
git_sha         str        yes  the commit of the code that ran ("unknown" outside a git checkout)
git_dirty       bool|null  yes  tracked files other than results/ differed from that commit; null: git could not tell
machine_id      str        yes  12 hex characters, stable per machine: the hashed machine id (or host name) and CPU model
machine_class   str        yes  the kind of machine baselines are kept per: device kind, CPU or GPU model, core or GPU count
bench_version   str        yes  the adapter-bench version that wrote the row (rows written before it was recorded lack it)
""")


# The machine's state while a row was measured (bench/measure/machine.py; every kind of row since it was added).
MACHINE = _table("""
load_1m_start   float|null no   the 1-minute load average when the measurement began (null: unreadable)
load_1m_end     float|null no   the 1-minute load average when it ended
cpus            int        no   the CPUs the process could run on
cpu_mhz         float|null no   the CPUs' mean clock in MHz when it began, where Linux shows it; null elsewhere
""")
# ... and, for serve and switch rows, how steady the machine's speed was across the sweep
DRIFT = _table("""
base_drift_pct  float|null no   100 x (slowest / fastest - 1) of the base model's probed time, over the sweep so far (at the start and end of each fleet or workload); null with one probe
""")


def new_run_id() -> str:
    return uuid.uuid4().hex[:16]


def stamp(kind: str, device_kind: str = "cpu") -> dict:
    """The PROVENANCE fields of a new row of `kind` measured on `device_kind` ("cpu" or "cuda"). None of them
    enters a config hash: a run's identity is what it ran, not when or where."""
    if kind not in KINDS:
        raise ValueError(f"unknown row kind {kind!r}; valid: {', '.join(KINDS)}")
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": kind,
        "run_id": new_run_id(),
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **environment.git_state(),
        "machine_id": environment.machine_id(),
        "machine_class": environment.machine_class(device_kind),
        "bench_version": __version__,
    }


RUN_FIELDS: dict[str, Field] = {
    **PROVENANCE,
    **_table("""
config_hash     str        yes  sha256 of what decides the result (task and version, model, a shape-only model's layers and dtype, method and parameters, seed, budget, measurement settings, schema version): --resume matches on it
suite           str        yes  the suite's name
task            str        yes  the task's name
task_version    int        yes  the task file's `version`
task_digest     str        yes  a digest of what the task file defines, with the sha256 of its examples in place of its sources when the file names one (the same examples from another source: the same digest), else its sources plus a local file's sha256 or a hub dataset's commit: --resume refuses rows of a task edited without a version bump
model           str        yes  the model's name in the catalog (shape:<name> for random weights), or its path
model_revision  str|null   no   the exact weights loaded: a hub id's commit, "sha256:<archive's sha256>" for a built-in model; null for a local folder or a shape-only model
weights         str        no   pretrained, or random for a shape-only model (speed only, never accuracy: no accuracy, score or validation field)
layers          int        no   the layers a shape-only model kept (model.layers; its whole depth when 0); in its config hash
dtype           str        no   a shape-only model's weights' dtype (model.dtype): fp32, bf16 or fp16; in its config hash
data_revision   str|null   no   an `hf:` task source's dataset commit (also in task_digest); null for archive and path sources, which the digest covers
method          str        yes  the method as the suite names it (a variant's own name)
base_method     str        yes  the registered method it runs (the method itself unless it is a variant)
seed            int        yes  the random seed of data order, initialisation and bootstrap
budget          dict       yes  the training budget (bench/config.py Budget)
measure         dict       yes  the measurement settings (bench/config.py Measure)
method_params   dict       yes  the method's parameters: the suite's overrides, every resolved parameter once it is built
deterministic   bool       no   torch deterministic algorithms were on (--deterministic); absent in rows written before the option
status          str        yes  ok, failed, oom, killed, unsupported, cancelled or timeout
error           str|null   yes  why the run is not ok, on one line; null when it is
lr_sweep        list       no   the learning rates of the sweep this run is one point of
sweep           list       no   the other points (parameter overrides) of the suite's sweep this run is one point of
wall_s          float      no   seconds the whole run took (absent when the executor killed or cancelled it)
env             dict       no   torch, transformers, peft and python versions, platform, device kind and name, threads, CUDA version
lr_source       str        no   where the method's default learning rate comes from
mem_baseline_bytes  int    no   the process's resident memory before the model is loaded (CPU; 0 on CUDA)
model_kind      str        no   "encoder" (a classification head) or "causal" (label words scored, or answers generated)
adapter_targets list       no   the modules a PEFT adapter wraps, sorted
train_steps     int        no   optimizer steps taken
train_wall_s    float      no   seconds spent training
train_tokens    int        no   real (non-pad) tokens trained on
train_examples  int        no   training examples (generation tasks: one per reference)
loss_first      float|null no   the first step's training loss
loss_last       float|null no   the last step's training loss
loss_curve      list       no   every step's training loss, to 5 decimals
train_step_ms_samples  list  no  milliseconds of each timed training step (warm-up excluded)
update_spectrum dict       no   full fine-tuning: singular values of the weight update dW of LoRA's target matrices (bench/measure/spectrum.py)
metric          str        no   the task's metric that `score` holds: accuracy, exact_match, rougeL or bleu
accuracy_ci_low   float|null  no  the bootstrap 95 % interval of `accuracy`, low end
accuracy_ci_high  float|null  no  the bootstrap 95 % interval of `accuracy`, high end
score_ci_low    float|null no   the bootstrap 95 % interval of `score`, low end (tasks scored by ROUGE-L)
score_ci_high   float|null no   the bootstrap 95 % interval of `score`, high end (tasks scored by ROUGE-L)
n_eval          int        no   test examples scored
n_val           int        no   validation examples scored
label_counts    list       no   test examples per class, in the task's label order (classification)
pred_counts     list       no   predictions per class, in the task's label order (classification)
test_correct    str        no   "1" or "0" per test example, in the split's order: paired tests match runs example by example
samples         list       no   the first five generated outputs: the text, the extracted answer, the first reference, how many references
infer_latency_ms_samples  list  no  milliseconds of each timed batch-1 request
infer_batch_size  int      no   requests in the timed classification batch
infer_batch_ms_samples  list  no  milliseconds of each timed classification batch
infer_extra_tokens_per_request  int  no  tokens the method adds to every classification request (its virtual tokens)
gen_extra_tokens_per_request    int  no  tokens the method adds to every generation request (its virtual tokens)
gen_ttft_ms_samples   list  no  milliseconds to the first token of each timed batch-1 request
gen_batch_ms_samples  list  no  milliseconds of each timed generation batch, prompt to last token
adapter_path    str        no   where the trained adapter is kept (runs of a suite that keeps adapters)
"""),
    **MACHINE,
    **{
        m.name: Field(m.name, f"{m.type.__name__}|null", False, m.description, metric=True)
        for m in METRICS
        if m.kind == "run"
    },
}

SWITCH_FIELDS: dict[str, Field] = {
    **PROVENANCE,
    **_table("""
suite           str        yes  the sweep's name: switch, switch-quick
env             dict       yes  torch, transformers, peft and python versions, platform, device kind and name, threads, CUDA version
sweep           dict       yes  the sweep's settings (bench/switching/sweep.py SweepConfig)
weights         str        no   pretrained, or random for a shape-only model (speed only, never accuracy)
trained_adapters_from  list  no  the result rows whose kept adapters fill the fleet's first slots
model           str        yes  the backbone's name in the catalog, or its path
layers          int|null   no   the layers kept of a shape-only model (model.layers); null for a pretrained one
dtype           str        no   the weights' dtype (model.dtype): fp32, bf16 or fp16
strategy        str        yes  how adapters are served (bench/switching/strategies.py STRATEGIES)
n_tasks         int        yes  tasks, one adapter each, in the fleet (N)
batch_size      int        yes  requests per served batch
popularity      str        yes  how requests spread over the tasks: uniform or zipf
order           str        yes  grouped (a task's requests together) or shuffled
length          str        yes  the requests' length: short (16 tokens) or long (64)
status          str        yes  ok, failed (a gate failed or the strategy raised), oom or unsupported
error           str|null   yes  why the row is not ok; null when it is
gate_ok         bool|null  yes  every correctness gate passed; null when the strategy was not served
tokens_per_request  int    no   input tokens per request
n_requests      int        no   requests in the workload
n_switches      int        no   adapter swaps while serving the workload once (the first load counts)
expected_switches  int     no   swaps the task sequence needs at this batch size (0 for strategies that mix tasks in a batch)
switch_ms_p50   float|null no   median milliseconds of one swap (null: none happened)
switch_ms_p95   float|null no   95th percentile milliseconds of one swap
switch_ms_p99   float|null no   99th percentile milliseconds of one swap
total_ms_p50    float      no   median milliseconds to serve the whole workload, over the repeats
requests_per_s  float      no   requests served per second (from total_ms_p50)
tokens_per_s    float      no   input tokens served per second (from total_ms_p50)
overhead_vs_base_pct  float|null  no  percent slower than serving the base model without adapters; null without a base row
extra_tokens    int        no   tokens the strategy adds to the workload (soft prompts)
adapter_bytes_resident  int  no  bytes of adapter weights the strategy keeps in memory
peak_mem_bytes  int        no   peak memory while serving (see peak_mem_scope); compare judges it as the run metric
peak_mem_scope  str        no   "strategy" (CUDA: the peak is reset for each strategy) or "process" (CPU: the process's peak so far)
gates           dict       no   each correctness gate's outcome (bench/switching/gates.py)
rank            int        no   the LoRA rank of the fleet's adapters
virtual_tokens  int        no   the soft prompts' length in the fleet
trained_in_fleet  int      no   the fleet's adapters that were trained (the rest are random)
break_even_requests_per_task  float|null  no  merge_swap: requests per task after which merging pays; null: it never does
total_ms_samples   list    no   milliseconds to serve the workload, one per repeat
switch_ms_samples  list    no   milliseconds of every swap
batch_ms_samples   list    no   milliseconds of every served batch
"""),
    **MACHINE,
    **DRIFT,
}

SERVE_FIELDS: dict[str, Field] = {
    **PROVENANCE,
    **_table("""
suite           str        yes  the serve run's name
env             dict       yes  torch, transformers, peft and python versions, platform, device kind and name, threads, CUDA version
serve           dict       yes  the serve run's settings (bench/serving/run.py ServeConfig)
status          str        yes  ok, failed (the strategy or its fleet raised), oom or unsupported
error           str|null   yes  why the row is not ok; null when it is
model           str        yes  the backbone's name in the catalog (shape:<name> for random weights), or its path
weights         str        yes  pretrained, or random for a shape-only model (speed only, never accuracy)
layers          int|null   yes  the layers kept of a shape-only model; null for a pretrained one
dtype           str        yes  the weights' dtype: fp32, bf16 or fp16
hidden_size     int        no   the model's hidden size (the width every adapter's matrices scale with)
strategy        str        yes  how adapters are served (one of bench/options.py STRATEGIES)
mixed           bool       yes  the strategy batches requests of several tasks together (else one task per batch, swapping)
n_tasks         int        yes  tasks, one adapter each, in the fleet (N)
rank            int        yes  the LoRA rank of the fleet's adapters
targets         str        yes  the modules the adapters wrap: attention (q, k, v, o), attention+mlp, or PEFT's default
popularity      str        yes  how requests spread over the tasks: zipf or uniform
arrivals        str        yes  poisson or gamma
cv              float      yes  the coefficient of variation of the gaps between arrivals (1 for Poisson)
tokens_per_request  int    yes  input tokens per request (one forward pass each)
max_batch       int        yes  the largest batch a policy forms
max_wait_ms     float      yes  how long a batch may wait to fill
slo_ms          float      yes  the p99 latency target (queueing + service)
slo_rule        str        yes  how the SLO was set: given, or a factor of the base model's full-batch time
rate_at_slo_rps float      yes  the highest request rate whose simulated p99 latency meets the SLO
at_slo          dict|null  yes  p50/p95/p99 latency, throughput and SLO attainment at that rate
batch_ms_full   float      yes  profiled milliseconds of one full batch (max_batch requests, as many tasks as fit)
swap_ms_p50     float|null yes  profiled milliseconds of one adapter swap; null for strategies that mix tasks
service_ms      dict       yes  profiled milliseconds per batch, keyed "batch size,distinct adapters"
service_samples dict       yes  the raw samples behind service_ms, same keys
swap_ms_samples list       yes  the raw samples behind swap_ms_p50
adapter_bytes_resident  int  yes  bytes of adapter weights the strategy keeps in memory
curve           list       yes  simulated latency at each offered rate: rate_rps, p50_ms, p95_ms, p99_ms, attainment
validation      list       yes  real-time runs at fractions of the SLO rate: real and simulated latency and throughput, errors, the machine's drift
sim_p50_err_pct_max  float|null  yes  the largest absolute p50 error (%) of the simulation over the validation runs
sim_p50_err_pct  float|null  no   the simulation's p50 error (%, simulated / real - 1) at 1.0x the rate at the SLO, over at least 200 requests; null: not validated there
sim_p99_err_pct  float|null  no   the same for p99 latency: what the rate at the SLO rests on
sim_p99_requests  int|null   no   requests served in that run
sim_requests    int        yes  requests in each simulated stream
rate_vs_base    float|null yes  rate_at_slo_rps over the base model's on the same fleet
rate_vs_merge_swap  float|null  yes  rate_at_slo_rps over merge_swap's on the same fleet
model_bytes     int        no   bytes of the base model's weights and buffers as served (one copy)
trained_adapters_from  list  no   the trained adapters and soft prompts that fill the fleet's first slots, as <method> <task> (<run_id>)
adapters_from_runs  list   no   the run ids whose rows set the fleet's rank, targets and virtual tokens and the requests' tasks
trained_in_fleet  int      no   this strategy's slots that hold trained adapters or soft prompts (the rest are drawn; 0 for base)
requests_from   list       no   the tasks whose test inputs are the requests (else random token ids of tokens_per_request)
request_tokens  dict       no   real tokens per request of the profiled batch: min, p50 and max (its padded width)
"""),
    **MACHINE,
    **DRIFT,
}


FIELDS = {"run": RUN_FIELDS, "switch": SWITCH_FIELDS, "serve": SERVE_FIELDS}


def undeclared(row: dict) -> list[str]:
    """What in a row the schema does not declare: unknown fields, values of another type, required fields
    missing (one line each; empty when the row is as declared)."""
    fields = FIELDS.get(kind_of(row))
    if fields is None:
        return [f"kind {row.get('kind')!r} is not one of {', '.join(KINDS)}"]
    out = [f"{k}: not a declared field" for k in row if k not in fields]
    out += [
        f"{k}: {type(v).__name__} is not {fields[k].type}"
        for k, v in row.items()
        if k in fields and not fields[k].accepts(v)
    ]
    out += [f"{k}: required, missing" for k, f in fields.items() if f.required and k not in row]
    return out
