"""The package layout pyproject.toml cannot express: every bench package (the report's templates folder
too), plus the repository's top-level tasks/ folder shipped inside the package as bench.builtin_tasks (read
with importlib.resources by bench/paths.py). Everything else is in pyproject.toml."""

from setuptools import find_namespace_packages, setup

setup(
    packages=[
        *find_namespace_packages(include=["bench", "bench.*"], exclude=["*.__pycache__"]),
        "bench.builtin_tasks",
        "bench.builtin_tasks.suites",
    ],
    package_dir={"bench.builtin_tasks": "tasks"},
)
