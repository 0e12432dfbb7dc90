"""`python -m bench list` and `python -m bench env`: what the bench knows (tasks, methods, models, suites)
and the environment its rows record."""

from __future__ import annotations

import json
from pathlib import Path

from bench.catalog import availability, methods, models, readiness, shapes, sources, tasks
from bench.catalog.assets import cache_dir
from bench.cli import COMMANDS
from bench.config import list_suites, load_suite, read_yaml
from bench.errors import BenchError
from bench.execute.device import resolve_device
from bench.measure import environment


def add_parser(sub) -> None:
    ls = sub.add_parser("list", help=COMMANDS["list"][1])
    ls.add_argument(
        "--tasks-dir", action="append", type=Path, default=[], help="extra folder of task .yaml files to list too"
    )
    ls.set_defaults(func=cmd_list)
    env = sub.add_parser("env", help=COMMANDS["env"][1])
    env.set_defaults(func=cmd_env)


def cmd_list(args) -> int:
    probe = availability.Probe()  # one listing request per archive, a short timeout, kept briefly
    found = tasks.task_files(args.tasks_dir)  # a --tasks-dir that is not there: one line, nothing listed
    print("tasks:  (cached | local | fetchable | unknown | unavailable: whether its examples can be had here)")
    for name, path in found.items():
        try:
            t = tasks.load_task(str(path))
            size = f"{t.size} examples" if t.size else "size checked on load"
            what = (
                f"generation, {t.metric}, up to {t.max_new_tokens} new tokens"
                if t.is_generation
                else f"{len(t.labels)} labels ({', '.join(t.labels)})"
            )
            sources_ = ", then ".join(sources.describe(s) for s in t.sources)
            print(f"  {name:18} v{t.version}  {availability.task(t, probe).text()}")
            print(f"  {'':18}      {what}; {size}; source {sources_}")
        except BenchError as e:
            print(f"  {name:18} INVALID: {e}")
    print("methods:")
    for name, m in methods.METHODS.items():
        defaults = methods.params_dict(m.params_cls())
        print(f"  {name:18} {', '.join(f'{k}={v}' for k, v in defaults.items())}")
    print("  (or a path to a PEFT adapter_config.json)")
    print("models:")
    for name, spec in models.MODELS.items():
        print(f"  {name:18} {spec.kind:8} {availability.model(name, probe).text()}; {spec.description}")
    for name in shapes.names():
        print(f"  {shapes.PREFIX + name:18} {'causal':8} {shapes.description(name)}; random weights, speed only")
    print("  (or a local model folder, or a Hugging Face id with a network)")
    print("suites:")
    for name, path in list_suites().items():
        data = read_yaml(path)
        print(f"  {name:18} {data.get('description', '')}{_refused(path, probe)}")
    return 0


def _refused(path: Path, probe) -> str:
    """ " [cannot run here: ...]" for a suite that a run would refuse."""
    try:
        cfg = load_suite(str(path))
        line = readiness.refusal(cfg.model.name, list(cfg.tasks), None, probe)
    except BenchError as e:
        return f" [INVALID: {e}]"
    return f" [cannot run here: {line.split(':', 1)[0].removeprefix('cannot run ')} unavailable]" if line else ""


def cmd_env(args) -> int:
    env = environment.environment_without_torch()  # a CPU-only torch: no need to import it to know its device
    if env is None:
        import torch

        env = environment.environment(torch.device(resolve_device("auto")))
    info = {
        **environment.git_state(),
        "machine_id": environment.machine_id(),
        **env,
        "cache_dir": str(cache_dir()),
    }
    print(json.dumps(info, indent=2))
    return 0
