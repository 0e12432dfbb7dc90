"""Multi-task switching: what it costs to serve many tasks on one copy of a base model.

workload.py   request streams (N tasks, popularity, order, lengths)          pure
gathered.py   mixed-batch LoRA in the style of S-LoRA / Punica (bmm, no per-adapter loop)
prompts.py    mixed soft-prompt batches built as inputs_embeds
fleet.py      N adapters and N soft prompts on one base model, every serving form of them
strategies.py each switching strategy serves a stream -> timings
gates.py      correctness gates (mixed == alone, adapters change outputs, merge drift)
sweep.py      the sweep -> rows of kind "switch"; the `switch` subcommand
session.py    what switch and serve share: the backbone and provenance, the speed probe, failures as rows
"""
