"""adapter-bench: LoRA vs prompt tuning (and baselines) on the same tasks and budget.

Data flows one way: config -> runs -> result rows -> tables and figures -> report.
"""

__version__ = "0.1.0"
