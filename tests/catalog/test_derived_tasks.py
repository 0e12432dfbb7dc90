"""The tasks that replace the withdrawn BIG-bench ones: vader_tweets3 (three sentiment classes binned from
VADER's mean scores), country_claims (true/false claims) and country_profile (data to text), both written
from countryinfo's country files. Offline: the archives are built here in the pinned layout (the real
ones are never fetched by tests); the shipped task files are read as they are."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import zipfile

import pytest

from bench.catalog import assets, derive, examples, sources, tasks
from bench.errors import BenchError

COUNTRIES = [
    {"name": "France", "capital": "Paris", "subregion": "Western Europe", "borders": ["ESP", "BEL"],
     "demonym": "French", "currencies": ["EUR"], "ISO": {"alpha3": "FRA"}},
    {"name": "Spain", "capital": "Madrid", "subregion": "Southern Europe", "borders": ["FRA", "PRT"],
     "demonym": "Spanish", "currencies": ["EUR"], "ISO": {"alpha3": "ESP"}},
    {"name": "Portugal", "capital": "Lisbon", "subregion": "Southern Europe", "borders": ["ESP"],
     "demonym": "Portuguese", "currencies": ["EUR"], "ISO": {"alpha3": "PRT"}},
    {"name": "Japan", "capital": "Tokyo", "subregion": "Eastern Asia", "borders": [],
     "demonym": "Japanese", "currencies": ["JPY"], "ISO": {"alpha3": "JPN"}},
    {"name": "Belgium", "capital": "Brussels", "subregion": "Western Europe", "borders": ["FRA"],
     "demonym": "Belgian", "currencies": ["EUR"], "ISO": {"alpha3": "BEL"}},
    {"name": "Nowhere", "ISO": {"alpha3": "NWH"}},  # no capital: skipped
]  # fmt: skip


def test_the_shipped_replacements_parse_with_their_labels_and_pins():
    claims, profile, tweets = (tasks.load_task(n) for n in ("country_claims", "country_profile", "vader_tweets3"))
    assert claims.labels == ("false", "true") and claims.metric == "accuracy"
    assert profile.is_generation and profile.metric == "rougeL"
    assert tweets.labels == ("negative", "neutral", "positive") and len(tweets.label_words) == 3
    for t in (claims, profile, tweets):
        assert len(t.examples_sha256) == 64 and t.size > 0  # the examples themselves are pinned
    assert claims.source["asset"] == profile.source["asset"] == "countryinfo"
    assert assets.ASSETS["countryinfo"].version == "1.0.1" and "MIT" in assets.ASSETS["countryinfo"].what
    for name in ("country_claims", "country_profile", "vader_tweets3"):  # the license is written beside the data
        assert "MIT" in tasks.load_task(name).description


def test_their_digests_are_stable():
    """Rows record the digest: it depends on the task file and the pinned examples, not on the machine."""
    got = {n: tasks.load_task(n).digest for n in ("country_claims", "country_profile", "vader_tweets3")}
    assert got == {"country_claims": "0746c782e0ea2e6a", "country_profile": "603c247de524e760",
                   "vader_tweets3": "db7bf15eee380e24"}  # fmt: skip
    assert got == {n: tasks.load_task(n).digest for n in got}


def test_bins_cut_at_the_edges_with_the_upper_edge_inside():
    records = [{"score": s} for s in ("-2.5", "-1.0", "-0.9", "1.0", "1.01", "4")]
    labels = [r["label"] for r in derive.bins(records, "score", [-1.0, 1.0], ["neg", "neu", "pos"])]
    assert labels == ["neg", "neg", "neu", "neu", "pos", "pos"]
    with pytest.raises(BenchError, match="must hold a number"):
        derive.bins([{"score": "n/a"}], "score", [0.0], ["a", "b"])


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"kind": "nope"}, "valid kinds: bins, country_claims, country_profile"),
        ({"kind": "bins", "field": "s", "edges": [1.0, -1.0], "labels": ["a", "b", "c"]}, "increasing"),
        ({"kind": "bins", "field": "s", "edges": [0.0], "labels": ["a", "b", "c"]}, "len\\(edges\\) \\+ 1"),
        ({"kind": "country_claims", "seed": -1}, "seed"),
    ],
)
def test_a_malformed_derive_is_named(spec, message):
    with pytest.raises(BenchError, match=message):
        derive.check(spec, "t.yaml")


def test_claims_are_balanced_seeded_and_false_ones_take_another_countrys_value():
    countries = derive._countries(COUNTRIES)
    claims = derive.country_claims(countries, seed=0)
    assert claims == derive.country_claims(countries, seed=0)  # pure
    assert [c["label"] for c in claims].count("true") == [c["label"] for c in claims].count("false")
    true = {c["claim"] for c in claims if c["label"] == "true"}
    assert {"The capital of France is Paris.", "France borders Belgium.", "Japan lies in Eastern Asia."} <= true
    assert not any("Nowhere" in c["claim"] for c in claims)
    assert not any(c["claim"].startswith("Japan borders") for c in claims)  # no neighbour, no border claim
    for c in claims:
        if c["label"] == "false":
            assert c["claim"] not in true
    other = derive.country_claims(countries, seed=1)
    assert {c["claim"] for c in other} != {c["claim"] for c in claims}  # the seed draws the false values


def test_country_files_in_a_wheel_become_examples(tmp_path):
    """The json_files format reads every country file under the folder (in name order), then derives."""
    wheel = tmp_path / "countryinfo-1.0.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        for c in COUNTRIES:
            z.writestr(f"countryinfo/data/{c['name'].lower()}.json", json.dumps(c))
        z.writestr("countryinfo/__init__.py", "")
    records = {n: json.loads(b) for n, b in assets.read_folder(wheel, "countryinfo/data").items()}
    assert len(records) == len(COUNTRIES)
    with pytest.raises(BenchError, match="no .json files under"):
        assets.read_folder(wheel, "countryinfo/none")
    task = tasks.load_task("country_profile")
    got = examples.to_examples(task, derive.apply(sources._json_files(assets.read_folder(wheel, "countryinfo/data")),
                                                  task.source["derive"]))  # fmt: skip
    assert [e.text.split(",")[0] for e in got] == ["name[Belgium]", "name[France]", "name[Japan]", "name[Portugal]",
                                                   "name[Spain]"]  # fmt: skip
    assert got[1].target == (
        "France is a country in Western Europe whose capital is Paris; its people are French and pay in EUR."
    )


def test_vader_tweets3_reads_its_member_from_the_nested_archive(tmp_path, monkeypatch):
    """The task's own source, read from an sdist laid out like vaderSentiment 3.3.2's (with a toy sha256)."""
    inner = io.BytesIO()
    data = b"1\t-2.5\tawful day\n2\t0.2\tit is tuesday\n3\t1.8\tlovely\n4\t-1.0\tmeh, bad\n"
    with tarfile.open(fileobj=inner, mode="w:gz") as t:
        info = tarfile.TarInfo("hutto_ICWSM_2014/tweets_GroundTruth.txt")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    sdist = tmp_path / "index" / "vaderSentiment-3.3.2.tar.gz"
    sdist.parent.mkdir()
    with tarfile.open(sdist, "w:gz") as t:
        info = tarfile.TarInfo("vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz")
        info.size = len(inner.getvalue())
        t.addfile(info, io.BytesIO(inner.getvalue()))
    real = assets.ASSETS["vaderSentiment"]
    toy = assets.Asset(real.package, real.version, hashlib.sha256(sdist.read_bytes()).hexdigest(), "sdist", 0.1, "t")
    monkeypatch.setitem(assets.ASSETS, "vaderSentiment", toy)
    monkeypatch.setenv("ADAPTER_BENCH_PIP_ARGS", f"--no-index --find-links {sdist.parent}")
    task = tasks.load_task("vader_tweets3")
    got = examples.to_examples(task, sources.read_records(task.source, task.path))
    assert [(e.text, task.labels[e.label]) for e in got] == [
        ("awful day", "negative"),
        ("it is tuesday", "neutral"),
        ("lovely", "positive"),
        ("meh, bad", "negative"),
    ]


def test_json_files_is_for_wheels_only(tmp_path):
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(BenchError, match="json_files reads a folder inside a pinned wheel"):
        sources.read_records({"path": "x.json", "format": "json_files"}, str(tmp_path / "t.yaml"))
