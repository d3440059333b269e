"""The raw-source manifest and the resolver, including real downloads from an HTTP server on 127.0.0.1."""

from __future__ import annotations

import csv
import functools
import hashlib
import http.server
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from g2p import paths
from g2p.data import sources
from g2p.data.errors import DataFormatError
from g2p.data.sources import ChecksumMismatchError, Resolver, Source, SourceUnavailableError
from g2p.errors import InputError

MIRROR = paths.shared_mirror()
needs_mirror = pytest.mark.skipif(not MIRROR.is_dir(), reason="shared data mirror not present")

SHARED_INTERFACE_NAMES = {
    "mp_obo", "go_obo", "hp_obo", "mgi_phenogeno", "mgi_marker_symbols", "mouse_fasta", "mouse_go",
    "human_fasta", "human_go", "hpo_genes_to_phenotype", "hpo_annotations", "bold_coi",
    "bioscan5m_samples", "taesd_config", "taesd_weights",
}  # fmt: skip

PAYLOAD = b"format-version: 1.2\n\n[Term]\nid: T:1\nname: root\n" * 100
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


# --------------------------------------------------------------------------------------------------
# A real HTTP server on 127.0.0.1 serving a temporary folder
# --------------------------------------------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """(folder served, base URL) for a threaded ``http.server`` bound to an ephemeral port."""
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _source(name: str = "tiny", path: str = "ontology/tiny.obo", url: str | None = None, sha256: str | None = PAYLOAD_SHA) -> Source:
    return Source(
        name=name, path=path, url=url, upstream="test fixture", version="1", licence="CC0", citation="none",
        sha256=sha256, bytes=len(PAYLOAD),
    )


def _resolver(tmp_path: Path, *srcs: Source, mirrors: list[Path] | None = None, base_url: str | None = None) -> Resolver:
    return Resolver(
        list(srcs), raw_dir=tmp_path / "raw", mirrors=mirrors if mirrors is not None else [],
        base_url=base_url, hash_cache=tmp_path / "cache" / "sha256.json", progress=False,
    )


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------------------------------
# Downloads
# --------------------------------------------------------------------------------------------------


def test_download_success_lands_atomically_in_raw_dir(tmp_path: Path, http_root: tuple[Path, str]) -> None:
    served, base = http_root
    (served / "files").mkdir()
    (served / "files" / "tiny.obo").write_bytes(PAYLOAD)
    resolver = _resolver(tmp_path, _source(url=f"{base}/files/tiny.obo"))
    path = resolver.resolve("tiny")
    assert path == tmp_path / "raw" / "ontology" / "tiny.obo"
    assert path.read_bytes() == PAYLOAD
    assert _files(tmp_path / "raw") == ["ontology/tiny.obo"]  # no temp file left beside it
    # A second resolve finds the local copy and does not need the server any more.
    (served / "files" / "tiny.obo").unlink()
    assert resolver.resolve("tiny") == path


def test_download_from_data_release_url(tmp_path: Path, http_root: tuple[Path, str], monkeypatch: pytest.MonkeyPatch) -> None:
    served, base = http_root
    (served / "release" / "ontology").mkdir(parents=True)
    (served / "release" / "ontology" / "tiny.obo").write_bytes(PAYLOAD)
    monkeypatch.setenv(sources.RELEASE_URL_ENV, f"{base}/release/")
    resolver = _resolver(tmp_path, _source(url=None))  # derived file: only in the data release
    assert resolver.resolve("tiny").read_bytes() == PAYLOAD


def test_checksum_mismatch_leaves_nothing(tmp_path: Path, http_root: tuple[Path, str]) -> None:
    served, base = http_root
    (served / "tiny.obo").write_bytes(PAYLOAD + b"tampered\n")
    url = f"{base}/tiny.obo"
    resolver = _resolver(tmp_path, _source(url=url))
    with pytest.raises(ChecksumMismatchError) as info:
        resolver.resolve("tiny")
    message = str(info.value)
    assert str(tmp_path / "raw" / "ontology" / "tiny.obo") in message
    assert PAYLOAD_SHA in message and hashlib.sha256(PAYLOAD + b"tampered\n").hexdigest() in message
    assert url in message
    assert _files(tmp_path / "raw") == []


def test_http_404_names_file_and_url(tmp_path: Path, http_root: tuple[Path, str]) -> None:
    _, base = http_root
    url = f"{base}/missing/tiny.obo"
    with pytest.raises(SourceUnavailableError) as info:
        _resolver(tmp_path, _source(url=url)).resolve("tiny")
    message = str(info.value)
    assert "'tiny'" in message and "ontology/tiny.obo" in message and url in message and "404" in message
    assert "G2P_DATA_MIRROR" in message
    assert _files(tmp_path / "raw") == []


def test_server_down_names_file_and_url(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_free_port()}/tiny.obo"  # nothing listens there
    with pytest.raises(SourceUnavailableError) as info:
        _resolver(tmp_path, _source(url=url)).resolve("tiny")
    message = str(info.value)
    assert "'tiny'" in message and url in message and "G2P_DATA_MIRROR" in message and "G2P_DATA_URL" in message
    assert _files(tmp_path / "raw") == []


def test_no_url_and_no_release_says_what_to_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(sources.RELEASE_URL_ENV, raising=False)
    with pytest.raises(SourceUnavailableError, match=r"\$G2P_DATA_MIRROR.*\$G2P_DATA_URL") as info:
        _resolver(tmp_path, _source(url=None)).resolve("tiny")
    assert "ontology/tiny.obo" in str(info.value)


# --------------------------------------------------------------------------------------------------
# Resolution order
# --------------------------------------------------------------------------------------------------


def _place(root: Path, relative: str, content: bytes) -> Path:
    target = root / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
    return target


def test_resolution_order_raw_then_mirror_then_shared(tmp_path: Path) -> None:
    rel = "ontology/tiny.obo"
    mirror, shared = tmp_path / "mirror", tmp_path / "shared"
    in_shared = _place(shared, rel, b"shared")
    # unpinned (sha256 None) so that three different contents can stand for three copies
    resolver = _resolver(tmp_path, _source(url="http://127.0.0.1:9/never-used", sha256=None), mirrors=[mirror, shared])
    assert resolver.resolve("tiny") == in_shared
    in_mirror = _place(mirror, rel, b"mirror")
    assert resolver.resolve("tiny") == in_mirror
    in_raw = _place(tmp_path / "raw", rel, b"raw")
    assert resolver.resolve("tiny") == in_raw
    assert _files(tmp_path / "raw") == [rel]  # mirror files are used in place, never copied


@needs_mirror
def test_env_mirror_beats_shared_mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_mirror = tmp_path / "env-mirror"
    monkeypatch.delenv(sources.MIRROR_ENV, raising=False)
    resolver = Resolver(raw_dir=tmp_path / "raw", hash_cache=tmp_path / "h.json", progress=False)
    assert resolver.resolve("mp_obo") == MIRROR / "ontology" / "mp.obo.gz"
    mine = _place(env_mirror, "ontology/mp.obo.gz", (MIRROR / "ontology" / "mp.obo.gz").read_bytes())
    monkeypatch.setenv(sources.MIRROR_ENV, str(env_mirror))
    assert resolver.resolve("mp_obo") == mine
    assert sources.resolve("mp_obo", raw_dir=tmp_path / "raw") == mine


def test_env_mirror_that_is_not_a_folder_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(sources.MIRROR_ENV, str(tmp_path / "no-such-mirror"))
    resolver = _resolver(tmp_path, _source())
    resolver._mirrors = None  # the environment's mirrors, not the test's
    with pytest.raises(InputError, match="does not exist") as info:
        resolver.resolve("tiny")
    assert info.value.field == sources.MIRROR_ENV and str(tmp_path / "no-such-mirror") in str(info.value)


@pytest.mark.parametrize("where", ["raw", "mirror"])
def test_local_copy_that_differs_from_the_pin_is_an_error(tmp_path: Path, where: str) -> None:
    mirror = tmp_path / "mirror"
    copy = _place(tmp_path / where, "ontology/tiny.obo", PAYLOAD[: len(PAYLOAD) // 2])  # cut in half
    _place(mirror, "ontology/other.obo", PAYLOAD)
    resolver = _resolver(tmp_path, _source(url="http://127.0.0.1:9/never-used"), mirrors=[mirror])
    with pytest.raises(ChecksumMismatchError) as info:
        resolver.resolve("tiny")
    message = str(info.value)
    assert str(copy) in message and PAYLOAD_SHA in message and sources.sha256_file(copy) in message


def test_resolve_dir_needs_all_members_in_one_root(tmp_path: Path) -> None:
    config = _source("cfg", "models/m/config.json", url="http://127.0.0.1:9/x", sha256=hashlib.sha256(b"{}").hexdigest())
    weights = _source("w", "models/m/weights.bin", url="http://127.0.0.1:9/y", sha256=hashlib.sha256(b"w").hexdigest())
    group = sources.Group("m", "models/m", ("cfg", "w"))
    mirror = tmp_path / "mirror"
    resolver = Resolver([config, weights], groups={"m": group}, raw_dir=tmp_path / "raw", mirrors=[mirror],
                        hash_cache=tmp_path / "h.json", progress=False)
    _place(tmp_path / "raw", config.path, b"{}")  # only half the model in raw
    _place(mirror, config.path, b"{}")
    _place(mirror, weights.path, b"w")
    assert resolver.resolve_dir("m") == mirror / "models" / "m"
    _place(mirror, weights.path, b"damaged")
    with pytest.raises(ChecksumMismatchError, match="weights.bin"):
        resolver.resolve_dir("m")
    with pytest.raises(InputError, match="unknown source group"):
        resolver.resolve_dir("nope")


def test_unknown_source_lists_known_names(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="tiny"):
        _resolver(tmp_path, _source()).resolve("tiniest")


# --------------------------------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------------------------------


def test_verify_and_verify_all_use_the_hash_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from g2p import checksums

    monkeypatch.setattr(checksums, "RACY_S", 0.0)  # memoise files written a moment ago (see the next test)
    mirror = tmp_path / "mirror"
    good = _place(mirror, "a/good.obo", PAYLOAD)
    _place(mirror, "a/bad.obo", b"other bytes")
    resolver = _resolver(
        tmp_path, _source("good", "a/good.obo"), _source("bad", "a/bad.obo"), _source("gone", "a/gone.obo"),
        mirrors=[mirror],
    )
    assert resolver.verify("good") == good
    assert resolver.verify_all() == {"good": "ok", "bad": "mismatch", "gone": "missing"}
    cache = (tmp_path / "cache" / "sha256.json").read_text()
    assert PAYLOAD_SHA in cache
    with pytest.raises(ChecksumMismatchError, match="expected"):
        resolver.verify("bad")
    # A changed file (size/mtime differ) is hashed again rather than served from the cache.
    good.write_bytes(PAYLOAD + b"x")
    assert resolver.verify_all()["good"] == "mismatch"


def test_the_digest_cache_never_stands_in_for_a_rewritten_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Other bytes of the same size with the mtime set back (``touch -d``, ``cp -p``) get a new ctime,
    which the memo is keyed on; a file changed just before it was hashed is not memoised at all."""
    import os
    import time

    from g2p import checksums

    cache = checksums.DigestCache(tmp_path / "cache" / "sha256.json")
    path = _place(tmp_path, "f.bin", b"a" * 100)
    assert cache.sha256(path) == hashlib.sha256(b"a" * 100).hexdigest()
    assert not cache.file.exists(), "a file written within RACY_S of its hashing must not be memoised"
    monkeypatch.setattr(checksums, "RACY_S", 0.05)
    time.sleep(0.1)
    assert cache.sha256(path) == hashlib.sha256(b"a" * 100).hexdigest()
    entry = json.loads(cache.file.read_text())[str(path.resolve())]
    assert {"size", "mtime_ns", "ctime_ns", "inode", "device", "sha256"} <= set(entry)
    stat = path.stat()
    time.sleep(0.05)
    path.write_bytes(b"b" * 100)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same size, same mtime
    assert path.stat().st_size == stat.st_size and path.stat().st_mtime_ns == stat.st_mtime_ns
    assert cache.sha256(path) == hashlib.sha256(b"b" * 100).hexdigest()


# --------------------------------------------------------------------------------------------------
# The real manifest
# --------------------------------------------------------------------------------------------------


def test_manifest_names_and_fields() -> None:
    entries = sources.manifest()
    names = [s.name for s in entries]
    assert len(names) == len(set(names))
    assert SHARED_INTERFACE_NAMES <= set(names)
    for source in entries:
        assert source.licence and source.citation and source.upstream and source.version, source.name
        assert source.url is None or source.url.startswith("https://"), source.name
        assert source.sha256 and len(source.sha256) == 64
    # Byte-identical public copies have URLs; derived / recompressed files come from the data release.
    by_name = {s.name: s for s in entries}
    assert by_name["go_obo"].url and by_name["mgi_phenogeno"].url and by_name["bioscan5m_samples"].url
    assert by_name["mp_obo"].url is None and by_name["mouse_fasta"].url is None
    assert sources.checksums() == {s.name: s.sha256 for s in entries}


def _release_manifest() -> list[Source]:
    """The package's manifest (the data release); a user's own files live in $G2P_EXTRA_SOURCES manifests."""
    return list(sources.load_manifest(sources.MANIFEST_FILE)[0].values())


@needs_mirror
def test_manifest_matches_mirror_manifest_tsv() -> None:
    with open(MIRROR / "MANIFEST.tsv", newline="") as fh:
        pinned = {row["path"]: row for row in csv.DictReader(fh, delimiter="\t")}
    release = [s for s in _release_manifest() if s.path in pinned]  # a row of the user's own may be in the file too
    for source in release:
        assert source.sha256 == pinned[source.path]["sha256"], source.name
        assert source.bytes == int(pinned[source.path]["bytes"]), source.name
    covered = {s.path for s in release}
    assert set(pinned) - covered == {"README.md"}, "every file of the data release has a manifest entry"


@needs_mirror
def test_every_source_resolves_from_the_shared_mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(sources.MIRROR_ENV, raising=False)
    resolver = Resolver(raw_dir=tmp_path / "raw", hash_cache=tmp_path / "h.json", progress=False)
    for source in _release_manifest():
        if not (MIRROR / source.path).is_file():  # not a release file: the user's own, resolved where they keep it
            assert sources.Resolver(progress=False).locate(source.name) is not None, source.name
            continue
        assert resolver.resolve(source.name) == MIRROR / source.path
    assert resolver.resolve_dir("taesd") == MIRROR / "models" / "taesd"
    assert resolver.verify("mgi_marker_symbols") == MIRROR / "mouse" / "MGI_marker_symbols.tsv.gz"
    assert not (tmp_path / "raw").exists()


@needs_mirror
def test_bioscan1m_image(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(sources.MIRROR_ENV, raising=False)
    orders = sources.bioscan1m_orders()
    assert len(orders) == 19 and "Diptera" in orders
    path = sources.bioscan1m_image("Diptera")
    assert path.name == "Diptera.jpg" and path.read_bytes()[:2] == b"\xff\xd8"
    with pytest.raises(ValueError, match="Archaeognatha"):
        sources.bioscan1m_image("Primates")


def test_extra_manifests_add_a_users_sources_and_refuse_clashes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mirror = tmp_path / "mirror"
    _place(mirror, "own/labels.tsv", PAYLOAD)
    own = tmp_path / "own.yaml"
    entry = {"name": "own_labels", "path": "own/labels.tsv", "url": None, "upstream": "mine", "version": "1",
             "licence": "CC0", "citation": "none", "sha256": PAYLOAD_SHA}
    own.write_text(yaml.safe_dump({"sources": [entry]}))
    monkeypatch.setenv(sources.EXTRA_ENV, str(own))
    monkeypatch.setenv(sources.MIRROR_ENV, str(mirror))
    assert sources.resolve("own_labels") == mirror / "own/labels.tsv"
    assert "go_obo" in sources.checksums() and sources.checksums()["own_labels"] == PAYLOAD_SHA
    own.write_text(yaml.safe_dump({"sources": [{**entry, "name": "go_obo", "upstream": "mine, changed"}]}))
    with pytest.raises(DataFormatError, match="'go_obo' is already defined"):
        sources.resolve("own_labels")
