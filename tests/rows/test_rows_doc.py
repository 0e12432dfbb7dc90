"""docs/rows.md and the row kinds' declarations (bench/rows/kinds.py, fields in bench/rows/fields.py) agree:
every field of a kind is in its section's tables with the same JSON type, the tables list no field the kind does
not declare, and the section states the kind's identity as the declaration makes it (kinds.identity_line). The
docs may name a list's elements (`list[float]` for a `list`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench.rows import kinds
from bench.rows.fields import RUN_FIELDS, SERVE_FIELDS, SWITCH_FIELDS

DOC = Path(__file__).resolve().parents[2] / "docs" / "rows.md"


def section(text: str, heading: str) -> str:
    """The text under a `## ` heading that starts with `heading`, up to the next `## ` heading."""
    found = re.search(rf"^## {re.escape(heading)}.*?$(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert found, f"docs/rows.md has no section '## {heading}'"
    return found.group(1)


def documented(text: str) -> dict[str, str]:
    """Field -> its type cell, from every table row `| `a`, `b` | type | description |` of the text."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        if not line.startswith("| `"):
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        assert len(cells) == 3, f"not a field | type | description row: {line}"
        for name in re.findall(r"`([^`]+)`", cells[0]):
            assert name not in out, f"{name} listed twice"
            out[name] = cells[1]
    return out


def json_type(cell: str) -> set[str]:
    """'list[float] \\| null' -> {'list', 'null'}: the JSON types of a type cell, a list's elements aside."""
    return {re.sub(r"\[.*\]$", "", t.strip()) for t in cell.replace("\\|", "|").split("|") if t.strip()}


def declared(fields) -> dict[str, set[str]]:
    return {name: set(f.type.split("|")) for name, f in fields.items()}


KINDS = [("Run rows", RUN_FIELDS), ("Switch rows", SWITCH_FIELDS), ("Serve rows", SERVE_FIELDS)]


@pytest.mark.parametrize("heading,fields", KINDS, ids=["run", "switch", "serve"])
def test_every_declared_field_is_documented_with_its_type(heading, fields):
    docs = documented(section(DOC.read_text(encoding="utf-8"), heading))
    missing = sorted(set(fields) - set(docs))
    assert not missing, f"docs/rows.md ({heading}) lacks {missing}"
    wrong = {n: (docs[n], fields[n].type) for n in fields if json_type(docs[n]) != declared(fields)[n]}
    assert not wrong, f"docs/rows.md ({heading}) types differ from bench/rows/fields.py (docs, schema): {wrong}"


@pytest.mark.parametrize("heading,fields", KINDS, ids=["run", "switch", "serve"])
def test_the_docs_list_no_field_the_schema_does_not_declare(heading, fields):
    docs = documented(section(DOC.read_text(encoding="utf-8"), heading))
    extra = sorted(set(docs) - set(fields))
    assert not extra, f"docs/rows.md ({heading}) lists fields bench/rows/fields.py does not declare: {extra}"


def test_the_parser_sees_what_it_checks():
    table = (
        "| field | type | description |\n|---|---|---|\n| `a`, `b` | float \\| null | x |\n| `c` | list[int] | y |\n"
    )
    assert documented(table) == {"a": "float \\| null", "b": "float \\| null", "c": "list[int]"}
    assert json_type("float \\| null") == {"float", "null"} and json_type("list[dict]") == {"list"}
    assert json_type("float") != declared(RUN_FIELDS)["accuracy"]  # a metric may be null: `float` alone is wrong
    assert json_type("") == set()  # a row without a type matches no field
    with pytest.raises(AssertionError, match="listed twice"):
        documented(table + "| `a` | int | again |\n")


HEADINGS = {"run": "Run rows", "switch": "Switch rows", "serve": "Serve rows"}


def doc_problems(text: str, decl: kinds.RowKind) -> list[str]:
    """Where docs/rows.md's section of a kind disagrees with its declaration (empty when it agrees)."""
    part = section(text, HEADINGS[decl.name])
    docs = documented(part)
    out = [f"{n}: not documented" for n in decl.fields if n not in docs]
    out += [
        f"{n}: documented as {docs[n]}, declared {f.type}"
        for n, f in decl.fields.items()
        if n in docs and json_type(docs[n]) != declared(decl.fields)[n]
    ]
    out += [f"{n}: documented, not declared" for n in docs if n not in decl.fields]
    if kinds.identity_line(decl) not in part:
        out.append(f"no line: {kinds.identity_line(decl)}")
    return out


@pytest.mark.parametrize("name", list(kinds.BY_NAME))
def test_each_kind_section_states_the_declared_identity(name):
    assert doc_problems(DOC.read_text(encoding="utf-8"), kinds.BY_NAME[name]) == []
