"""Records derived from a source's records before they become examples: a score binned into classes, or
country facts turned into true/false claims or into attribute-list -> text pairs (pure: the same records
and settings give the same list, in the same order).

A source's `derive` key, one of:
  {kind: bins, field: score, edges: [-1.0, 1.0], labels: [negative, neutral, positive]}
      adds `label`: the labels[i] whose bin holds float(field); bin i is edges[i-1] < x <= edges[i]
      (the first bin has no lower edge, the last no upper one), so len(labels) == len(edges) + 1.
  {kind: country_claims, seed: 0}
      one true and one false claim per country and relation (capital, subregion, a neighbour): the false
      one takes the value of another country, drawn from a generator seeded per country and relation,
      so that no claim depends on the others; records {claim, label: "true" | "false"}.
  {kind: country_profile}
      an attribute list in E2E's `key[value]` format and a one-sentence description written from the
      same attributes: records {input, target}.
Country records are countryinfo's JSON files (name, capital, subregion, borders as ISO alpha-3 codes,
demonym, currencies as ISO 4217 codes, ISO: {alpha3}); one without a name or capital is skipped.
"""

from __future__ import annotations

import random

from bench.errors import BenchError, choices

KINDS = ("bins", "country_claims", "country_profile")


def check(spec, where: str) -> None:
    """A derive mapping's settings, checked when the task file is read."""
    bad = f"malformed task {where}: source.derive"
    if not isinstance(spec, dict) or spec.get("kind") not in KINDS:
        raise BenchError(f"{bad} needs a kind; valid kinds: {choices(KINDS)}")
    if spec["kind"] == "bins":
        edges, labels = spec.get("edges"), spec.get("labels")
        if not isinstance(spec.get("field"), str):
            raise BenchError(f"{bad}.field must name the numeric field to bin")
        if not (isinstance(edges, list) and edges and all(_is_number(e) for e in edges)) or edges != sorted(edges):
            raise BenchError(f"{bad}.edges must be a non-empty increasing list of numbers")
        if not (isinstance(labels, list) and len(labels) == len(edges) + 1 and all(isinstance(x, str) for x in labels)):
            raise BenchError(f"{bad}.labels must name len(edges) + 1 classes")
    seed = spec.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise BenchError(f"{bad}.seed must be a whole number from 0")


def apply(records: list[dict], spec: dict | None) -> list[dict]:
    if not spec:
        return records
    if spec["kind"] == "bins":
        return bins(records, spec["field"], spec["edges"], spec["labels"])
    countries = _countries(records)
    if spec["kind"] == "country_claims":
        return country_claims(countries, spec.get("seed", 0))
    return country_profile(countries)


def bins(records: list[dict], field: str, edges: list[float], labels: list[str]) -> list[dict]:
    out = []
    for r in records:
        try:
            x = float(r[field])
        except (KeyError, TypeError, ValueError):
            raise BenchError(f"derive bins: field {field!r} must hold a number, got {r.get(field)!r}") from None
        out.append({**r, "label": labels[sum(x > e for e in edges)]})
    return out


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _countries(records: list[dict]) -> list[dict]:
    """Countries with a name and a capital, one per name, sorted by name."""
    found: dict[str, dict] = {}
    for r in records:
        name, capital = r.get("name"), r.get("capital")
        if isinstance(name, str) and name.strip() and isinstance(capital, str) and capital.strip():
            found.setdefault(name.strip(), r)
    return [found[n] for n in sorted(found)]


def _text(r: dict, key: str) -> str:
    v = r.get(key)
    return v.strip() if isinstance(v, str) else ""


def _neighbours(r: dict, by_code: dict[str, str]) -> list[str]:
    codes = r.get("borders") if isinstance(r.get("borders"), list) else []
    return sorted({by_code[c] for c in codes if c in by_code})


def country_claims(countries: list[dict], seed: int = 0) -> list[dict]:
    by_code = {r["ISO"]["alpha3"]: r["name"].strip() for r in countries if isinstance(r.get("ISO"), dict)}
    by_code = {k: v for k, v in by_code.items() if isinstance(k, str)}
    names = [r["name"].strip() for r in countries]
    capitals = sorted({_text(r, "capital") for r in countries})
    regions = sorted({_text(r, "subregion") for r in countries} - {""})
    out = []
    for r in countries:
        name = r["name"].strip()
        facts = [
            ("capital", _text(r, "capital"), capitals, "The capital of {name} is {value}."),
            ("subregion", _text(r, "subregion"), regions, "{name} lies in {value}."),
        ]
        near = _neighbours(r, by_code)
        if near:
            facts.append(
                ("border", near[0], [n for n in names if n not in near and n != name], "{name} borders {value}.")
            )
        for relation, value, pool, template in facts:
            if not value:
                continue
            rng = random.Random(f"country_claims/{seed}/{name}/{relation}")
            wrong = rng.choice([v for v in pool if v != value])
            out.append({"claim": template.format(name=name, value=value), "label": "true"})
            out.append({"claim": template.format(name=name, value=wrong), "label": "false"})
    return out


def country_profile(countries: list[dict]) -> list[dict]:
    out = []
    for r in countries:
        name, capital, region, demonym = (_text(r, k) for k in ("name", "capital", "subregion", "demonym"))
        currencies = [c for c in r.get("currencies") or [] if isinstance(c, str) and c.strip()]
        if not (region and demonym and currencies):
            continue
        attrs = f"name[{name}], capital[{capital}], region[{region}], demonym[{demonym}], currency[{currencies[0]}]"
        text = f"{name} is a country in {region} whose capital is {capital}; its people are {demonym} and pay in {currencies[0]}."
        out.append({"input": attrs, "target": text})
    return out
