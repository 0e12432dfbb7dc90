"""The asset fetcher against locally built archives (offline): checksum good and bad, and an sdist is only
read, never run."""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile

import pytest

from bench.catalog import assets
from bench.errors import BenchError


def build_wheel(folder, name="toy_assets", version="0.1.0"):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}-{version}-py3-none-any.whl"
    inner = io.BytesIO()
    with tarfile.open(fileobj=inner, mode="w:gz") as t:
        data = b"1\t2.5\tgreat\n2\t-1.0\tbad\n"
        info = tarfile.TarInfo("inner/data.tsv")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    dist = f"{name}-{version}.dist-info"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(f"{name}/model/config.json", '{"architectures": ["BertModel"]}')
        z.writestr(f"{name}/data/nested.tar.gz", inner.getvalue())
        z.writestr(f"{dist}/METADATA", f"Metadata-Version: 2.1\nName: {name.replace('_', '-')}\nVersion: {version}\n")
        z.writestr(f"{dist}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        z.writestr(f"{dist}/RECORD", "")
    return path


@pytest.fixture()
def local_index(tmp_path, monkeypatch):
    wheel = build_wheel(tmp_path / "index")
    monkeypatch.setenv("ADAPTER_BENCH_PIP_ARGS", f"--no-index --find-links {wheel.parent}")
    return wheel


def test_fetch_verifies_and_caches(local_index, tmp_path):
    sha = hashlib.sha256(local_index.read_bytes()).hexdigest()
    asset = assets.Asset("toy-assets", "0.1.0", sha, "wheel", 0.0, "test")
    path = assets.fetch(asset)
    assert path.parent == assets.cache_dir() / "archives" and assets.sha256_of(path) == sha
    local_index.unlink()  # a second fetch is served from the cache, without pip
    assert assets.fetch(asset) == path
    assert assets.read_member(path, "toy_assets/model/config.json").startswith(b"{")
    nested = assets.read_member(path, ["toy_assets/data/nested.tar.gz", "inner/data.tsv"])
    assert nested.splitlines()[1] == b"2\t-1.0\tbad"
    out = assets.extract_tree(path, "toy_assets/model", tmp_path / "model")
    assert (out / "config.json").is_file()


def test_checksum_mismatch_is_refused_and_not_kept(local_index):
    asset = assets.Asset("toy-assets", "0.1.0", "0" * 64, "wheel", 0.0, "test")
    with pytest.raises(BenchError, match="checksum mismatch .* expected sha256 0000"):
        assets.fetch(asset)
    assert not list((assets.cache_dir() / "archives").glob("*.whl"))


def test_missing_package_and_member(local_index):
    with pytest.raises(BenchError, match="cannot fetch no-such-pkg==1.0"):
        assets.fetch(assets.Asset("no-such-pkg", "1.0", "0" * 64, "wheel", 0.0, "test"))
    with pytest.raises(BenchError, match="not found inside"):
        assets.read_member(local_index, "nope.txt")
    with pytest.raises(BenchError, match="unknown asset 'nope'; valid assets:"):
        assets.get_asset("nope")


def test_cache_dir_env_override(monkeypatch, tmp_path):
    monkeypatch.setenv("ADAPTER_BENCH_CACHE", str(tmp_path / "c"))
    assert assets.cache_dir() == tmp_path / "c"
    monkeypatch.delenv("ADAPTER_BENCH_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert assets.cache_dir() == tmp_path / "x" / "adapter-bench"


def test_every_builtin_asset_is_pinned():
    for a in assets.ASSETS.values():
        assert len(a.sha256) == 64 and a.kind in ("wheel", "sdist") and a.version


def build_sdist(folder, marker, name="toy_sdist", version="1.0.0"):
    """An sdist whose setup code writes `marker`: building its metadata (what `pip download` does) runs it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}-{version}.tar.gz"
    files = {
        f"{name}-{version}/setup.py": f"open({str(marker)!r}, 'w').write('ran')\nfrom setuptools import setup\nsetup()\n",
        f"{name}-{version}/PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{name}-{version}/data/rows.tsv": "1\tgreat\n",
    }
    with tarfile.open(path, "w:gz") as t:
        for member, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(member)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.parametrize("layout", ["simple index", "find-links folder"])
def test_an_sdist_is_fetched_and_read_never_run(layout, tmp_path, monkeypatch):
    marker = tmp_path / "setup-ran"
    if layout == "simple index":  # PEP 503: <index>/<project>/index.html linking the file
        sdist = build_sdist(tmp_path / "files", marker)
        project = tmp_path / "simple" / "toy-sdist"
        project.mkdir(parents=True)
        rel = f"../../files/{sdist.name}"
        (project / "index.html").write_text(f'<html><body><a href="{rel}#sha256=x">{sdist.name}</a></body></html>')
        monkeypatch.setenv("ADAPTER_BENCH_PIP_ARGS", f"--index-url {(tmp_path / 'simple').as_uri()}")
    else:
        sdist = build_sdist(tmp_path / "links", marker)
        monkeypatch.setenv("ADAPTER_BENCH_PIP_ARGS", f"--no-index --find-links {sdist.parent}")
    sha = hashlib.sha256(sdist.read_bytes()).hexdigest()
    asset = assets.Asset("toy_sdist", "1.0.0", sha, "sdist", 0.0, "test")
    path = assets.fetch(asset)
    assert assets.sha256_of(path) == sha and path.read_bytes() == sdist.read_bytes()
    assert assets.read_member(path, "toy_sdist-1.0.0/data/rows.tsv") == b"1\tgreat\n"
    assert not marker.exists()  # the setup code never ran
    with pytest.raises(BenchError, match="checksum mismatch"):
        assets.fetch(assets.Asset("toy_sdist", "1.0.0", "1" * 64, "sdist", 0.0, "test"), tmp_path / "other-cache")
    assert not marker.exists()


def test_index_settings_follow_pip_and_the_bench_variable(monkeypatch):
    from bench.catalog import index

    monkeypatch.setattr(index, "_pip_config", lambda: {"index-url": "https://mirror/simple", "find-links": "/a /b"})
    monkeypatch.setenv("ADAPTER_BENCH_PIP_ARGS", "--extra-index-url=https://more/simple -f /c")
    got = index.settings()
    assert got.index_urls == ("https://mirror/simple", "https://more/simple")
    assert got.find_links == ("/a", "/b", "/c") and not got.no_index
    assert index.settings("--no-index").no_index
