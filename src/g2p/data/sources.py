"""The manifest of raw input files and where to find them: local copy → mirror → download.

``sources.yaml`` (next to this module) lists every raw file the project reads, with its location
inside the data folders, its pinned sha256, licence, citation and where it came from.  ``resolve(name)``
returns a local path, looking in this order:

1. ``data/raw/<path>``  (earlier downloads),
2. ``$G2P_DATA_MIRROR/<path>``  (a local copy of the data release, used in place),
3. ``<repo>/../shared/g2p-data/<path>``  (the sibling mirror, :func:`g2p.paths.shared_mirror`),
4. a download into ``data/raw/<path>``.

Mirror files are used in place, never copied.  Every file is checked against its pinned sha256
wherever it comes from: a download before it is put in place, a local copy (``data/raw`` or a
mirror) each time it is resolved.  Digests are memoised in ``data/cache/sha256.json`` keyed on the
file's path, size, mtime, ctime and inode (:class:`g2p.checksums.DigestCache`: a file rewritten with
its size and mtime kept is hashed again), so a warm run costs one ``stat`` per file.  A copy whose
digest differs is an error naming the file and both digests, and a copy's path holding a folder is an
error too; neither falls back silently to another copy.  ``$G2P_DATA_MIRROR`` naming a folder that does not exist is an error.

Why not ``pooch``: pooch (SciPy, scikit-image, MNE) keeps one cache folder, copies or downloads
every file into it and re-hashes each file on every ``fetch``.  Here mirror files are used in place
from several roots, the manifest carries licence and citation fields pooch's registry has no room
for, and digests are cached; pooch would replace only the ~40 lines of the HTTP download itself
(atomic, hash-checked, with a progress bar — which this module already does with ``urllib`` and
``tqdm``), at the cost of a new dependency.

Download URLs: a source whose mirror file is byte-identical to a public file has that file's URL.
A file derived or recompressed for this project has no public URL with those exact bytes; it is
fetched from the project's data release, published at ``$G2P_DATA_URL`` (``$G2P_DATA_URL/<path>``).
No default host is assumed: without a mirror and without ``$G2P_DATA_URL`` the error says what to set.

Everything is injectable for tests and other setups: ``Resolver(sources=..., raw_dir=...,
mirrors=[...], base_url=...)``; the module-level functions use a default resolver.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from tqdm.auto import tqdm

from g2p import atomic, paths
from g2p.checksums import DigestCache, sha256_file
from g2p.data.errors import DataFormatError
from g2p.errors import ChecksumError, InputError

__all__ = [
    "Source",
    "Group",
    "SourceUnavailableError",
    "ChecksumMismatchError",
    "Resolver",
    "MANIFEST_FILE",
    "load_manifest",
    "manifest",
    "checksums",
    "resolve",
    "resolve_dir",
    "bioscan1m_image",
    "bioscan1m_orders",
    "verify",
    "verify_all",
    "sha256_file",
]

MANIFEST_FILE = Path(__file__).with_name("sources.yaml")
MIRROR_ENV = "G2P_DATA_MIRROR"
RELEASE_URL_ENV = "G2P_DATA_URL"
#: Further manifests (same format as sources.yaml, separated by os.pathsep): the raw files of a user's own datasets.
EXTRA_ENV = "G2P_EXTRA_SOURCES"
_CHUNK = 1 << 20
_TIMEOUT_S = 60


@dataclass(frozen=True)
class Source:
    """One raw file: where it lives, what it is, and how to check it."""

    name: str
    path: str  # relative path inside data/raw, the mirrors and the data release
    url: str | None  # public URL with exactly these bytes; None → data release ($G2P_DATA_URL)
    upstream: str  # original provenance (may differ in bytes: derived or recompressed)
    version: str
    licence: str
    citation: str
    sha256: str | None  # pinned hash; None disables verification
    bytes: int | None = None
    description: str = ""

    def download_url(self, base_url: str | None) -> str | None:
        """The URL to fetch this file from, or None when it needs a data release URL and none is set."""
        if self.url:
            return self.url
        if base_url:
            return f"{base_url.rstrip('/')}/{self.path}"
        return None


@dataclass(frozen=True)
class Group:
    """Sources that must sit together in one folder (e.g. a diffusers model's config and weights)."""

    name: str
    path: str
    members: tuple[str, ...]


class SourceUnavailableError(InputError, FileNotFoundError):
    """A raw file is in no local folder and could not be downloaded."""


class ChecksumMismatchError(DataFormatError, ChecksumError):
    """A file's sha256 differs from the pinned one."""


# --------------------------------------------------------------------------------------------------
# Manifest
# --------------------------------------------------------------------------------------------------


def _source_from_entry(entry: Mapping[str, object], manifest_path: Path, index: int) -> Source:
    if not isinstance(entry, Mapping):
        raise DataFormatError(manifest_path, f"source #{index} is not a mapping of fields", field="sources")
    required = {"name", "path", "upstream", "version", "licence", "citation", "sha256"}
    missing = sorted(required - set(entry))
    if missing:
        raise DataFormatError(manifest_path, f"source #{index} lacks {missing}", field=", ".join(missing))
    unknown = sorted(set(entry) - set(Source.__dataclass_fields__))
    if unknown:
        raise DataFormatError(manifest_path, f"source {entry['name']!r} has unknown keys {unknown}")
    for key in ("name", "path", "sha256"):
        value = entry[key]
        if key == "sha256" and value is None:
            continue
        if not isinstance(value, str) or not value:
            raise DataFormatError(manifest_path, f"source #{index}: {key} must be a non-empty string, got {value!r}",
                                  field=key)
    sha = entry["sha256"]
    if sha is not None and (len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha)):
        raise DataFormatError(manifest_path, f"source {entry['name']!r}: sha256 must be 64 lower-case hex digits, "
                              f"got {sha!r}", field="sha256")
    if Path(str(entry["path"])).is_absolute() or ".." in Path(str(entry["path"])).parts:
        raise DataFormatError(manifest_path, f"source {entry['name']!r}: path must be relative to the data folder, "
                              f"got {entry['path']!r}", field="path")
    return Source(**entry)  # type: ignore[arg-type]


def load_manifest(path: Path = MANIFEST_FILE) -> tuple[dict[str, Source], dict[str, Group]]:
    """Parse a manifest YAML into ``{name: Source}`` and ``{name: Group}``."""
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise DataFormatError(path, "data manifest not found") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise DataFormatError(path, f"not valid YAML: {getattr(exc, 'problem', exc)}",
                              line=mark.line + 1 if mark is not None else None) from exc
    if not isinstance(document, Mapping) or not isinstance(document.get("sources", []), list):
        raise DataFormatError(path, "a data manifest is a mapping with a 'sources' list", field="sources")
    sources: dict[str, Source] = {}
    for index, entry in enumerate(document.get("sources", [])):
        source = _source_from_entry(entry, Path(path), index)
        if source.name in sources:
            raise DataFormatError(path, f"duplicate source name {source.name!r}", field="name")
        sources[source.name] = source
    groups = {}
    for name, spec in (document.get("groups") or {}).items():
        if not isinstance(spec, Mapping) or not isinstance(spec.get("path"), str) or not isinstance(spec.get("members"), list):
            raise DataFormatError(path, f"group {name!r} needs a 'path' string and a 'members' list", field="groups")
        groups[name] = Group(name=name, path=spec["path"], members=tuple(spec["members"]))
    for group in groups.values():
        for member in group.members:
            if member not in sources or Path(sources[member].path).parent != Path(group.path):
                raise DataFormatError(path, f"group {group.name!r}: {member!r} is not a source under {group.path}")
    return sources, groups


def _default_manifest() -> tuple[dict[str, Source], dict[str, Group]]:
    """The package's manifest plus every manifest named in ``$G2P_EXTRA_SOURCES`` (read at call time)."""
    extra = tuple(Path(part.strip()).expanduser() for part in os.environ.get(EXTRA_ENV, "").split(os.pathsep)
                  if part.strip())
    stamps = tuple((str(p), *((p.stat().st_mtime_ns, p.stat().st_size) if p.is_file() else (0, 0))) for p in extra)
    return _merged_manifests(stamps)


@lru_cache(maxsize=4)
def _merged_manifests(extra: tuple[tuple[str, int, int], ...]) -> tuple[dict[str, Source], dict[str, Group]]:
    """The package's manifest and the ``extra`` ones (path, mtime, size: a changed file is read again)."""
    sources, groups = load_manifest(MANIFEST_FILE)
    sources, groups = dict(sources), dict(groups)
    for item, _, _ in extra:
        path = Path(item)
        more, more_groups = load_manifest(path)
        clash = sorted(set(more) & set(sources)) or sorted(set(more_groups) & set(groups))
        if clash:
            raise DataFormatError(path, f"source {clash[0]!r} is already defined by another manifest", field="name",
                                  hint=f"give the sources of ${EXTRA_ENV} names of their own")
        sources.update(more)
        groups.update(more_groups)
    return sources, groups


def manifest() -> list[Source]:
    """Every raw source of the project, in manifest order."""
    return list(_default_manifest()[0].values())


def checksums() -> dict[str, str]:
    """``{name: pinned sha256}`` for every source that has one (the runner hashes this map)."""
    return {s.name: s.sha256 for s in manifest() if s.sha256}


# --------------------------------------------------------------------------------------------------
# Hashing
# --------------------------------------------------------------------------------------------------


# sha256_file and the digest cache live in g2p.checksums (shared with the output folders' SHA256SUMS).
_HashCache = DigestCache


# --------------------------------------------------------------------------------------------------
# Resolution
# --------------------------------------------------------------------------------------------------


def _default_mirrors() -> list[Path]:
    """``$G2P_DATA_MIRROR`` (read at call time) then the sibling shared mirror.

    A ``$G2P_DATA_MIRROR`` that is not a folder is an error, not a silent fall-back to the next source.
    """
    mirrors = []
    env = os.environ.get(MIRROR_ENV)
    if env:
        mirror = Path(env).expanduser()
        if not mirror.is_dir():
            raise InputError(
                f"${MIRROR_ENV} names {'a file' if mirror.exists() else 'a folder that does not exist'}",
                path=mirror, field=MIRROR_ENV,
                hint="point it at a copy of the data release (same layout as ../shared/g2p-data) or unset it",
            )
        mirrors.append(mirror)
    mirrors.append(paths.shared_mirror())
    return mirrors


def _refuse_non_file(candidate: Path, name: str) -> None:
    """Raise when ``candidate`` exists (or is a link) but is not a regular file."""
    if candidate.is_symlink() and not candidate.exists():
        what = "a broken symbolic link"
    elif candidate.exists() and not candidate.is_file():
        what = "a folder" if candidate.is_dir() else "not a regular file"
    else:
        return
    raise InputError(
        f"raw file {name!r} should be a file here, but this is {what}", path=candidate,
        hint="replace it with the data release's file, or remove it so that the next copy is used",
    )


def _how_to_fix() -> str:
    return (
        f"point ${MIRROR_ENV} at a folder holding the data release (same layout as ../shared/g2p-data), "
        f"or set ${RELEASE_URL_ENV} to the URL where the project's data release is published"
    )


class Resolver:
    """Finds raw files locally or downloads them; every default can be replaced (tests, other setups)."""

    def __init__(
        self,
        sources: Mapping[str, Source] | Iterable[Source] | None = None,
        *,
        groups: Mapping[str, Group] | None = None,
        raw_dir: Path | None = None,
        mirrors: Sequence[Path] | None = None,
        base_url: str | None = None,
        hash_cache: Path | None = None,
        progress: bool = True,
    ) -> None:
        if sources is None:
            default_sources, default_groups = _default_manifest()
            sources, groups = default_sources, (default_groups if groups is None else groups)
        elif not isinstance(sources, Mapping):
            sources = {s.name: s for s in sources}
        self.sources: dict[str, Source] = dict(sources)
        self.groups: dict[str, Group] = dict(groups or {})
        self.raw_dir = Path(raw_dir) if raw_dir is not None else paths.raw
        self._mirrors = None if mirrors is None else [Path(m) for m in mirrors]
        self._base_url = base_url
        self.hashes = _HashCache(hash_cache if hash_cache is not None else paths.cache / "sha256.json")
        self.progress = progress

    # -- configuration read at call time, so that environment changes are honoured -------------------
    @property
    def mirrors(self) -> list[Path]:
        return list(self._mirrors) if self._mirrors is not None else _default_mirrors()

    @property
    def base_url(self) -> str | None:
        return self._base_url if self._base_url is not None else os.environ.get(RELEASE_URL_ENV) or None

    def source(self, name: str) -> Source:
        try:
            return self.sources[name]
        except KeyError:
            raise InputError(f"unknown raw source {name!r}", path=MANIFEST_FILE, field=name,
                             hint=f"add it to the manifest (or to one named by ${EXTRA_ENV}); known: "
                                  f"{', '.join(sorted(self.sources))}") from None

    def roots(self) -> list[Path]:
        """The local folders searched, in priority order."""
        return [self.raw_dir, *self.mirrors]

    def locate(self, name: str) -> Path | None:
        """The first local copy of ``name`` (no download, no hashing), or None. Something at a copy's
        path that is not a file (a folder, a broken link) is an error, not a reason to use the next
        copy: the user put it there and would not learn that another copy was read instead."""
        source = self.source(name)
        for root in self.roots():
            candidate = root / source.path
            if candidate.is_file():
                return candidate
            _refuse_non_file(candidate, name)
        return None

    def resolve(self, name: str) -> Path:
        """A local path to raw file ``name`` whose sha256 matches the pin, downloading it into
        ``raw_dir`` when no copy exists. A local copy that differs raises :class:`ChecksumMismatchError`."""
        path = self.locate(name)
        if path is None:
            return self.download(name)
        self._check(name, path)
        return path

    def _check(self, name: str, path: Path) -> None:
        source = self.source(name)
        if not source.sha256:
            return
        actual = self.hashes.sha256(path)
        if actual != source.sha256:
            raise ChecksumMismatchError(
                path, f"sha256 of raw file {name!r} is {actual}, expected {source.sha256} (pinned in {MANIFEST_FILE.name})",
                field="sha256",
                hint="the copy is damaged or a different version: replace it with the data release's file, "
                "or delete it so that the next source (mirror or download) is used",
            )

    def resolve_dir(self, group_name: str) -> Path:
        """A folder holding every file of group ``group_name`` (first root that has them all)."""
        try:
            group = self.groups[group_name]
        except KeyError:
            raise InputError(f"unknown source group {group_name!r}", path=MANIFEST_FILE, field=group_name,
                             hint=f"known: {', '.join(sorted(self.groups))}") from None
        for root in self.roots():
            for member in group.members:
                _refuse_non_file(root / self.sources[member].path, member)
            if all((root / self.sources[m].path).is_file() for m in group.members):
                for member in group.members:
                    self._check(member, root / self.sources[member].path)
                return root / group.path
        for member in group.members:
            member_path = self.raw_dir / self.sources[member].path
            if member_path.is_file():
                self._check(member, member_path)
            else:
                self.download(member)
        return self.raw_dir / group.path

    # -- download ---------------------------------------------------------------------------------
    def download(self, name: str) -> Path:
        """Fetch ``name`` into ``raw_dir/<path>`` atomically, verifying its pinned sha256."""
        source = self.source(name)
        target = self.raw_dir / source.path
        url = source.download_url(self.base_url)
        if url is None:
            raise SourceUnavailableError(
                f"raw file {source.name!r} is not in {', '.join(map(str, self.roots()))} and has no "
                f"public URL with these exact bytes (it was derived or recompressed for this project)",
                path=source.path, hint=_how_to_fix(),
            )
        with atomic.open_for_write(target) as tmp:
            actual = self._fetch(source, url, tmp)
            if source.sha256 and actual != source.sha256:
                raise ChecksumMismatchError(
                    target,
                    f"sha256 of {source.name!r} downloaded from {url} is {actual}, expected {source.sha256}; "
                    "the file was not kept",
                    field="sha256", hint="the server holds another version: check the URL or $G2P_DATA_URL",
                )
        return target

    def _fetch(self, source: Source, url: str, tmp: Path) -> str:
        """Stream ``url`` into ``tmp`` with a progress bar; return the sha256 of what was written."""
        digest = hashlib.sha256()
        try:
            with urllib.request.urlopen(url, timeout=_TIMEOUT_S) as response, open(tmp, "wb") as out:
                total = int(response.headers.get("Content-Length") or 0) or source.bytes
                with tqdm(total=total, unit="B", unit_scale=True, desc=source.name, disable=not self.progress) as bar:
                    for chunk in iter(lambda: response.read(_CHUNK), b""):
                        out.write(chunk)
                        digest.update(chunk)
                        bar.update(len(chunk))
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            code = f"HTTP {exc.code} " if isinstance(exc, urllib.error.HTTPError) else ""
            raise SourceUnavailableError(
                f"could not download raw file {source.name!r} from {url}: {code}{reason}",
                path=source.path, hint=_how_to_fix(),
            ) from exc
        return digest.hexdigest()

    # -- verification -----------------------------------------------------------------------------
    def verify(self, name: str) -> Path:
        """Resolve ``name`` and check its sha256 against the pin (what :meth:`resolve` does anyway)."""
        return self.resolve(name)

    def verify_all(self) -> dict[str, str]:
        """Hash every locally available source: ``{name: "ok" | "mismatch" | "missing"}`` (no downloads)."""
        status: dict[str, str] = {}
        for name, source in self.sources.items():
            path = self.locate(name)
            if path is None:
                status[name] = "missing"
            elif source.sha256 and self.hashes.sha256(path) != source.sha256:
                status[name] = "mismatch"
            else:
                status[name] = "ok"
        return status


def _resolver(**overrides: object) -> Resolver:
    return Resolver(**overrides)  # type: ignore[arg-type]


def resolve(
    name: str,
    *,
    sources: Mapping[str, Source] | Iterable[Source] | None = None,
    raw_dir: Path | None = None,
    mirrors: Sequence[Path] | None = None,
    base_url: str | None = None,
) -> Path:
    """A local path to raw file ``name``: ``data/raw`` → ``$G2P_DATA_MIRROR`` → shared mirror → download."""
    return _resolver(sources=sources, raw_dir=raw_dir, mirrors=mirrors, base_url=base_url).resolve(name)


def resolve_dir(group: str) -> Path:
    """A folder holding all files of ``group`` (``"taesd"``: config + weights for ``from_pretrained``)."""
    return Resolver().resolve_dir(group)


def bioscan1m_orders() -> list[str]:
    """The insect orders with a BIOSCAN-1M specimen photo in the manifest."""
    prefix = "images/bioscan1m/"
    return [
        Path(s.path).stem
        for s in manifest()
        if s.path.startswith(prefix) and "/" not in s.path[len(prefix) :] and s.path.endswith(".jpg")
    ]


def bioscan1m_image(order: str) -> Path:
    """The BIOSCAN-1M photo of one specimen of insect ``order`` (e.g. ``"Diptera"``)."""
    orders = {o.lower(): o for o in bioscan1m_orders()}
    if order.lower() not in orders:
        raise ValueError(f"no BIOSCAN-1M image for order {order!r}; available: {', '.join(orders.values())}")
    return resolve(f"bioscan1m_{order.lower()}")


def verify(name: str) -> Path:
    """Resolve ``name`` and check its sha256 (memoised in ``data/cache/sha256.json``)."""
    return Resolver().verify(name)


def verify_all() -> dict[str, str]:
    """``{name: "ok" | "mismatch" | "missing"}`` for every source found locally."""
    return Resolver().verify_all()
