"""A row kind is declared once (bench/rows/kinds.py): what readers check, compare's match key and its "which keys
differ", --resume's hash fields, the serve fleet setting and docs/rows.md all follow from the declaration, so a
field added to a declaration reaches every one of them; and two shape rows that differ only in layers are reported
as differing in model.layers."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from bench.analysis import compare, fleets
from bench.execute import identity
from bench.rows import kinds
from bench.rows.fields import Field
from bench.rows.schema import KINDS, STATUSES, kind_of
from bench.rows.store import METRIC_NAMES
from bench.rows.validate import row_problem
from tests.rows.test_rows_doc import DOC, doc_problems

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = {"str": "x", "int": 1, "float": 1.5, "bool": True, "list": [], "dict": {}}


def sample_row(decl: kinds.RowKind) -> dict:
    """A row of the kind with every field it needs and every key field, each a value of its declared type."""
    row = {"kind": decl.name, "schema_version": 1, "status": "ok"}
    for name in (*decl.needs, *decl.key):
        row.setdefault(name, SAMPLE[decl.fields[name].type.split("|")[0]])
    return row


def with_new_field(decl: kinds.RowKind) -> kinds.RowKind:
    """The declaration with a field `new_knob` (a required int) that the kind needs and is identified by."""
    new = Field("new_knob", "int", True, "a setting added to the declaration")
    return dataclasses.replace(
        decl, fields={**decl.fields, "new_knob": new}, needs=(*decl.needs, "new_knob"), key=(*decl.key, "new_knob")
    )


def test_every_kind_is_declared_once_and_names_only_its_fields():
    assert tuple(kinds.BY_NAME) == KINDS
    for decl in kinds.BY_NAME.values():
        assert set(decl.columns) <= set(decl.fields) and decl.columns
    with pytest.raises(ValueError, match="'nope' is not one of its declared fields"):
        dataclasses.replace(kinds.SWITCH, key=("model", "nope"))


def test_the_keys_elsewhere_are_the_declarations():
    assert identity.KEYS == {name: decl.key for name, decl in kinds.BY_NAME.items()}
    assert identity.RUN_FIELDS == (*kinds.RUN.hashed, "layers", "dtype")
    assert identity.SHAPE_FIELDS == kinds.RUN.shape_key
    assert fleets.SETTING == kinds.SERVE.setting()
    # the fleet: the serve key but the strategy, with the model's width and the file the row came from
    assert set(fleets.SETTING) == (set(kinds.SERVE.key) - {"strategy"}) | {"hidden_size", "source"}


@pytest.mark.parametrize("name", KINDS)
def test_a_field_added_to_a_declaration_reaches_everything_derived_from_it(name, monkeypatch):
    decl = with_new_field(kinds.BY_NAME[name])
    monkeypatch.setitem(kinds.BY_NAME, name, decl)
    row = {**sample_row(decl), "new_knob": 2}
    other = {**row, "new_knob": 3}
    # readers: a row must carry it, as an integer
    assert row_problem(row, METRIC_NAMES, STATUSES) is None
    missing = {k: v for k, v in row.items() if k != "new_knob"}
    assert row_problem(missing, METRIC_NAMES, STATUSES).startswith("new_knob: missing")
    assert (
        row_problem({**row, "new_knob": "2"}, METRIC_NAMES, STATUSES) == "new_knob: expected an integer, got a string"
    )
    # identity: compare's match key tells the rows apart, and compare says by what
    assert "new_knob" in identity.key_fields(row)
    assert identity.match_key(row) != identity.match_key(other)
    assert compare.differing_keys(row, other) == ["new_knob"]
    verdicts = compare.compare([row], [other])
    assert all(v.metric == "-" for v in verdicts)
    assert compare.differing_key([row], [other]).endswith("new_knob differs (baseline 2, current 3)")
    # the experiment's setting (serve fleets) holds it
    assert "new_knob" in decl.setting()
    # docs/rows.md: the field is missing from the kind's table and from its identity line
    problems = doc_problems(DOC.read_text(encoding="utf-8"), decl)
    assert "new_knob: not documented" in problems
    assert any(p.startswith("no line: Identity") and "`new_knob`" in p for p in problems)


def test_a_run_hash_is_made_of_the_declared_hash_fields(monkeypatch):
    row = {**sample_row(kinds.RUN), "base_method": "x", "measure": {}, "method_params": {}, "budget": {}}
    before = identity.config_hash(row)
    monkeypatch.setattr(kinds, "RUN", dataclasses.replace(kinds.RUN, hashed=(*kinds.RUN.hashed, "suite")))
    assert identity.config_hash({**row, "suite": "a"}) != identity.config_hash({**row, "suite": "b"})
    assert identity.config_hash({**row, "suite": "a"}) != before


def shape_rows() -> list[dict]:
    path = ROOT / "results" / "shapes" / "train-cpu.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_two_shape_rows_that_differ_only_in_layers_differ_in_model_layers():
    base = shape_rows()
    assert base and all(r["model"].startswith("shape:") and r["layers"] == 2 for r in base)
    cur = [{**r, "layers": 4} for r in base]
    assert compare.differing_keys(base[0], cur[0]) == ["model.layers"]
    why = compare.differing_key(base, cur)
    assert why.endswith("model.layers differs (baseline 2, current 4)"), why
    notes = {v.note for v in compare.compare(base, cur)}
    assert any(n.endswith("differs in: model.layers") for n in notes), notes
    assert compare.differing_keys(base[0], {**base[0], "dtype": "bf16"}) == ["model.dtype"]


def test_a_shape_row_against_a_pretrained_one_names_the_model_then_its_shape():
    shape = shape_rows()[0]
    plain = {k: v for k, v in shape.items() if k not in ("layers", "dtype")} | {"model": "smollm2-135m"}
    assert compare.differing_keys(plain, shape) == ["model", "model.layers", "model.dtype"]
    assert compare.differing_keys(shape, plain) == ["model", "model.layers", "model.dtype"]


def test_kind_of_reads_a_row_without_kind_as_a_run():
    assert kind_of({}) == "run" and kind_of({"kind": "serve"}) == "serve"
    assert kinds.of({"kind": ["serve"]}) is None and kinds.of({"kind": "mystery"}) is None


def test_switch_rows_of_a_sweep_are_one_key_each_and_a_shapes_layers_tell_sweeps_apart():
    """A sweep's rows differ in length (short, long) as well as popularity and order: each is its own key, so
    compare never pairs a short workload with a long one; a shape-only model's layers and dtype are keys too."""
    row = {"kind": "switch", "schema_version": 1, "status": "ok", "model": "shape:llama-3.2-1b", "layers": 2}
    row |= {"dtype": "fp32", "strategy": "base", "n_tasks": 16, "batch_size": 8, "popularity": "zipf"}
    sweep = [row | {"order": o, "length": n} for o in ("grouped", "shuffled") for n in ("short", "long")]
    assert len({identity.match_key(r) for r in sweep}) == 4
    assert compare.differing_keys(sweep[0], sweep[0] | {"layers": 4}) == ["model.layers"]
    assert compare.differing_keys(sweep[0], sweep[0] | {"length": "long"}) == ["length"]
    pretrained = {k: v for k, v in sweep[0].items() if k != "layers"} | {"model": "minilm"}
    assert "layers" not in identity.key_fields(pretrained)  # a pretrained model is whole: no layers key
