"""One colour per name, methods and serving strategies together, the same in every figure and every report
(the history report too). Pure.

The names this suite ships have fixed colours, no two alike (Okabe-Ito's colour-blind-safe set for the
methods, extended for the strategies). A name with settings ("lora (lr=0.001)") takes a shade of its
base name's colour, so two learning rates of one method differ and still read as that method; any other
name (an adapter_config.json path, a variant) gets a colour from a hash of its name, so it too keeps its
colour from figure to figure and from report to report, whatever else is drawn beside it.
"""

from __future__ import annotations

import hashlib

METHODS = {
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
STRATEGIES = {  # the base model near-black, swapping strategies warm, mixed LoRA batches blue and green
    "base": "#333333",
    "merge_swap": "#c4161c",  # red
    "set_adapter": "#8c564b",  # brown
    "hotswap": "#bcbd22",  # olive
    "hotswap_compiled": "#17becf",  # cyan
    "load_cold": "#e7298a",  # magenta
    "load_warm": "#f4a582",  # salmon
    "peft_mixed_batch": "#393b79",  # indigo
    "gathered_lora": "#66a61e",  # lime
    "prompt_swap": "#c5b0d5",  # lavender
    "mixed_prompt_batch": "#7b3294",  # violet: the soft-prompt strategies purple
}
KNOWN = {**METHODS, **STRATEGIES}
# for names not in KNOWN: distinct from the colours above, dark enough on white
FALLBACK = ("#1b9e77", "#a6761d", "#7570b3", "#8c6d31", "#843c39", "#5254a3", "#ad494a", "#3182bd", "#31a354")
SHADES = (0.0, -0.35, 0.4, -0.6, 0.6)  # a setting's shade of its base colour: <0 darker, >0 lighter


def base_name(name: str) -> str:
    """A label's name before its settings: "lora (lr=0.001)" -> "lora"."""
    return str(name).split(" (", 1)[0]


def _hash(text: str) -> int:
    return hashlib.sha256(text.encode()).digest()[0]


def _shade(hex_colour: str, amount: float) -> str:
    rgb = [int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)]
    target = 255 if amount > 0 else 0
    return "#" + "".join(f"{round(c + (target - c) * abs(amount)):02x}" for c in rgb)


def colour(name: str, shade: int | None = None) -> str:
    """The colour of a method, strategy or any label; `shade` picks a shade of the base name's colour
    (default: none for a bare name, one from a hash of the settings for a name with settings)."""
    base = base_name(name)
    pure = KNOWN.get(base) or FALLBACK[_hash(base) % len(FALLBACK)]
    if shade is None:
        shade = 0 if base == str(name) else 1 + _hash(str(name)) % (len(SHADES) - 1)
    return _shade(pure, SHADES[shade % len(SHADES)])


def colours(names) -> dict[str, str]:
    """{name: colour} for the names drawn in one figure, no two alike where the shades allow: a name with
    settings whose shade another name already took moves to the next free shade. The same set of names gets
    the same colours in every figure, whatever their order."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    names = sorted(dict.fromkeys(map(str, names)), key=lambda n: (base_name(n) != n, n))  # bare names first
    for name in names:
        c = colour(name)
        if c in taken and base_name(name) != name:
            start = 1 + _hash(name) % (len(SHADES) - 1)
            free = [colour(name, s) for s in range(start, start + len(SHADES))]
            c = next((x for x in free if x not in taken), c)
        out[name] = c
        taken.add(c)
    return out
