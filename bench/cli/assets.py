"""`python -m bench assets check`: every pinned archive still on the configured index (exit 1 when one the
shipped suites need, or one not known to be withdrawn, is gone). `python -m bench assets bundle DIR [--dtype
fp16] [--suite gpu]`: an offline cache folder."""

from __future__ import annotations

from pathlib import Path

from bench.catalog import bundle, readiness
from bench.cli import COMMANDS


def add_parser(sub) -> None:
    p = sub.add_parser("assets", help=COMMANDS["assets"][1])
    verbs = p.add_subparsers(dest="verb", required=True, parser_class=type(p))
    b = verbs.add_parser("bundle", help="write a cache folder to use offline through ADAPTER_BENCH_CACHE")
    b.add_argument("dir", type=Path, help="the folder to write (created if missing)")
    b.add_argument("--dtype", choices=bundle.DTYPES, default="fp16", help="the models' weights (default fp16)")
    b.add_argument("--suite", default="gpu", help="the suite whose model and tasks to bundle (default: gpu)")
    b.set_defaults(func=cmd_bundle)
    c = verbs.add_parser("check", help="is every pinned archive still listed by the package index (no download)")
    c.set_defaults(func=cmd_check)


def cmd_check(args) -> int:
    checks = readiness.check_assets()
    for c in checks:
        print(c.line())
    failed = [f"{c.asset.package}=={c.asset.version}" for c in checks if c.failed]
    if failed:
        print(f"assets check: {len(failed)} pinned archive(s) cannot be fetched: {', '.join(failed)}")
        return 1
    gone = [f"{c.asset.package}=={c.asset.version}" for c in checks if c.found.state != "fetchable"]
    note = f"; withdrawn, and read by no shipped suite: {', '.join(gone)}" if gone else ""
    print(f"assets check: every archive the shipped suites read is on the index ({len(checks)} checked{note})")
    return 0


def cmd_bundle(args) -> int:
    model_names, packages = bundle.needs(args.suite)
    manifest = bundle.bundle(args.dir, model_names, packages, args.dtype)
    print(f"{len(manifest['files'])} files, {manifest['bytes'] / 2**20:.1f} MiB in {args.dir}")
    print(f"models: {', '.join(model_names) or '(none)'}; archives: {', '.join(packages) or '(none)'}")
    print(f"offline: ADAPTER_BENCH_CACHE={args.dir} python -m bench run --suite {args.suite}")
    return 0
