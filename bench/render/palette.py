"""One colour per method, the same in every figure and every report (pure).

The methods this suite ships have fixed colours (Okabe-Ito's colour-blind-safe set, extended); any other
name (an adapter_config.json path, a variant) gets a colour from a hash of its name, so it too keeps its
colour from figure to figure and from report to report, whatever else is drawn beside it.
"""

from __future__ import annotations

import hashlib

KNOWN = {
    "lora": "#0072b2",  # blue
    "prompt_tuning": "#e69f00",  # orange
    "head_only": "#009e73",  # green
    "full": "#cc79a7",  # pink
    "zero_shot": "#7f7f7f",  # grey
    "dora": "#56b4e9",  # sky blue
    "prefix_tuning": "#d55e00",  # vermilion
    "p_tuning": "#b8860b",  # dark gold
    "ia3": "#6a3d9a",  # purple
}
# for names not in KNOWN: distinct from the colours above, dark enough on white
FALLBACK = ("#1b9e77", "#a6761d", "#e7298a", "#66a61e", "#7570b3", "#8c564b", "#17becf", "#bcbd22", "#393b79")


def method_colour(method: str) -> str:
    """The colour of `method` (a name or a path; its base name before any ' (' setting label counts)."""
    name = str(method).split(" (", 1)[0]
    if name in KNOWN:
        return KNOWN[name]
    digest = hashlib.sha256(name.encode()).digest()
    return FALLBACK[digest[0] % len(FALLBACK)]


def palette(methods) -> dict[str, str]:
    """{method: colour} for a seaborn `palette=` argument."""
    return {m: method_colour(m) for m in dict.fromkeys(methods)}


# one colour per switching / serving strategy, in every figure: the base model grey, swapping strategies warm,
# mixed-batch LoRA blue and green, soft prompts purple
STRATEGY_COLOURS = {
    "base": "#555555",
    "merge_swap": "#d62728",  # red
    "set_adapter": "#ff7f0e",  # orange
    "hotswap": "#b8860b",  # dark gold
    "hotswap_compiled": "#8c564b",  # brown
    "load_cold": "#e377c2",  # pink
    "load_warm": "#f4a582",  # salmon
    "peft_mixed_batch": "#1f77b4",  # blue
    "gathered_lora": "#2ca02c",  # green
    "prompt_swap": "#c5b0d5",  # light purple
    "mixed_prompt_batch": "#9467bd",  # purple
}


def strategy_colour(strategy: str) -> str:
    return STRATEGY_COLOURS.get(strategy) or method_colour(strategy)
