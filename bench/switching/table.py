"""The terminal summary of a switching sweep (pure): strategies x (order, N) at the largest batch."""

from __future__ import annotations

from bench.switching import STRATEGIES


def switch_table(rows: list[dict]) -> str:
    rows = [r for r in rows if r.get("kind") == "switch"]
    if not rows:
        return "no switching rows"
    batch = max(r["batch_size"] for r in rows)
    pop, length = rows[0]["popularity"], rows[0]["length"]
    view = [r for r in rows if (r["batch_size"], r["popularity"], r["length"]) == (batch, pop, length)]
    cols = sorted({(r["order"], r["n_tasks"]) for r in view})
    cell = {(r["strategy"], r["order"], r["n_tasks"]): r for r in view}
    header = ["strategy"] + [f"{o} N={n}" for o, n in cols] + ["gates"]
    lines = [header]
    for s in [s for s in STRATEGIES if any(r["strategy"] == s for r in view)]:
        line = [s]
        for o, n in cols:
            r = cell.get((s, o, n))
            if r is None:
                line.append("")
            elif r.get("requests_per_s") is None:  # unsupported, failed or oom: not served
                line.append(r["status"])
            else:
                pct = r.get("overhead_vs_base_pct")
                line.append(
                    f"{r['requests_per_s']:.0f}/s" + (f" ({pct:+.0f}%)" if pct is not None and s != "base" else "")
                )
        gated = [r.get("gate_ok") for r in rows if r["strategy"] == s and r.get("gate_ok") is not None]
        line.append("-" if not gated else ("ok" if all(gated) else "FAILED"))
        lines.append(line)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = [f"requests/s (time vs base) at batch {batch}, {pop} popularity, {length} inputs"]
    out += [
        "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths))) for line in lines
    ]
    out.insert(2, "  ".join("-" * w for w in widths))
    return "\n".join(out)
