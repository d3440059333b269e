"""Bad input, as a new user gives it, across every command and every file the data layer reads.

Each row of :data:`CASES` is one input. A case passes when ``python -m g2p`` (run in-process through
``g2p.cli.main``) exits with the expected status and prints exactly one line ``error: ...`` that
names the file and the line or field at fault, with no traceback, and when nothing was added to the
output folders (no partial file, no temporary). Data-layer cases that no command reaches on its own
(the G2PDiffusion raw files, the manifest) call the data layer and format the error with
``g2p.cli.describe``, the function the CLI prints with.

``G2P_BAD_INPUT_TABLE=<file>`` appends one JSON line per case (command, input, exit status, message):
the closing note's case table is made from it.
"""

from __future__ import annotations

import errno
import gzip
import json
import logging
import os
import re
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from g2p import config as g2p_config
from g2p import cli, paths
from g2p.data import sources

MIRROR = paths.shared_mirror()
pytestmark = pytest.mark.skipif(not MIRROR.is_dir(), reason="shared data mirror not present")

TINY = "mpo-max120"  # a 120-gene curated subset: seconds to curate, train and load


# ------------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def tiny_dataset() -> Path:
    from g2p.data import curate

    return curate.curate("mpo", max_genes=120)


@pytest.fixture(scope="module")
def tiny_model(tiny_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from g2p.data import curated
    from g2p.genepheno import train

    config = g2p_config.resolve("smoke").genepheno(epochs=1, progress=False)
    result = train.train(curated.load(tiny_dataset), config, tmp_path_factory.mktemp("model"), resume=False)
    return result.best_dir


@pytest.fixture(scope="module")
def checkpoint_experiment(tiny_dataset: Path) -> str:
    """A stopped training run under runs/smoke/genepheno/<TINY>/ckpt-case (what `g2p train --epochs 3`
    would resume)."""
    from g2p.data import curated
    from g2p.genepheno import train

    config = g2p_config.resolve("smoke").genepheno(epochs=3, max_epochs_this_call=1, progress=False)
    train.train(curated.load(tiny_dataset), config, paths.run_dir("smoke", f"genepheno/{TINY}/ckpt-case"))
    return "ckpt-case"


@pytest.fixture(scope="module")
def tiny_pipeline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _tiny_pipeline(tmp_path_factory.mktemp("pipeline") / "pipeline")


@pytest.fixture(scope="module")
def tiny_model_without_go(tiny_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from g2p.data import curated
    from g2p.genepheno import train

    config = g2p_config.resolve("smoke").genepheno(epochs=1, progress=False, use_go=False)
    result = train.train(curated.load(tiny_dataset), config, tmp_path_factory.mktemp("model-no-go"), resume=False)
    return result.best_dir


def _tiny_pipeline(target: Path, **settings: object) -> Path:
    import torch

    from g2p.g2pdiff import train as dtrain
    from g2p.g2pdiff.pipeline import build_pipeline, save_pipeline

    torch.manual_seed(0)
    config = dtrain.DiffusionTrainConfig(image_size=32, k=3, max_bp=60, token_pool=4, d_model=16, encoder_layers=1,
                                         encoder_heads=2, unet_channels=(16, 32), attention_head_dim=4,
                                         alignment_hidden=16, **settings)
    pipe = build_pipeline(dtrain.make_conditioner(config), dtrain.make_unet(config), dtrain.load_vae(),
                          dtrain.make_alignment(config))
    return save_pipeline(pipe, target)


@pytest.fixture(scope="module")
def tiny_pipeline_without_environment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _tiny_pipeline(tmp_path_factory.mktemp("pipeline-no-env") / "pipeline", use_environment=False)


@dataclass
class Env:
    """What a case sets up: its own folder, the fixtures, and names for the expected message."""

    tmp: Path
    monkeypatch: pytest.MonkeyPatch
    request: pytest.FixtureRequest
    vars: dict[str, str] = field(default_factory=dict)
    inputs: dict[Path, bytes] = field(default_factory=dict)  # the user's files: never changed by a command

    def dataset(self) -> Path:
        return self.request.getfixturevalue("tiny_dataset")

    def model(self) -> Path:
        return self.request.getfixturevalue("tiny_model")

    def pipeline(self) -> Path:
        return self.request.getfixturevalue("tiny_pipeline")

    def no_go_model(self) -> Path:
        return self.request.getfixturevalue("tiny_model_without_go")

    def no_env_pipeline(self) -> Path:
        return self.request.getfixturevalue("tiny_pipeline_without_environment")

    def copy_dataset(self, name: str) -> str:
        """A copy of the tiny dataset under data/processed/<name>; ``{ds}`` in messages is its folder."""
        target = paths.processed / name
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(self.dataset(), target)
        self.vars["ds"] = str(target)
        return name

    def copy_folder(self, source: Path, name: str) -> Path:
        target = self.tmp / name
        shutil.copytree(source, target)
        self.vars[name] = str(target)
        return target

    def file(self, name: str, content: str | bytes) -> Path:
        path = self.tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        self.vars[re.sub(r"[^A-Za-z0-9]", "_", name)] = str(path)  # "{bad_fa}" in messages for "bad.fa"
        self.inputs[path] = path.read_bytes()
        return path

    def params(self, edit: Callable[[str], str], preset: str = "smoke") -> Path:
        """Copies of params/*.yaml with ``edit`` applied to ``preset``'s; g2p reads these."""
        folder = self.tmp / "params"
        folder.mkdir()
        for yaml_file in paths.params.glob("*.yaml"):
            shutil.copy(yaml_file, folder / yaml_file.name)
        target = folder / f"{preset}.yaml"
        edited = edit(target.read_text())
        assert edited != target.read_text(), "the case's edit changed nothing"
        target.write_text(edited)
        self.monkeypatch.setattr(paths, "params", folder)
        self.vars["params"] = str(target)
        return target

    def mirror_with(self, rel: str, content: bytes) -> Path:
        """A $G2P_DATA_MIRROR holding one damaged file; the other files resolve from the shared mirror."""
        mirror = self.tmp / "mirror"
        path = mirror / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        self.monkeypatch.setenv(sources.MIRROR_ENV, str(mirror))
        self.vars["mirror_file"] = str(path)
        return path


def _real(rel: str) -> bytes:
    return (MIRROR / rel).read_bytes()


def _half(rel: str | bytes) -> bytes:
    data = _real(rel) if isinstance(rel, str) else rel
    return data[: len(data) // 2]


def _half_rows(rel: str) -> bytes:
    """The file's first half of lines, recompressed: a well-formed file with different content."""
    text = gzip.decompress(_real(rel)).decode().splitlines(keepends=True)
    return gzip.compress("".join(text[: len(text) // 2]).encode(), mtime=0)


def _first_lines(rel: str, n: int) -> bytes:
    text = gzip.decompress(_real(rel)).decode().splitlines(keepends=True)
    return gzip.compress("".join(text[:n]).encode(), mtime=0)


def _flip_byte(path: Path, offset: int = 100) -> None:
    data = bytearray(path.read_bytes())
    data[offset % len(data)] ^= 0xFF
    path.write_bytes(bytes(data))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])


def _random_fasta_gz(n: int = 200) -> bytes:
    import numpy as np

    rng = np.random.default_rng(0)
    letters = np.array(list("ACDEFGHIKLMNPQRSTVWY"))
    records = [f">sp|Q{i:05d}|Q{i:05d}\n{''.join(rng.choice(letters, 120))}\n" for i in range(n)]
    return gzip.compress("".join(records).encode(), mtime=0)


RANDOM_FASTA_GZ = _random_fasta_gz()
FASTA = ">sp|P11111|P11111 OS=Mus musculus OX=10090 GN=Aaa1\nMKTAYIAKQRQISFVKSHFSRQ\n" \
        ">sp|P22222|P22222 OS=Mus musculus OX=10090 GN=Bbb2\nMSTNPKPQRKTKRNTNRRPQDVKFPGG\n"


@dataclass
class Case:
    id: str
    command: str
    what: str  # the input, in words (the closing note's table)
    argv: Callable[[Env], list[str]] | None = None
    expect: tuple[str, ...] = ()  # substrings of the error line; {name} is filled from Env.vars
    code: int = 1
    # data-layer cases: ``call(env)`` sets up and returns the operation to run instead of the CLI
    call: Callable[[Env], Callable[[], object]] | None = None


def _predict(env: Env, *extra: str, fasta: str | None = None, model: str | None = None) -> list[str]:
    fasta_path = fasta or str(env.file("in.fa", FASTA))
    return ["predict", "--fasta", fasta_path, "--model", model or str(env.model()), "--out", str(env.tmp / "out.tsv"),
            *extra]


def _damaged_model(env: Env, name: str, damage: Callable[[Path], None]) -> str:
    folder = env.copy_folder(env.model(), "model")
    damage(folder / name)
    return str(folder)


def _generate(env: Env, *extra: str, model: str | None = None, barcode: str = "ACGTACGTACGTAAGG") -> list[str]:
    return ["generate", "--model", model or str(env.pipeline()), "--barcode", barcode, "--out", str(env.tmp / "png"),
            "--steps", "1", *extra]


def _damaged_pipeline(env: Env, name: str, damage: Callable[[Path], None]) -> str:
    folder = env.copy_folder(env.pipeline(), "pipe")
    damage(folder / name)
    return str(folder)


def _train(env: Env, *extra: str, dataset: str = TINY) -> list[str]:
    env.dataset()
    return ["train", "--preset", "smoke", "--dataset", dataset, *extra]


def _damaged_dataset(env: Env, name: str, damage: Callable[[Path], None]) -> str:
    dataset = env.copy_dataset(f"{TINY}-damaged")
    damage(paths.processed / dataset / name)
    return dataset


def _sub(pattern: str, replacement: str) -> Callable[[str], str]:
    """An edit of a params file by regular expression (first match), robust to the values in it."""
    return lambda text: re.sub(pattern, replacement, text, count=1)


def _unlink(path: Path) -> None:
    path.unlink()


def _curate_with(rel: str, content: Callable[[str], bytes], dataset: str = "mpo") -> Callable[[Env], list[str]]:
    def argv(env: Env) -> list[str]:
        env.mirror_with(rel, content(rel))
        return ["curate", dataset, "--max-genes", "50"]

    return argv


def _resolve_with(name: str, rel: str, content: Callable[[str], bytes]) -> Callable[[Env], Callable[[], object]]:
    def setup(env: Env) -> Callable[[], object]:
        env.mirror_with(rel, content(rel))
        return lambda: sources.resolve(name)

    return setup


def _taesd_zeroed(env: Env) -> Callable[[], object]:
    env.mirror_with("models/taesd/config.json", _real("models/taesd/config.json"))
    weights = "models/taesd/diffusion_pytorch_model.safetensors"
    env.mirror_with(weights, bytes(len(_real(weights))))
    return lambda: sources.resolve_dir("taesd")


def _manifest(text: str) -> Callable[[Env], Callable[[], object]]:
    def setup(env: Env) -> Callable[[], object]:
        path = env.file("sources.yaml", text)
        return lambda: sources.load_manifest(path)

    return setup


def _sums_without(name: str) -> Callable[[Path], None]:
    """A SHA256SUMS edit that leaves out ``name``'s line (an incomplete listing)."""
    def edit(sums: Path) -> None:
        lines = sums.read_text().splitlines(keepends=True)
        kept = [line for line in lines if not line.rstrip("\n").endswith(f"  {name}")]
        assert len(kept) == len(lines) - 1, f"{name} is not listed in {sums}"
        sums.write_text("".join(kept))
    return edit


def _resealed(edit: Callable[[Path], None]) -> Callable[[Path], None]:
    """Edit a file of a folder, then write the folder's SHA256SUMS again: the folder is intact, only
    its content disagrees with itself."""
    def damage(path: Path) -> None:
        from g2p import checksums

        edit(path)
        checksums.write_manifest(path.parent)
    return damage


def _drop_last_term(path: Path) -> None:
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:-1]))


def _hold_lock(env: Env, folder: Path) -> Path:
    """Hold ``folder``'s lock as another run would (an flock on a descriptor of our own, bypassing this
    process's re-entrant registry) until the case ends."""
    import fcntl

    from g2p import locks

    path = locks.lock_file(folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.write(fd, b"pid 4242 on otherhost (g2p train --dataset mpo-max120), since 2026-01-01 12:00:00\n")

    def release() -> None:
        path.unlink(missing_ok=True)
        os.close(fd)
    env.request.addfinalizer(release)
    return path


def _fail_writing(env: Env, name: str, error: int) -> None:
    """Make the write of ``name``'s temporary fail with ``error`` (a full disk, a quota…) as write()
    reports it: an OSError naming no file."""
    import errno as errno_mod  # noqa: F401 - the caller passes errno values

    real = Path.write_bytes

    def write_bytes(self: Path, data: bytes) -> int:
        if self.name.startswith(f".{name}.tmp-"):
            raise OSError(error, os.strerror(error))
        return real(self, data)
    env.monkeypatch.setattr(Path, "write_bytes", write_bytes)


def _same_size_same_mtime(env: Env) -> Callable[[], object]:
    """A mirror copy of a raw file, hashed once (its digest memoised), then replaced by other bytes of
    the same size with its mtime set back."""
    from g2p import checksums

    env.monkeypatch.setattr(checksums, "RACY_S", 0.05)  # memoise a file 50 ms after it was written
    rel = "models/taesd/config.json"
    path = env.mirror_with(rel, _real(rel))
    env.monkeypatch.setattr(sources, "_default_manifest", sources._default_manifest)
    time.sleep(0.2)
    sources.resolve("taesd_config")  # hashed and memoised
    stat = path.stat()
    assert json.loads(checksums.default_cache().file.read_text())[str(path.resolve())]["ctime_ns"] == stat.st_ctime_ns
    time.sleep(0.05)  # a later clock tick: the rewrite gets a new ctime
    data = bytearray(path.read_bytes())
    data[10] = ord("X") if data[10] != ord("X") else ord("Y")
    path.write_bytes(bytes(data))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size and path.stat().st_mtime_ns == stat.st_mtime_ns
    return lambda: sources.resolve("taesd_config")


def _mirror_path_is_folder(env: Env) -> Callable[[], object]:
    rel = "images/bioscan1m/Diptera.jpg"
    folder = env.tmp / "mirror" / rel
    folder.mkdir(parents=True)
    env.monkeypatch.setenv(sources.MIRROR_ENV, str(env.tmp / "mirror"))
    env.vars["mirror_file"] = str(folder)
    return lambda: sources.resolve("bioscan1m_diptera")


def _refuse_mkdir(folder: Path) -> Callable[..., None]:
    """``Path.mkdir`` as for a user without write permission on ``folder``'s parent."""
    real = Path.mkdir

    def mkdir(self: Path, *args: object, **kwargs: object) -> None:
        if self == folder or folder in self.parents:
            raise PermissionError(errno.EACCES, "Permission denied", str(folder))
        real(self, *args, **kwargs)
    return mkdir


GO_BY_SYMBOL = "accession\tgo_ids\nAaa1\tGO:0005634\nBbb2\tGO:0005737\n"
DNA = "ACGTTGCAACGTAGGCTAACGTACGATCGATCGGCTAGCTAGGCTAACGT"

GOOD_SOURCE = ("sources:\n- name: tiny\n  path: ontology/tiny.obo\n  url: null\n  upstream: x\n  version: '1'\n"
               "  licence: CC0\n  citation: none\n  sha256: " + "a" * 64 + "\n")
SUMS = "SHA256SUMS"

CASES: list[Case] = [
    # ---------------------------------------------------------------------------------------- predict
    Case("predict-topk-0", "predict", "--top-k 0", lambda e: _predict(e, "--top-k", "0"), ("--top-k", "at least 1"), 2),
    Case("predict-topk-neg", "predict", "--top-k -5", lambda e: _predict(e, "--top-k", "-5"), ("--top-k", "at least 1"), 2),
    Case("predict-topk-text", "predict", "--top-k ten", lambda e: _predict(e, "--top-k", "ten"), ("--top-k", "integer"), 2),
    Case("predict-no-model-arg", "predict", "--model missing", lambda e: ["predict", "--fasta", "x.fa", "--out", "o.tsv"],
         ("--model", "required"), 2),
    Case("predict-unknown-option", "predict", "misspelt option --topk", lambda e: _predict(e, "--topk", "3"),
         ("unrecognized arguments: --topk",), 2),
    Case("predict-fasta-missing", "predict", "--fasta names no file",
         lambda e: _predict(e, fasta=str(e.tmp / "absent.fa")), ("{tmp}/absent.fa", "not found")),
    Case("predict-fasta-bad-letters", "predict", "FASTA with digits and '*' in a sequence",
         lambda e: _predict(e, fasta=str(e.file("bad.fa", FASTA.replace("KSHFS", "K1*FS")))),
         ("{bad_fa}", "line 2", "'sequence'", "protein alphabet")),
    Case("predict-fasta-duplicate-ids", "predict", "two FASTA records with the same id",
         lambda e: _predict(e, fasta=str(e.file("dup.fa", FASTA.replace("P22222", "P11111")))),
         ("{dup_fa}", "line 3", "'id'", "appears more than once")),
    Case("predict-fasta-no-id", "predict", "FASTA record whose header has no id",
         lambda e: _predict(e, fasta=str(e.file("noid.fa", FASTA.replace(">sp|P22222|P22222 OS=Mus musculus OX=10090 GN=Bbb2", ">")))),
         ("{noid_fa}", "line 3", "'id'", "no id")),
    Case("predict-fasta-empty", "predict", "empty FASTA file",
         lambda e: _predict(e, fasta=str(e.file("empty.fa", ""))), ("{empty_fa}", "line 1", "no FASTA records")),
    Case("predict-fasta-is-tsv", "predict", "a TSV passed as FASTA",
         lambda e: _predict(e, fasta=str(e.file("table.fa", "accession\tsequence\nP1\tMKT\n"))), ("{table_fa}", "line 1", "no FASTA records")),
    Case("predict-fasta-empty-record", "predict", "FASTA record without sequence",
         lambda e: _predict(e, fasta=str(e.file("hollow.fa", FASTA.replace("MKTAYIAKQRQISFVKSHFSRQ\n", "")))),
         ("{hollow_fa}", "line 1", "empty sequence")),
    Case("predict-fasta-truncated-gzip", "predict", "gzip FASTA cut short (a stopped download)",
         lambda e: _predict(e, fasta=str(e.file("cut.fa.gz", _half(RANDOM_FASTA_GZ)))),
         ("{cut_fa_gz}", "truncated or corrupt gzip")),
    Case("predict-fasta-latin1", "predict", "FASTA in Latin-1 with an accented header",
         lambda e: _predict(e, fasta=str(e.file("latin.fa", (FASTA.replace("Aaa1", "Caf\xe9")).encode("latin-1")))),
         ("{latin_fa}", "UTF-8")),
    Case("predict-go-bad-id", "predict", "--go TSV with a malformed GO id",
         lambda e: _predict(e, "--go", str(e.file("go.tsv", "accession\tgo_ids\nP11111\tGO:0005634\nP22222\tGO:12\n"))),
         ("{go_tsv}", "line 3", "'go_ids'", "GO:12")),
    Case("predict-go-missing", "predict", "--go names no file",
         lambda e: _predict(e, "--go", str(e.tmp / "absent.tsv")), ("{tmp}/absent.tsv", "not found")),
    Case("predict-out-is-folder", "predict", "--out is an existing folder",
         lambda e: ["predict", "--fasta", str(e.file("in.fa", FASTA)), "--model", str(e.model()), "--out", str(e.tmp)],
         ("--out", "is a folder"), 2),
    Case("predict-model-missing", "predict", "--model names no folder",
         lambda e: _predict(e, model=str(e.tmp / "nope")), ("{tmp}/nope", "model folder does not exist")),
    Case("predict-model-not-a-model", "predict", "--model is a folder of something else",
         lambda e: _predict(e, model=str(e.file("other/readme.txt", "hi").parent)), ("{tmp}/other", "not a GenePheno model folder")),
    Case("predict-weights-truncated", "predict", "model.safetensors cut to a third",
         lambda e: _predict(e, model=_damaged_model(e, "model.safetensors", _truncate)),
         ("{model}/model.safetensors", "sha256", "differs")),
    Case("predict-weights-flipped", "predict", "model.safetensors with one byte changed (same size)",
         lambda e: _predict(e, model=_damaged_model(e, "model.safetensors", _flip_byte)),
         ("{model}/model.safetensors", "sha256", "differs")),
    Case("predict-config-edited", "predict", "config.json edited by hand",
         lambda e: _predict(e, model=_damaged_model(e, "config.json", lambda p: p.write_text(p.read_text().replace('"n_terms"', '"n_terms" '))) ),
         ("{model}/config.json", "differs")),
    Case("predict-terms-deleted", "predict", "terms.tsv deleted from the model folder",
         lambda e: _predict(e, model=_damaged_model(e, "terms.tsv", _unlink)), ("{model}", "missing terms.tsv")),
    Case("predict-vocab-deleted", "predict", "go_vocab.json deleted from the model folder",
         lambda e: _predict(e, model=_damaged_model(e, "go_vocab.json", _unlink)),
         ("{model}/go_vocab.json", "listed in SHA256SUMS but missing")),
    Case("predict-sums-deleted", "predict", "model folder without SHA256SUMS",
         lambda e: _predict(e, model=_damaged_model(e, SUMS, _unlink)), ("{model}", "has no SHA256SUMS")),
    Case("predict-sums-garbled", "predict", "SHA256SUMS with a garbled line",
         lambda e: _predict(e, model=_damaged_model(e, SUMS, lambda p: p.write_text("not a digest line\n"))),
         ("{model}/SHA256SUMS", "line 1", "malformed")),
    # --------------------------------------------------------------------------------------- generate
    Case("generate-guidance-nan", "generate", "--guidance-scale nan", lambda e: _generate(e, "--guidance-scale", "nan"),
         ("--guidance-scale", "finite"), 2),
    Case("generate-guidance-inf", "generate", "--guidance-scale inf", lambda e: _generate(e, "--guidance-scale", "inf"),
         ("--guidance-scale", "finite"), 2),
    Case("generate-env-guidance-nan", "generate", "--environment-guidance-scale nan",
         lambda e: _generate(e, "--lat", "45", "--lon", "7", "--environment-guidance-scale", "nan"),
         ("--environment-guidance-scale", "finite"), 2),
    Case("generate-alignment-nan", "generate", "--alignment-scale nan", lambda e: _generate(e, "--alignment-scale", "nan"),
         ("--alignment-scale", "finite"), 2),
    Case("generate-num-images-0", "generate", "--num-images 0", lambda e: _generate(e, "--num-images", "0"),
         ("--num-images", "at least 1"), 2),
    Case("generate-steps-0", "generate", "--steps 0", lambda e: _generate(e, "--steps", "0"), ("--steps", "at least 1"), 2),
    Case("generate-seed-negative", "generate", "--seed -1", lambda e: _generate(e, "--seed", "-1"), ("--seed", "0 or more"), 2),
    Case("generate-lat-95", "generate", "--lat 95 --lon 0", lambda e: _generate(e, "--lat", "95", "--lon", "0"),
         ("latitude 95",), 2),
    Case("generate-lat-without-lon", "generate", "--lat without --lon", lambda e: _generate(e, "--lat", "10"),
         ("both --lat and --lon",), 2),
    Case("generate-lat-count", "generate", "two --lat values for one barcode",
         lambda e: _generate(e, "--lat", "1", "--lat", "2", "--lon", "0"), ("--lat", "one per barcode (1), got 2"), 2),
    Case("generate-barcode-rna", "generate", "RNA barcode (U)", lambda e: _generate(e, barcode="ACGUACGU"),
         ("barcode 0", "'U'"), 2),
    Case("generate-barcode-empty", "generate", "empty barcode", lambda e: _generate(e, barcode=""), ("barcode 0", "empty"), 2),
    Case("generate-model-missing", "generate", "--model names no pipeline",
         lambda e: _generate(e, model=str(e.tmp / "nope")), ("{tmp}/nope", "no model_index.json")),
    Case("generate-unet-truncated", "generate", "UNet weights cut to a third",
         lambda e: _generate(e, model=_damaged_pipeline(e, "unet/diffusion_pytorch_model.safetensors", _truncate)),
         ("{pipe}/unet/diffusion_pytorch_model.safetensors", "differs")),
    Case("generate-index-edited", "generate", "model_index.json edited by hand",
         lambda e: _generate(e, model=_damaged_pipeline(e, "model_index.json", lambda p: p.write_text(p.read_text() + " "))),
         ("{pipe}/model_index.json", "differs")),
    Case("generate-sums-deleted", "generate", "pipeline folder without SHA256SUMS",
         lambda e: _generate(e, model=_damaged_pipeline(e, SUMS, _unlink)), ("{pipe}", "has no SHA256SUMS")),
    Case("generate-out-is-file", "generate", "--out is an existing file",
         lambda e: ["generate", "--model", str(e.pipeline()), "--barcode", "ACGTACGTAC", "--out", str(e.file("taken", "x")),
                    "--steps", "1"], ("{taken}", "exists")),
    # ------------------------------------------------------------------------------------------ train
    Case("train-epochs-0", "train", "--epochs 0", lambda e: _train(e, "--epochs", "0"), ("--epochs", "at least 1"), 2),
    Case("train-epochs-text", "train", "--epochs two", lambda e: _train(e, "--epochs", "two"), ("--epochs", "integer"), 2),
    Case("train-seed-negative", "train", "--seed -1", lambda e: _train(e, "--seed", "-1"), ("--seed", "0 or more"), 2),
    Case("train-preset-unknown", "train", "--preset fast", lambda e: _train(e, "--preset", "fast"), ("--preset", "fast"), 2),
    Case("train-experiment-escapes", "train", "--experiment ../../x (outside runs/)",
         lambda e: _train(e, "--experiment", "../../x"), ("'experiment'", "would leave runs/smoke/")),
    Case("train-experiment-absolute", "train", "--experiment /tmp/x",
         lambda e: _train(e, "--experiment", "/tmp/x"), ("'experiment'", "would leave runs/smoke/")),
    Case("train-dataset-missing", "train", "--dataset names no curated folder",
         lambda e: _train(e, dataset="mpo-max7"), ("data/processed/mpo-max7", "no curated dataset", "curate mpo --max-genes 7")),
    Case("train-labels-corrupt", "train", "labels.npz overwritten with other bytes",
         lambda e: _train(e, dataset=_damaged_dataset(e, "labels.npz", lambda p: p.write_bytes(b"PK\x03\x04 not a zip"))),
         ("{ds}/labels.npz", "differs")),
    Case("train-concept-labels-deleted", "train", "concept_labels.npz deleted",
         lambda e: _train(e, dataset=_damaged_dataset(e, "concept_labels.npz", _unlink)),
         ("{ds}/concept_labels.npz", "missing")),
    Case("train-genes-truncated", "train", "genes.tsv cut to a third",
         lambda e: _train(e, dataset=_damaged_dataset(e, "genes.tsv", _truncate)), ("{ds}/genes.tsv", "differs")),
    Case("train-terms-edited", "train", "terms.tsv with one byte changed",
         lambda e: _train(e, dataset=_damaged_dataset(e, "terms.tsv", _flip_byte)), ("{ds}/terms.tsv", "differs")),
    Case("train-concepts-edited", "train", "concepts.tsv with one byte changed",
         lambda e: _train(e, dataset=_damaged_dataset(e, "concepts.tsv", _flip_byte)), ("{ds}/concepts.tsv", "differs")),
    Case("train-go-inputs-edited", "train", "go_inputs.tsv with one byte changed",
         lambda e: _train(e, dataset=_damaged_dataset(e, "go_inputs.tsv", _flip_byte)), ("{ds}/go_inputs.tsv", "differs")),
    Case("train-pairs-edited", "train", "exclusive_pairs.tsv with one byte changed",
         lambda e: _train(e, dataset=_damaged_dataset(e, "exclusive_pairs.tsv", _flip_byte)),
         ("{ds}/exclusive_pairs.tsv", "differs")),
    Case("train-datasheet-edited", "train", "datasheet.json edited",
         lambda e: _train(e, dataset=_damaged_dataset(e, "datasheet.json", lambda p: p.write_text(p.read_text()[:-5]))),
         ("{ds}/datasheet.json", "differs")),
    Case("train-sums-deleted", "train", "curated folder without SHA256SUMS (written by hand or an older g2p)",
         lambda e: _train(e, dataset=_damaged_dataset(e, SUMS, _unlink)), ("{ds}", "has no SHA256SUMS", "curate")),
    Case("train-checkpoint-corrupt", "train", "resume from a checkpoint whose model.pt was damaged",
         lambda e: _train(e, "--epochs", "3", "--experiment", _damage_checkpoint(e)),
         ("checkpoint/model.pt", "differs", "--no-resume")),
    Case("train-params-misspelt-key", "train", "params genepheno block: 'epoch: 2' (misspelt)",
         lambda e: [e.params(_sub(r"\n  epochs: (\d+)", r"\n  epoch: \1")), *_train(e)][1:],
         ("{params}", "line ", "'genepheno.epoch'", "did you mean 'epochs'")),
    Case("train-params-wrong-type", "train", "params genepheno block: 'epochs: \"two\"'",
         lambda e: [e.params(_sub(r"\n  epochs: \d+", '\n  epochs: "two"')), *_train(e)][1:],
         ("{params}", "'genepheno.epochs'", "expected an integer", "'two'")),
    Case("train-params-out-of-range", "train", "params genepheno block: 'epochs: 0'",
         lambda e: [e.params(_sub(r"\n  epochs: \d+", "\n  epochs: 0")), *_train(e)][1:],
         ("{params}", "line ", "'genepheno.epochs'", "at least 1")),
    Case("train-params-bad-choice", "train", "params genepheno block: 'loss: focal'",
         lambda e: [e.params(_sub(r"\n  epochs: (\d+)", r"\n  epochs: \1\n  loss: focal")), *_train(e)][1:],
         ("{params}", "line ", "'genepheno.loss'", "loss must be one of")),
    Case("train-params-yaml-syntax", "train", "params file with a YAML syntax error",
         lambda e: [e.params(_sub(r"max_genes: (\d+)", r"max_genes: [\1")), *_train(e)][1:],
         ("{params}", "line ", "not valid YAML")),
    # --------------------------------------------------------------------------------------- evaluate
    Case("evaluate-nboot-0", "evaluate", "--n-boot 0", lambda e: ["evaluate", "--preset", "smoke", "--n-boot", "0"],
         ("--n-boot", "at least 1"), 2),
    Case("evaluate-variant-unknown", "evaluate", "--variants best", lambda e: ["evaluate", "--variants", "best"],
         ("--variants", "best"), 2),
    Case("evaluate-encoder-unknown", "evaluate", "--encoder bert", lambda e: ["evaluate", "--encoder", "bert"],
         ("--encoder", "bert"), 2),
    Case("evaluate-dataset-corrupt", "evaluate", "--datasets names a damaged curated folder",
         lambda e: ["evaluate", "--preset", "smoke", "--datasets",
                    _damaged_dataset(e, "labels.npz", _truncate)], ("{ds}/labels.npz", "differs")),
    Case("evaluate-params-baselines-key", "evaluate", "params 03_evaluate.baselines: misspelt key",
         lambda e: [e.params(lambda t: t.replace("diamond_sensitivity:", "diamond_sensitivty:")),
                    "evaluate", "--preset", "smoke"][1:],
         ("{params}", "'03_evaluate.baselines.diamond_sensitivty'", "did you mean 'diamond_sensitivity'")),
    # ----------------------------------------------------------------------------------------- curate
    Case("curate-unknown-dataset", "curate", "dataset yeast", lambda e: ["curate", "yeast"],
         ("yeast", "choose from mpo, hpo, gwas, cafa2"), 2),
    Case("curate-min-genes-0", "curate", "--min-genes 0", lambda e: ["curate", "mpo", "--min-genes", "0"],
         ("--min-genes", "at least 1"), 2),
    Case("curate-max-genes-2", "curate", "--max-genes 2", lambda e: ["curate", "mpo", "--max-genes", "2"],
         ("--max-genes", "at least 3"), 2),
    Case("curate-seed-negative", "curate", "--seed -1", lambda e: ["curate", "mpo", "--seed", "-1"], ("--seed", "0 or more"), 2),
    Case("curate-mirror-missing", "curate", "$G2P_DATA_MIRROR names a missing folder",
         lambda e: [e.monkeypatch.setenv(sources.MIRROR_ENV, str(e.tmp / "gone")), "curate", "mpo"][1:],
         ("{tmp}/gone", "'G2P_DATA_MIRROR'", "does not exist")),
    Case("curate-mirror-is-file", "curate", "$G2P_DATA_MIRROR names a file",
         lambda e: [e.monkeypatch.setenv(sources.MIRROR_ENV, str(e.file("afile", "x"))), "curate", "mpo"][1:],
         ("{afile}", "'G2P_DATA_MIRROR'", "a file")),
    Case("curate-mp-obo-100k-lines", "curate", "mp.obo.gz cut to its first 100,000 lines (valid OBO, other content)",
         _curate_with("ontology/mp.obo.gz", lambda r: _first_lines(r, 100_000)), ("{mirror_file}", "'sha256'", "expected")),
    Case("curate-go-obo-truncated", "curate", "go.obo.gz cut in half",
         _curate_with("ontology/go.obo.gz", _half), ("{mirror_file}", "'sha256'", "expected")),
    Case("curate-mgi-half-rows", "curate", "MGI_PhenoGenoMP.rpt.gz with half its rows",
         _curate_with("mouse/MGI_PhenoGenoMP.rpt.gz", _half_rows), ("{mirror_file}", "'sha256'", "expected")),
    Case("curate-marker-symbols-truncated", "curate", "MGI_marker_symbols.tsv.gz cut in half",
         _curate_with("mouse/MGI_marker_symbols.tsv.gz", _half), ("{mirror_file}", "'sha256'")),
    Case("curate-mouse-fasta-half", "curate", "mouse FASTA with half its records",
         _curate_with("mouse/uniprot_sprot_mouse_2014.fasta.gz", _half_rows), ("{mirror_file}", "'sha256'")),
    Case("curate-mouse-go-empty", "curate", "mouse GO annotation file emptied",
         _curate_with("mouse/go_annotations_mouse_2014.tsv.gz", lambda r: b""), ("{mirror_file}", "'sha256'")),
    Case("curate-hp-obo-truncated", "curate", "hp.obo.gz cut in half",
         _curate_with("ontology/hp.obo.gz", _half, "hpo"), ("{mirror_file}", "'sha256'")),
    Case("curate-hpo-genes-half", "curate", "genes_to_phenotype.txt.gz with half its rows",
         _curate_with("human/genes_to_phenotype.txt.gz", _half_rows, "hpo"), ("{mirror_file}", "'sha256'")),
    Case("curate-human-fasta-truncated", "curate", "human FASTA cut in half",
         _curate_with("human/uniprot_sprot_human_2014.fasta.gz", _half, "hpo"), ("{mirror_file}", "'sha256'")),
    Case("curate-human-go-half", "curate", "human GO annotation file with half its rows",
         _curate_with("human/go_annotations_human_2014.tsv.gz", _half_rows, "hpo"), ("{mirror_file}", "'sha256'")),
    # -------------------------------------------------------------------------------------------- run
    Case("run-only-unknown", "run", "--only 99", lambda e: ["run", "--preset", "smoke", "--only", "99"],
         ("notebooks", "'only'", "no notebook '99'")),
    Case("run-preset-unknown", "run", "--preset fast", lambda e: ["run", "--preset", "fast"], ("--preset", "fast"), 2),
    Case("run-params-unknown-block", "run", "params: block '03_evaluat' (misspelt)",
         lambda e: [e.params(lambda t: t.replace("\n03_evaluate:", "\n03_evaluat:")), "run", "--preset", "smoke"][1:],
         ("{params}", "line ", "'03_evaluat'", "did you mean '03_evaluate'")),
    Case("run-params-undeclared-key", "run", "params: 01_data_curation.max_gene (not a notebook parameter)",
         lambda e: [e.params(_sub(r"max_genes: (\d+)", r"max_gene: \1")), "run", "--preset", "smoke"][1:],
         ("{params}", "'01_data_curation.max_gene'", "did you mean 'max_genes'")),
    Case("run-params-wrong-type", "run", "params: 01_data_curation.min_genes: eleven",
         lambda e: [e.params(_sub(r"min_genes: \d+", "min_genes: eleven")), "run", "--preset", "smoke"][1:],
         ("{params}", "'01_data_curation.min_genes'", "expected an integer")),
    Case("run-params-bioscan5m-root-missing", "run", "params diffusion: 'data: bioscan5m' at a root that does not exist",
         lambda e: [e.params(lambda t: t.replace("\ndiffusion:\n", "\ndiffusion:\n  data: bioscan5m\n"
                                                 "  bioscan5m_root: /nonexistent/bioscan\n")), "run", "--preset", "smoke"][1:],
         ("/nonexistent/bioscan", "BIOSCAN-5M", "download=True")),
    Case("run-params-common-unknown", "run", "params: common.sead (misspelt)",
         lambda e: [e.params(_sub(r"\ncommon:\n", "\ncommon:\n  sead: 1\n")),
                    "run", "--preset", "smoke"][1:], ("{params}", "'common.sead'", "did you mean 'seed'")),
    Case("run-params-diffusion-type", "run", "params: diffusion.unet_channels: [16, x]",
         lambda e: [e.params(_sub(r"unet_channels: \[(\d+), \d+\]", r"unet_channels: [\1, x]")),
                    "run", "--preset", "smoke"][1:], ("{params}", "'diffusion.unet_channels'", "list of integers")),
    Case("run-params-no-common", "run", "params file without a common block",
         lambda e: [e.params(_sub(r"\ncommon:\n(  .*\n)+", "\n")), "run", "--preset", "smoke"][1:],
         ("{params}", "'common'", "top-level 'common'")),
    # ------------------------------------------------------------------------------------------- book
    Case("book-not-executed", "book", "--preset paper before any paper run",
         lambda e: ["book", "--preset", "paper"], ("build/paper/executed/01_data_curation", "not executed yet",
                                                   "python -m g2p run --preset paper"), 2),
    Case("book-preset-unknown", "book", "--preset fast", lambda e: ["book", "--preset", "fast"], ("--preset", "fast"), 2),
    Case("check-book-not-built", "check-book", "--html naming a folder without a built book",
         lambda e: ["check-book", "--html", str(e.tmp / "nobook")], ("nobook", "no index.html", "python -m g2p book")),
    # ------------------------------------------------------------------------------------------- course
    Case("course-no-action", "course", "no build/check", lambda e: ["course"], ("ACTION",), 2),
    Case("course-check-missing", "course", "check of a notebook that does not exist",
         lambda e: ["course", "check", str(e.tmp / "missing.ipynb")], ("missing.ipynb", "no such notebook")),
    Case("course-check-not-json", "course", "check of a file that is not a notebook",
         lambda e: ["course", "check", str(e.file("sub.ipynb", "print('hello')\n"))], ("{sub_ipynb}", "not a readable notebook")),
    Case("course-check-no-chapter", "course", "check of a notebook that is no chapter's copy",
         lambda e: ["course", "check", str(e.file("99_mine.ipynb", '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'))],
         ("{99_mine_ipynb}", "which chapter")),
    Case("course-check-timeout-text", "course", "--timeout soon",
         lambda e: ["course", "check", "x.ipynb", "--timeout", "soon"], ("--timeout", "number"), 2),
    # ------------------------------------------------------------------------------------------- g2p
    Case("g2p-unknown-command", "g2p", "command 'trian'", lambda e: ["trian"], ("invalid choice", "'trian'"), 2),
    # ------------------------------------------------- no input is overwritten (resolved, links followed)
    Case("predict-out-is-fasta", "predict", "--out names the input FASTA",
         lambda e: _predict(e, fasta=str(e.file("in.fa", FASTA)))[:-1] + [str(e.tmp / "in.fa")],
         ("--out", "--fasta input", "would destroy"), 2),
    Case("predict-out-is-go", "predict", "--out names the --go table",
         lambda e: [*_predict(e, "--go", str(e.file("go.tsv", "accession\tgo_ids\nP11111\tGO:0005634\n"))),
                    "--out", str(e.tmp / "go.tsv")], ("--out", "--go input"), 2),
    Case("predict-out-symlink-to-fasta", "predict", "--out is a symbolic link to the input FASTA",
         lambda e: [*_predict(e), "--out", str(os.symlink(e.tmp / "in.fa", e.tmp / "link.tsv") or e.tmp / "link.tsv")],
         ("--out", "--fasta input"), 2),
    Case("predict-out-hardlink-to-fasta", "predict", "--out is a hard link to the input FASTA",
         lambda e: [*_predict(e), "--out", str(os.link(e.tmp / "in.fa", e.tmp / "hard.tsv") or e.tmp / "hard.tsv")],
         ("--out", "--fasta input"), 2),
    Case("predict-out-in-model", "predict", "--out inside the model folder",
         lambda e: _predict(e, model=str(e.copy_folder(e.model(), "model")))[:-1] + [str(e.tmp / "model" / "p.tsv")],
         ("--out", "inside the --model folder"), 2),
    Case("generate-out-is-model", "generate", "--out is the pipeline folder",
         lambda e: [*_generate(e, model=str(e.copy_folder(e.pipeline(), "pipe"))), "--out", str(e.tmp / "pipe")],
         ("--out", "inside the --model folder"), 2),
    # ------------------------------------------- nothing the user supplies is dropped without a word
    Case("predict-fasta-text-before-header", "predict", "FASTA with a line before the first '>'",
         lambda e: _predict(e, fasta=str(e.file("stray.fa", "my proteins\n" + FASTA))),
         ("{stray_fa}", "line 1", "text before the first '>'", "my proteins")),
    Case("predict-go-by-symbol", "predict", "--go keyed by gene symbol (no accession matches)",
         lambda e: _predict(e, "--go", str(e.file("symbols.tsv", GO_BY_SYMBOL))),
         ("{symbols_tsv}", "'accession'", "none of its 2 accessions", "Aaa1", "P11111")),
    Case("predict-go-duplicate-accession", "predict", "--go with two lines of one accession",
         lambda e: _predict(e, "--go", str(e.file("twice.tsv", "accession\tgo_ids\nP11111\tGO:0005634\n"
                                                               "P22222\tGO:0005737\nP11111\tGO:0005739\n"))),
         ("{twice_tsv}", "line 4", "'accession'", "'P11111' appears again (first on line 2)")),
    Case("predict-go-only-unknown-ids", "predict", "--go whose GO ids are all unknown or obsolete",
         lambda e: _predict(e, "--go", str(e.file("dead.tsv", "accession\tgo_ids\nP11111\tGO:9999999;GO:0000005\n"))),
         ("{dead_tsv}", "'go_ids'", "none of its 2 GO ids is a live GO term", "GO:9999999 (not in GO)",
          "GO:0000005 (obsolete")),
    Case("predict-go-empty", "predict", "--go table with a header and no line",
         lambda e: _predict(e, "--go", str(e.file("none.tsv", "accession\tgo_ids\n"))),
         ("{none_tsv}", "lists no GO annotation")),
    Case("predict-go-model-without-go", "predict", "--go for a model trained without the GO stream",
         lambda e: _predict(e, "--go", str(e.file("go.tsv", "accession\tgo_ids\nP11111\tGO:0005634\n")),
                            model=str(e.no_go_model())), ("--go", "would change nothing", "reads no GO stream"), 2),
    Case("generate-env-guidance-without-coordinates", "generate", "--environment-guidance-scale without --lat/--lon",
         lambda e: _generate(e, "--environment-guidance-scale", "3"),
         ("--environment-guidance-scale", "none were given"), 2),
    Case("generate-coordinates-model-without-environment", "generate", "--lat/--lon for a model without environment input",
         lambda e: _generate(e, "--lat", "45", "--lon", "7", model=str(e.no_env_pipeline())),
         ("--lat/--lon would change nothing", "no environment"), 2),
    Case("train-hf-model-without-hf-encoder", "train", "--hf-model with the preset's k-mer encoder",
         lambda e: _train(e, "--hf-model", "facebook/esm2_t6_8M_UR50D"), ("--hf-model would change nothing",), 2),
    # ------------------------------------------- no input is transformed silently
    Case("predict-fasta-eszett", "predict", "FASTA sequence with 'ß' (Unicode would read it as 'SS')",
         lambda e: _predict(e, fasta=str(e.file("eszett.fa", FASTA.replace("KSHFS", "KßHFS")))),
         ("{eszett_fa}", "line 2", "'sequence'", "'ß'", "only ASCII letters")),
    Case("predict-fasta-ligature", "predict", "FASTA sequence with the ligature 'ﬁ' (read as 'FI')",
         lambda e: _predict(e, fasta=str(e.file("ligature.fa", FASTA.replace("KSHFS", "KSHﬁS")))),
         ("{ligature_fa}", "line 2", "'sequence'", "'ﬁ'")),
    Case("predict-fasta-nucleotides", "predict", "a nucleotide FASTA given to a protein model",
         lambda e: _predict(e, fasta=str(e.file("dna.fa", FASTA.replace("MKTAYIAKQRQISFVKSHFSRQ", DNA)))),
         ("{dna_fa}", "line 2", "'sequence'", "looks like a nucleotide sequence")),
    Case("predict-fasta-only-x", "predict", "a FASTA record of only X (no known residue)",
         lambda e: _predict(e, fasta=str(e.file("unknown.fa", FASTA.replace("MSTNPKPQRKTKRNTNRRPQDVKFPGG", "X" * 27)))),
         ("{unknown_fa}", "line 4", "'sequence'", "no known residue")),
    Case("generate-barcode-only-n", "generate", "a barcode of only N", lambda e: _generate(e, barcode="N" * 40),
         ("barcode 0", "no 3-mer of known bases", "40 of 40 bases are N"), 2),
    Case("generate-barcode-n-in-every-kmer", "generate", "a barcode with an N in every 3-mer",
         lambda e: _generate(e, barcode="ANNCNNGNNTNNA"), ("barcode 0", "no 3-mer of known bases"), 2),
    Case("predict-sums-empty", "predict", "model folder whose SHA256SUMS is empty",
         lambda e: _predict(e, model=_damaged_model(e, SUMS, lambda p: p.write_text(""))),
         ("{model}/SHA256SUMS", "lists no file")),
    Case("predict-sums-incomplete", "predict", "model SHA256SUMS that leaves out the weights",
         lambda e: _predict(e, model=_damaged_model(e, SUMS, _sums_without("model.safetensors"))),
         ("{model}/SHA256SUMS", "does not list 1 file", "model.safetensors", "unchecked")),
    Case("generate-sums-incomplete", "generate", "pipeline SHA256SUMS that leaves out the UNet weights",
         lambda e: _generate(e, model=_damaged_pipeline(e, SUMS, _sums_without("unet/diffusion_pytorch_model.safetensors"))),
         ("{pipe}/SHA256SUMS", "does not list 1 file", "unet/diffusion_pytorch_model.safetensors")),
    Case("train-sums-incomplete", "train", "curated SHA256SUMS that leaves out labels.npz",
         lambda e: _train(e, dataset=_damaged_dataset(e, SUMS, _sums_without("labels.npz"))),
         ("{ds}/SHA256SUMS", "does not list 1 file", "labels.npz")),
    # ------------------------------------------- every preset value range-checked where it is read
    Case("train-params-duplicate-key", "train", "params genepheno block with 'epochs' twice",
         lambda e: [e.params(_sub(r"\n  epochs: (\d+)", r"\n  epochs: \1\n  epochs: 9")), *_train(e)][1:],
         ("{params}", "line ", "key 'epochs' appears twice")),
    Case("run-params-duplicate-block", "run", "params file with two 'common' blocks",
         lambda e: [e.params(lambda t: t + "\ncommon:\n  seed: 1\n"), "run", "--preset", "smoke"][1:],
         ("{params}", "line ", "key 'common' appears twice")),
    Case("train-params-patience-0", "train", "params genepheno block: 'patience: 0' (would train no epoch)",
         lambda e: [e.params(_sub(r"\n  patience: \d+", "\n  patience: 0")), *_train(e)][1:],
         ("{params}", "line ", "'genepheno.patience'", "at least 1")),
    Case("train-params-lr-negative", "train", "params genepheno block: 'lr: -0.01'",
         lambda e: [e.params(_sub(r"\n  lr: [0-9.e-]+", "\n  lr: -0.01")), *_train(e)][1:],
         ("{params}", "line ", "'genepheno.lr'", "greater than 0")),
    Case("train-params-lr-infinite", "train", "params genepheno block: 'lr: .inf'",
         lambda e: [e.params(_sub(r"\n  lr: [0-9.e-]+", "\n  lr: .inf")), *_train(e)][1:],
         ("{params}", "line ", "'genepheno.lr'", "finite")),
    Case("train-params-dropout-1.5", "train", "params genepheno block: 'dropout: 1.5'",
         lambda e: [e.params(_sub(r"\n  dropout: [0-9.]+", "\n  dropout: 1.5")), *_train(e)][1:],
         ("{params}", "line ", "'genepheno.dropout'", "less than 1")),
    Case("train-params-tau-0", "train", "params genepheno block: 'tau: 0'",
         lambda e: [e.params(_sub(r"\n  tau: [0-9.]+", "\n  tau: 0")), *_train(e)][1:],
         ("{params}", "line ", "'genepheno.tau'", "greater than 0")),
    Case("train-params-seed-negative", "train", "params common block: 'seed: -1'",
         lambda e: [e.params(_sub(r"\n  seed: \d+", "\n  seed: -1")), *_train(e)][1:],
         ("{params}", "line 7", "'common.seed'", "at least 0")),
    Case("train-params-heads-not-dividing", "train", "params genepheno block: n_heads that do not divide d_model",
         lambda e: [e.params(_sub(r"\n  n_heads: \d+", "\n  n_heads: 3")), *_train(e)][1:],
         ("{params}", "line ", "'genepheno.d_model'", "multiple of n_heads (3)")),
    Case("train-params-kmer-0", "train", "params genepheno block: 'kmer_ks: [0]'",
         lambda e: [e.params(_sub(r"kmer_ks: \[[0-9, ]+\]", "kmer_ks: [0]")), *_train(e)][1:],
         ("{params}", "line ", "'genepheno.kmer_ks'", "between 1 and 8")),
    Case("train-params-huge-width", "train", "params genepheno block: 'mlp_hidden: 10000000'",
         lambda e: [e.params(_sub(r"\n  mlp_hidden: \d+", "\n  mlp_hidden: 10000000")), *_train(e)][1:],
         ("{params}", "line ", "'genepheno.mlp_hidden'", "at most 16384")),
    Case("train-params-no-input", "train", "params genepheno block: use_sequence and use_go both false",
         lambda e: [e.params(_sub(r"\n  epochs: (\d+)", r"\n  epochs: \1\n  use_sequence: false\n  use_go: false")),
                    *_train(e)][1:], ("{params}", "'genepheno.use_sequence'", "no input")),
    Case("run-params-n-boot-0", "run", "params 03_evaluate.n_boot: 0",
         lambda e: [e.params(_sub(r"\n  n_boot: \d+", "\n  n_boot: 0")), "run", "--preset", "smoke"][1:],
         ("{params}", "line ", "'03_evaluate.n_boot'", "at least 1")),
    Case("run-params-fdr-2", "run", "params 04_interpretability.fdr: 2",
         lambda e: [e.params(_sub(r"\n04_interpretability:\n", "\n04_interpretability:\n  fdr: 2\n")),
                    "run", "--preset", "smoke"][1:], ("{params}", "line ", "'04_interpretability.fdr'", "less than 1")),
    Case("run-params-num-images-huge", "run", "params 06_generate_phenotypes.num_images: 1000000",
         lambda e: [e.params(_sub(r"\n  num_images: \d+", "\n  num_images: 1000000")), "run", "--preset", "smoke"][1:],
         ("{params}", "line ", "'06_generate_phenotypes.num_images'", "at most 1000")),
    Case("run-params-diffusion-steps-0", "run", "params diffusion.steps: 0 (read by notebook 05)",
         lambda e: [e.params(_sub(r"\n  steps: \d+", "\n  steps: 0")), "run", "--preset", "smoke"][1:],
         ("{params}", "line ", "'diffusion.steps'", "at least 1")),
    Case("run-params-diffusion-heads", "run", "params diffusion: attention_head_dim that does not divide the UNet width",
         lambda e: [e.params(_sub(r"attention_head_dim: \d+", "attention_head_dim: 3")), "run", "--preset", "smoke"][1:],
         ("{params}", "line ", "'diffusion.unet_channels'", "multiple of attention_head_dim (3)")),
    Case("evaluate-params-baselines-dropout", "evaluate", "params 03_evaluate.baselines: dropout 1.5",
         lambda e: [e.params(lambda t: t.replace("baselines: {hidden: 32,", "baselines: {dropout: 1.5, hidden: 32,")),
                    "evaluate", "--preset", "smoke"][1:],
         ("{params}", "line ", "'03_evaluate.baselines.dropout'", "less than 1")),
    # ------------------------------------------- integrity: the digest cache never stands in for a changed file
    Case("data-mirror-same-size-same-mtime", "data layer", "mirror file rewritten with other bytes, same size, mtime kept",
         call=_same_size_same_mtime, expect=("{mirror_file}", "'sha256'", "expected")),
    Case("data-mirror-path-is-folder", "data layer", "the mirror's path of a raw file is a folder",
         call=_mirror_path_is_folder, expect=("{mirror_file}", "should be a file", "a folder")),
    # ------------------------------------------- the user's condition, not a bug
    Case("predict-disk-full", "predict", "the disk fills up while predictions are written (ENOSPC)",
         lambda e: [_fail_writing(e, "out.tsv", errno.ENOSPC), *_predict(e)][1:],
         ("{tmp}/out.tsv", "no space left on device", "free space")),
    Case("predict-quota-exceeded", "predict", "the disk quota is used up while predictions are written (EDQUOT)",
         lambda e: [_fail_writing(e, "out.tsv", errno.EDQUOT), *_predict(e)][1:], ("{tmp}/out.tsv", "quota")),
    Case("generate-out-not-writable", "generate", "--out in a folder the user may not write",
         lambda e: [e.monkeypatch.setattr(Path, "mkdir", _refuse_mkdir(e.tmp / "locked")),
                    *_generate(e), "--out", str(e.tmp / "locked" / "png")][1:],
         ("{tmp}/locked", "permission denied", "permissions")),
    Case("predict-terms-disagree", "predict", "terms.tsv that disagrees with its model (SHA256SUMS rewritten)",
         lambda e: _predict(e, model=_damaged_model(e, "terms.tsv", _resealed(_drop_last_term))),
         ("{model}/terms.tsv", "terms but the model scores", "another model")),
    Case("predict-model-is-weights-file", "predict", "--model names the weights file, not its folder",
         lambda e: _predict(e, model=str(e.copy_folder(e.model(), "model") / "model.safetensors")),
         ("{model}/model.safetensors", "is a file, not a model folder", "pass the folder that holds it")),
    Case("generate-num-images-huge", "generate", "--num-images 1000000",
         lambda e: _generate(e, "--num-images", "1000000"), ("--num-images", "more than the 1,000"), 2),
    Case("generate-memory-too-small", "generate", "not even one image fits in the free memory",
         lambda e: [e.monkeypatch.setattr("g2p.g2pdiff.pipeline.free_memory", lambda device: 1024), *_generate(e)][1:],
         ("needs about", "MiB", "1.0 KiB free on cpu")),
    Case("train-hf-model-not-cached", "train", "--encoder hf naming a hub model that is not in the local cache",
         lambda e: _train(e, "--encoder", "hf", "--hf-model", "g2p-tests/no-such-model", "--experiment", "hf-missing"),
         ("'hf_model'", "'g2p-tests/no-such-model'", "not in the local Hugging Face cache", "hf download")),
    Case("train-hf-model-folder-missing", "train", "--hf-model naming a local folder that does not exist",
         lambda e: _train(e, "--encoder", "hf", "--hf-model", str(e.tmp / "esm2")),
         ("{tmp}/esm2", "'hf_model'", "folder does not exist")),
    Case("train-dataset-escapes", "train", "--dataset ../x (blamed on the dataset, not the experiment)",
         lambda e: _train(e, dataset="../x"), ("'dataset'", "'../x'", "not a plain name")),
    Case("check-book-preset-escapes", "check-book", "--preset ../.. (screenshots outside the project)",
         lambda e: ["check-book", "--preset", "../.."], ("--preset", "invalid choice", "'../..'"), 2),
    # ------------------------------------------- one run per output folder at a time
    Case("train-same-run-busy", "train", "a second training of an experiment that is being trained",
         lambda e: [_hold_lock(e, paths.run_dir("smoke", f"genepheno/{TINY}/busy")), *_train(e, "--experiment", "busy")][1:],
         ("runs/smoke/genepheno/mpo-max120/busy", "training run in use by pid 4242", "one run per output folder")),
    Case("generate-same-out-busy", "generate", "a second generation into an --out folder being written",
         lambda e: [_hold_lock(e, e.tmp / "png"), *_generate(e)][1:],
         ("{tmp}/png", "generation output in use by pid 4242")),
    Case("curate-same-dataset-busy", "curate", "a second curation of a dataset being curated",
         lambda e: [_hold_lock(e, paths.processed_dataset("mpo-max50")), "curate", "mpo", "--max-genes", "50"][1:],
         ("data/processed/mpo-max50", "curation in use by pid 4242")),
    # -------------------------------------------------------- data layer: raw files no command reads alone
    Case("data-hpoa-truncated", "data layer", "phenotype.hpoa.gz cut in half",
         call=_resolve_with("hpo_annotations", "human/phenotype.hpoa.gz", _half), expect=("{mirror_file}", "'sha256'")),
    Case("data-bold-half", "data layer", "bold_insecta_coi.tsv.gz with half its rows",
         call=_resolve_with("bold_coi", "barcodes/bold_insecta_coi.tsv.gz", _half_rows), expect=("{mirror_file}", "'sha256'")),
    Case("data-bioscan5m-edited", "data layer", "bioscan5m_sample_records.json edited",
         call=_resolve_with("bioscan5m_samples", "barcodes/bioscan5m_sample_records.json",
                            lambda r: _real(r).replace(b"Diptera", b"Dipterx", 1)), expect=("{mirror_file}", "'sha256'")),
    Case("data-image-truncated", "data layer", "BIOSCAN-1M Diptera.jpg cut in half",
         call=_resolve_with("bioscan1m_diptera", "images/bioscan1m/Diptera.jpg", _half), expect=("{mirror_file}", "'sha256'")),
    Case("data-taesd-weights", "data layer", "TAESD weights replaced by zeros (same size)",
         call=_taesd_zeroed, expect=("{mirror_file}", "'sha256'")),
    Case("data-manifest-yaml", "data layer", "sources.yaml with a YAML syntax error",
         call=_manifest("sources:\n- name: [x\n"), expect=("{sources_yaml}", "line ", "not valid YAML")),
    Case("data-manifest-field", "data layer", "sources.yaml entry without sha256",
         call=_manifest(GOOD_SOURCE.replace("  sha256: " + "a" * 64 + "\n", "")), expect=("{sources_yaml}", "'sha256'", "lacks")),
    Case("data-manifest-sha", "data layer", "sources.yaml sha256 that is not 64 hex digits",
         call=_manifest(GOOD_SOURCE.replace("a" * 64, "abc")), expect=("{sources_yaml}", "'sha256'", "64 lower-case hex")),
    Case("data-manifest-path", "data layer", "sources.yaml path that leaves the data folder",
         call=_manifest(GOOD_SOURCE.replace("ontology/tiny.obo", "../../etc/passwd")), expect=("{sources_yaml}", "'path'", "relative")),
    # ------------------------------------------------------------ course: grading never writes over its inputs
    Case("course-check-keep-is-submission", "course", "check --keep naming the submission itself",
         lambda e: ["course", "check", str(e.file("02_sub.ipynb", "{}")), "--keep", str(e.tmp / "02_sub.ipynb")],
         ("--keep", "{02_sub_ipynb}", "would be overwritten"), 2),
    Case("course-check-keep-link", "course", "check --keep naming a link to the submission",
         lambda e: ["course", "check", str(e.file("02_sub.ipynb", "{}")), "--keep", str(_link(e, "kept.ipynb", "02_sub.ipynb"))],
         ("--keep", "kept.ipynb", "would be overwritten"), 2),
    Case("course-check-keep-dotted", "course", "check --keep naming the submission by another path (dir/../sub)",
         lambda e: ["course", "check", str(e.file("02_sub.ipynb", "{}")), "--keep", str(e.tmp / "x" / ".." / "02_sub.ipynb")],
         ("--keep", "would be overwritten"), 2),
    Case("course-grade-missing", "course", "grade of a folder that does not exist",
         lambda e: ["course", "grade", str(e.tmp / "class")], ("class", "no such notebook or folder")),
    Case("course-grade-empty", "course", "grade of a folder without notebooks",
         lambda e: ["course", "grade", str(e.file("class/notes.txt", "x").parent)], ("class", "no notebooks")),
    Case("course-grade-twice", "course", "grade of two submissions of one student for one chapter",
         lambda e: ["course", "grade", str(e.file("class/ann/02_a.ipynb", CH02_COPY).parent.parent),
                    str(e.file("class/ann/02_b.ipynb", CH02_COPY))], ("02_b.ipynb", "a second submission of ann")),
    Case("course-grade-jobs-zero", "course", "grade --jobs 0", lambda e: ["course", "grade", "x", "--jobs", "0"],
         ("--jobs",), 2),
]


CH02_COPY = json.dumps({"cells": [], "metadata": {"g2p_course": {"chapter": "02_train_genepheno"}}, "nbformat": 4,
                        "nbformat_minor": 5})


def _link(env: Env, name: str, target: str) -> Path:
    link = env.tmp / name
    link.symlink_to(env.tmp / target)
    return link


def _damage_checkpoint(env: Env) -> str:
    experiment = env.request.getfixturevalue("checkpoint_experiment")
    source = paths.run_dir("smoke", f"genepheno/{TINY}/{experiment}")
    target = paths.run_dir("smoke", f"genepheno/{TINY}/{experiment}-damaged")
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target)
    _flip_byte(target / "checkpoint" / "model.pt", 2000)
    return f"{experiment}-damaged"


def _listing(*roots: Path) -> set[str]:
    return {str(p) for root in roots if root.exists() for p in root.rglob("*")}


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[Env]:
    monkeypatch.delenv(sources.MIRROR_ENV, raising=False)
    monkeypatch.delenv("G2P_DEBUG", raising=False)
    # diffusers' log handler keeps the stderr of the test that created it, which pytest has closed since;
    # without this, its next warning prints a "--- Logging error ---" traceback (a test artefact only)
    monkeypatch.setattr(logging, "raiseExceptions", False)
    case_dir = tmp_path / "case"
    case_dir.mkdir()
    yield Env(case_dir, monkeypatch, request, {"tmp": str(case_dir)})


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_gives_one_line_naming_the_culprit(case: Case, env: Env, capfd: pytest.CaptureFixture) -> None:
    # capfd, not capsys: libraries' logging handlers keep the sys.stderr they first saw
    if case.call is not None:
        operation = case.call(env)

        def invoke() -> int:
            try:
                operation()
            except Exception as exc:  # noqa: BLE001 - what the CLI boundary would print
                line, code = cli.describe(exc)
                print(line, file=sys.stderr)
                return code
            return 0
    else:
        argv = case.argv(env)

        def invoke() -> int:
            return cli.main(argv)
    capfd.readouterr()
    before = _listing(paths.output_root, env.tmp)
    code = invoke()
    captured = capfd.readouterr()
    after = _listing(paths.output_root, env.tmp)
    errors = [line for line in captured.err.splitlines() if line.startswith("error:")]
    message = errors[-1] if errors else ""
    _record(case, code, message)
    assert "Traceback" not in captured.err + captured.out, f"traceback for {case.id}:\n{captured.err[-2000:]}"
    assert code == case.code, f"{case.id}: exit {code}, expected {case.code}; stderr: {captured.err[-1500:]}"
    assert len(errors) == 1, f"{case.id}: expected one 'error:' line, got {errors or captured.err[-1500:]}"
    assert captured.err.strip().splitlines()[-1] == message, "the error line must be the last thing printed"
    assert "internal error" not in message, f"{case.id}: an unexpected exception reached the CLI: {message}"
    for expected in case.expect:
        assert expected.format(**env.vars) in message, f"{case.id}: {expected.format(**env.vars)!r} not in {message!r}"
    assert after == before, f"{case.id} left files behind: {sorted(after - before)}"
    for path, content in env.inputs.items():
        assert path.read_bytes() == content, f"{case.id} changed the user's input {path}"


# ------------------------------------------------------------------- valid input, partly unused: reported
@dataclass
class PartlyUsed:
    """A valid input of which something is not used as given: exit 0, and one ``note:`` line per thing
    (each holding all of its substrings), the output written."""

    id: str
    what: str
    argv: Callable[[Env], list[str]]
    notes: tuple[tuple[str, ...], ...]
    check: Callable[[Env], None]


def _predicted_genes(env: Env) -> set[str]:
    import pandas as pd

    return set(pd.read_csv(env.tmp / "out.tsv", sep="\t")["gene"])


def _stale_lock(env: Env, folder: Path) -> Path:
    """A lock file left by a run killed outright: its holder's line, and no flock on it."""
    from g2p import locks

    path = locks.lock_file(folder)
    path.write_text("pid 4242 on otherhost (g2p generate), since 2026-01-01 12:00:00\n")
    return path


PARTLY_USED = [
    PartlyUsed("predict-go-partly-used", "--go with an accession of no record, an unknown id and an alt id",
               lambda e: _predict(e, "--go", str(e.file("mixed.tsv", "accession\tgo_ids\n"
                                                                     "P11111\tGO:0005634;GO:9999999;GO:0000021\n"
                                                                     "Q99999\tGO:0005737\n"))),
               (("mixed.tsv", "1 of 2 accessions match no FASTA record", "Q99999"),
                ("mixed.tsv", "1 of 2 FASTA records have no line", "P22222"),
                ("mixed.tsv", "1 of 3 GO ids are not used", "GO:9999999 (not in GO)"),
                ("mixed.tsv", "1 GO id was replaced by its live term", "GO:0000021 → GO:0007131 (alt id)"),
                ("mixed.tsv", "GO input terms (after propagation) are not in the model's vocabulary", "[UNK]")),
               lambda e: _expect(_predicted_genes(e) == {"P11111", "P22222"})),
    PartlyUsed("predict-fasta-bom", "FASTA starting with a UTF-8 byte-order mark (every record read)",
               lambda e: _predict(e, fasta=str(e.file("bom.fa", b"\xef\xbb\xbf" + FASTA.encode()))), (),
               lambda e: _expect(_predicted_genes(e) == {"P11111", "P22222"})),
    PartlyUsed("generate-barcode-longer-than-model", "a 200 bp barcode for a model that reads 60 bp",
               lambda e: _generate(e, barcode="ACGT" * 50), (("barcode 0 has 200 bases", "reads its first 60",
                                                              "ignores the other 140"),),
               lambda e: _expect(sorted(p.name for p in (e.tmp / "png").iterdir()) == ["barcode000_sample00.png"])),
    PartlyUsed("generate-stale-lock", "--out whose lock was left by a run killed outright",
               lambda e: [_stale_lock(e, e.tmp / "png"), *_generate(e)][1:],
               ((f"{'{tmp}'}/png", "took over a stale lock", "pid 4242 on otherhost"),),
               lambda e: _expect(not (e.tmp / ".png.lock").exists() and (e.tmp / "png").is_dir())),
]


def _expect(condition: bool) -> None:
    assert condition


@pytest.mark.parametrize("case", PARTLY_USED, ids=[c.id for c in PARTLY_USED])
def test_partly_used_input_is_reported(case: PartlyUsed, env: Env, capfd: pytest.CaptureFixture) -> None:
    argv = case.argv(env)
    capfd.readouterr()
    code = cli.main(argv)
    captured = capfd.readouterr()
    notes = [line for line in captured.err.splitlines() if line.startswith("note:")]
    assert "Traceback" not in captured.err + captured.out, captured.err[-2000:]
    assert code == 0 and "error:" not in captured.err, f"{case.id}: exit {code}; {captured.err[-1500:]}"
    assert len(notes) == len(case.notes), f"{case.id}: notes {notes}"
    for expected in case.notes:
        wanted = [part.format(**env.vars) for part in expected]
        assert any(all(part in note for part in wanted) for note in notes), f"{case.id}: no note with {wanted}: {notes}"
    case.check(env)
    for path, content in env.inputs.items():
        assert path.read_bytes() == content, f"{case.id} changed the user's input {path}"


def _record(case: Case, code: int, message: str) -> None:
    target = os.environ.get("G2P_BAD_INPUT_TABLE")
    if target:
        with open(target, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"id": case.id, "command": case.command, "input": case.what, "exit": code,
                                 "message": message}) + "\n")


def test_the_table_covers_every_command_and_raw_file() -> None:
    commands = {c.command for c in CASES}
    assert set(cli.COMMANDS) <= commands, f"commands without a bad-input case: {set(cli.COMMANDS) - commands}"
    assert len(CASES) >= 60
    covered = " ".join(c.what for c in CASES)
    rels = {Path(s.path).name for s in sources.manifest() if not s.path.startswith("images/")}
    named = {name for name in rels if name in covered or name.split(".")[0] in covered}
    readers_by_curate = {"mp.obo.gz", "go.obo.gz", "hp.obo.gz", "MGI_PhenoGenoMP.rpt.gz", "MGI_marker_symbols.tsv.gz",
                         "genes_to_phenotype.txt.gz", "phenotype.hpoa.gz", "bold_insecta_coi.tsv.gz",
                         "bioscan5m_sample_records.json"}
    assert readers_by_curate <= named, f"raw files without a case: {readers_by_curate - named}"


def test_debug_shows_the_traceback(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(Exception, match="no notebook '99'"):
        cli.main(["--debug", "run", "--preset", "smoke", "--only", "99"])
    monkeypatch.setenv("G2P_DEBUG", "1")
    with pytest.raises(Exception, match="no notebook '99'"):
        cli.main(["run", "--preset", "smoke", "--only", "99"])


def test_the_real_entry_point_prints_one_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "g2p", "curate", "mpo", "--min-genes", "0"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: g2p curate: argument --min-genes: must be at least 1, got 0 (see g2p curate --help)"]


def test_a_file_too_large_for_the_limit_is_one_line_naming_it(tiny_model: Path, tmp_path: Path) -> None:
    """A real EFBIG ("OSError: [Errno 27] File too large", the limit of ``ulimit -f``): the write of
    the predictions fails in ``write()``, which names no file; the line names the output."""
    import resource
    import signal
    import subprocess

    fasta = tmp_path / "in.fa"
    fasta.write_text(FASTA)
    out = tmp_path / "out.tsv"

    def limit_file_size() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # else the kernel kills the process instead of failing write()
        resource.setrlimit(resource.RLIMIT_FSIZE, (2000, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))

    done = subprocess.run([sys.executable, "-m", "g2p", "predict", "--fasta", str(fasta), "--model", str(tiny_model),
                           "--top-k", "100", "--out", str(out)], capture_output=True, text=True, timeout=300,
                          preexec_fn=limit_file_size, env={k: v for k, v in os.environ.items() if k != "G2P_DEBUG"})
    assert done.returncode == 1, done.stderr[-2000:]
    assert done.stderr.strip().splitlines() == [
        f"error: {out}: file too large (the file is larger than the file system or a limit (ulimit -f) allows: "
        "write to another disk or raise the limit)"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.fa"], "a partial output or a temporary was left"
    assert fasta.read_text() == FASTA
