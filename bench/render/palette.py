"""One colour per method, the same in every figure and every report (pure).

The methods this suite ships have fixed colours (Okabe-Ito's colour-blind-safe set, extended); any other
name (an adapter_config.json path, a variant) gets a colour from a hash of its name, so it too keeps its
colour from figure to figure and from report to report, whatever else is drawn beside it.
"""

from __future__ import annotations

import hashlib

KNOWN = {
    "lora": "#0072B2",  # blue
    "prompt_tuning": "#E69F00",  # orange
    "head_only": "#009E73",  # green
    "full": "#CC79A7",  # pink
    "zero_shot": "#7F7F7F",  # grey
    "dora": "#56B4E9",  # sky blue
    "prefix_tuning": "#D55E00",  # vermilion
    "p_tuning": "#B8860B",  # dark gold
    "ia3": "#6A3D9A",  # purple
}
# for names not in KNOWN: distinct from the colours above, dark enough on white
FALLBACK = ("#1B9E77", "#A6761D", "#E7298A", "#66A61E", "#7570B3", "#8C564B", "#17BECF", "#BCBD22", "#393B79")


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
