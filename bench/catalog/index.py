"""Where a pinned archive is downloaded from: the package index pip is configured with, read directly.

Never `pip download`: for an sdist pip builds the package's metadata, which runs the archive's setup
code (and installs setuptools) before anyone has checked its sha256. Here the archive file itself is
found on the index's simple page (PEP 503) or in a find-links folder or page, downloaded, and handed
back to be verified; nothing in it is run.

Settings, later ones winning: pip's configuration (`pip config list`: files and PIP_* variables;
index-url, extra-index-url, find-links, no-index), then $ADAPTER_BENCH_PIP_ARGS (`--index-url URL`,
`--extra-index-url URL`, `--find-links DIR|URL`, `--no-index`).
"""

from __future__ import annotations

import base64
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from bench.errors import BenchError

PYPI = "https://pypi.org/simple"
TIMEOUT_S = 60  # per read from the server
DOWNLOAD_S = 900  # a whole download: a server that drips bytes is cut off


@dataclass(frozen=True)
class Settings:
    index_urls: tuple[str, ...] = (PYPI,)  # the index first, then the extra indexes
    find_links: tuple[str, ...] = ()
    no_index: bool = False

    def where(self) -> str:
        places = [*self.find_links, *(() if self.no_index else self.index_urls)]
        return ", ".join(map(masked, places)) or "(no index and no find-links)"


def masked(url: str) -> str:
    """The URL with its password hidden, as pip prints it: https://user:****@host/... (a lone token: ****@host)."""
    try:
        parsed = urllib.parse.urlsplit(url)
        if not parsed.username and not parsed.password:
            return url
        host = parsed.netloc.rpartition("@")[2]
        who = f"{parsed.username}:****" if parsed.password is not None else "****"
        return parsed._replace(netloc=f"{who}@{host}").geturl()
    except ValueError:  # a malformed port or netloc: hide everything before the host
        return re.sub(r"//[^/@]*@", "//****@", url)


def _pip_config() -> dict[str, str]:
    """pip's own view of its configuration: key -> value, environment over files, `download`/`install`
    sections over `global`."""
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.SubprocessError):
        return {}
    rank = {"global": 0, "install": 1, "download": 2, ":env:": 3}
    found: dict[str, tuple[int, str]] = {}
    for line in proc.stdout.splitlines():
        m = re.match(r"^([^.=]+)\.([\w-]+)=(.*)$", line.strip())
        if not m or m.group(1) not in rank:
            continue
        value = m.group(3).strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        r = rank[m.group(1)]
        if m.group(2) not in found or r >= found[m.group(2)][0]:
            found[m.group(2)] = (r, value)
    return {k: v for k, (_, v) in found.items()}


def _pip_config_files() -> list[str]:
    """Every file pip may read its configuration from, on any platform (pip's `get_configuration_files`, both
    file names): $PIP_CONFIG_FILE; the global ones ($XDG_CONFIG_DIRS/pip, /etc, the system folders of macOS and
    Windows); the interpreter's (sys.prefix); the user's (~/.pip, ~/pip, $XDG_CONFIG_HOME/pip or ~/.config/pip,
    ~/Library/Application Support/pip, %APPDATA%/pip). More places than pip reads do no harm."""
    home = Path.home()
    xdg_dirs = os.environ.get("XDG_CONFIG_DIRS") or "/etc/xdg"
    folders = [os.path.join(d, "pip") for d in xdg_dirs.split(os.pathsep) if d] + ["/etc", sys.prefix]
    folders += [os.path.join(os.environ.get("XDG_CONFIG_HOME") or home / ".config", "pip"), home / ".pip", home / "pip"]
    folders += [home / "Library/Application Support/pip", "/Library/Application Support/pip"]
    folders += [
        os.path.join(os.environ[v], "pip") for v in ("APPDATA", "PROGRAMDATA", "ALLUSERSPROFILE") if v in os.environ
    ]
    files = [os.path.join(f, name) for f in folders for name in ("pip.conf", "pip.ini")]
    return [os.environ["PIP_CONFIG_FILE"], *files] if os.environ.get("PIP_CONFIG_FILE") else files


def config_inputs() -> str:
    """What settings() depends on, read without running pip (which takes a process and its imports): the
    interpreter, every PIP_* variable, $ADAPTER_BENCH_PIP_ARGS and each of pip's configuration files (size,
    modification time; absent). Equal inputs give equal settings; bench.catalog.availability keys its kept
    listings on them, so a listing still kept needs no pip."""
    stats = []
    for f in _pip_config_files():
        try:
            st = os.stat(f)
            stats.append((f, st.st_size, st.st_mtime_ns, st.st_ino))
        except OSError:
            stats.append((f, None))
    env = sorted((k, v) for k, v in os.environ.items() if k.startswith("PIP_") or k == "ADAPTER_BENCH_PIP_ARGS")
    return repr((sys.executable, sys.prefix, env, stats))


def settings(pip_args: str | None = None) -> Settings:
    cfg = _pip_config()
    index = cfg.get("index-url", PYPI)
    extra = cfg.get("extra-index-url", "").split()
    links = cfg.get("find-links", "").split()
    no_index = cfg.get("no-index", "").lower() in ("1", "true", "yes", "on")
    args = shlex.split(os.environ.get("ADAPTER_BENCH_PIP_ARGS", "") if pip_args is None else pip_args)
    i = 0
    while i < len(args):
        a, value = args[i], args[i + 1] if i + 1 < len(args) else ""
        key, _, inline = a.partition("=")
        if key in ("--index-url", "-i", "--extra-index-url", "--find-links", "-f"):
            if not inline:
                i += 1
            value = inline or value
            if key in ("--index-url", "-i"):
                index = value
            elif key == "--extra-index-url":
                extra.append(value)
            else:
                links.append(value)
        elif a == "--no-index":
            no_index = True
        i += 1
    return Settings((index, *extra), tuple(links), no_index)


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href)


def _local(location: str) -> Path | None:
    parsed = urllib.parse.urlparse(location)
    if parsed.scheme == "file":
        return Path(urllib.request.url2pathname(parsed.path))
    if parsed.scheme in ("http", "https"):
        return None
    return Path(location).expanduser()


class _AuthStaysOnHost(urllib.request.HTTPRedirectHandler):
    """Redirects carry the credentials only to the same scheme, host and port (as pip does): urllib's own
    handler would send the Authorization header to whatever host a redirect names."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        auth = req.unredirected_hdrs.get("Authorization")
        if new is not None and auth and _origin(req.full_url) == _origin(newurl):
            new.add_unredirected_header("Authorization", auth)
        return new


def _origin(url: str) -> tuple:
    p = urllib.parse.urlsplit(url)
    return p.scheme, p.hostname, p.port


def _open(url: str, timeout: float = TIMEOUT_S):
    """urlopen with the credentials a URL may carry (https://user:token@host/...), for that host only."""
    parsed = urllib.parse.urlparse(url)
    headers = {"User-Agent": "adapter-bench", "Accept": "text/html"}
    request = urllib.request.Request(url, headers=headers)
    if parsed.username:
        token = f"{urllib.parse.unquote(parsed.username)}:{urllib.parse.unquote(parsed.password or '')}"
        url = parsed._replace(netloc=parsed.hostname + (f":{parsed.port}" if parsed.port else "")).geturl()
        request = urllib.request.Request(url, headers=headers)
        request.add_unredirected_header("Authorization", "Basic " + base64.b64encode(token.encode()).decode())
    return urllib.request.build_opener(_AuthStaysOnHost).open(request, timeout=timeout)


def _listing(location: str, timeout: float = TIMEOUT_S) -> list[tuple[str, str]]:
    """(file name, where to get it) for every file a folder, a simple page or a find-links page lists."""
    folder = _local(location)
    if folder is not None:
        if folder.is_file():  # a page saved as a file
            return _page(folder.read_text(errors="replace"), folder.as_uri())
        if not folder.is_dir():
            return []
        if (folder / "index.html").is_file():
            return _page((folder / "index.html").read_text(errors="replace"), folder.as_uri() + "/")
        return [(p.name, str(p)) for p in sorted(folder.iterdir()) if p.is_file()]
    try:
        with _open(location, timeout) as r:
            return _page(r.read().decode("utf-8", errors="replace"), r.geturl())
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return []
        raise BenchError(f"cannot read package index {masked(location)}: HTTP {e.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as e:
        why = masked(str(getattr(e, "reason", e)))
        raise BenchError(f"cannot reach package index {masked(location)}: {why}") from None


def _page(text: str, base: str) -> list[tuple[str, str]]:
    parser = _Links()
    parser.feed(text)
    out = []
    for href in parser.hrefs:
        url = urllib.parse.urljoin(base, href)
        name = urllib.parse.unquote(urllib.parse.urlparse(url).path.rsplit("/", 1)[-1])
        if name:
            out.append((name, url.split("#", 1)[0]))
    return out


def normalized(package: str) -> str:
    """PEP 503 project name."""
    return re.sub(r"[-_.]+", "-", package).lower()


def candidates(package: str, cfg: Settings) -> list[tuple[str, str]]:
    """(file name, location) of the package's files: find-links first, then each index's simple page."""
    out = []
    for link in cfg.find_links:
        out += _listing(link)
    if not cfg.no_index:
        for index in cfg.index_urls:
            out += _listing(index.rstrip("/") + "/" + normalized(package) + "/")
    return out


def download(location: str, dest: Path, max_bytes: int | None = None) -> None:
    """Copy one archive to `dest`, byte for byte; more than `max_bytes` (the pinned archive's size and a
    margin), or a download past DOWNLOAD_S seconds, stops it with BenchError."""
    local = _local(location)
    try:
        if local is not None:
            if max_bytes is not None and local.stat().st_size > max_bytes:
                raise BenchError(f"{local} is larger than the pinned archive ({max_bytes} bytes at most)")
            shutil.copyfile(local, dest)
            return
        with _open(location) as r, open(dest, "wb") as f:
            _copy_bounded(r, f, max_bytes, masked(location))
    except (urllib.error.URLError, OSError, ValueError) as e:
        why = masked(str(getattr(e, "reason", None) or e))
        raise BenchError(f"cannot download {masked(location)}: {why}") from None


def _copy_bounded(src, dest, max_bytes: int | None, shown: str) -> None:
    start, got = time.monotonic(), 0
    while chunk := src.read(1 << 16):
        got += len(chunk)
        if max_bytes is not None and got > max_bytes:
            raise BenchError(f"cannot download {shown}: more than the pinned archive's {max_bytes} bytes; stopped")
        if time.monotonic() - start > DOWNLOAD_S:
            raise BenchError(f"cannot download {shown}: still going after {DOWNLOAD_S} s; stopped")
        dest.write(chunk)


PROBE_TIMEOUT_S = 4.0  # a listing check (bench list, assets check): an index that slow counts as unreachable


@dataclass
class Listed:
    """What the configured places list for one package, without downloading anything."""

    names: list[str]
    unreachable: list[str]  # places that could not be read (offline, timeout, HTTP error)


def listed(package: str, cfg: Settings, skip: set[str] | None = None, timeout: float | None = None) -> Listed:
    """The file names the find-links and indexes list for `package`: one request per place, a short timeout.
    Places in `skip` (found unreachable before, in this process) are not tried again and count as
    unreachable; places that fail are added to it."""
    skip = set() if skip is None else skip
    timeout = PROBE_TIMEOUT_S if timeout is None else timeout
    places = [(link, link) for link in cfg.find_links]
    if not cfg.no_index:
        places += [(i, i.rstrip("/") + "/" + normalized(package) + "/") for i in cfg.index_urls]
    out = Listed([], [])
    for place, url in places:
        if place in skip:
            out.unreachable.append(place)
            continue
        try:
            out.names += [name for name, _ in _listing(url, timeout)]
        except (BenchError, OSError, ValueError):
            skip.add(place)
            out.unreachable.append(place)
    return out
