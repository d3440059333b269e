"""Sequence encoders for GenePheno: k-mers, a CNN from scratch, any Hugging Face model, and their projection.

Three ways to turn a gene's sequence into model input, all accepting proteins or DNA:

* ``KmerFeaturizer`` — normalised k-mer composition (k = 1..3 for proteins by default), a sparse
  vector per gene. Fast; the CPU default for the ``quick`` preset.
* ``ConvSequenceEncoder`` — a small convolutional network over residue ids, trained from scratch.
* ``embed_sequences`` — a frozen Hugging Face ``AutoModel`` (by hub name or local folder), mean-pooled
  over residues, each sequence's embedding cached on disk under ``g2p.paths.cache`` keyed by the model
  name and the sequence's sha256, so a second call never runs the model.

``SequenceProjection`` turns k-mer or embedding features into a few whitened components, fitted on the
training genes. The GO stream is in :mod:`g2p.genepheno.go_terms`; :mod:`g2p.genepheno.inputs` puts
both streams together into model-ready tensors.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.decomposition import PCA
from torch import nn
from transformers import AutoModel, AutoTokenizer

from g2p import atomic, paths
from g2p.artifacts import key_of
from g2p.device import try_gpu
from g2p.errors import InputError

# Letters each alphabet accepts. k-mer vocabularies use only the unambiguous ones; ambiguous codes
# (X, B, Z, U, O, J in proteins; N and IUPAC codes in DNA) are accepted but simply not counted.
STANDARD = {"protein": "ACDEFGHIKLMNPQRSTVWY", "dna": "ACGT"}
ACCEPTED = {"protein": STANDARD["protein"] + "BJOUXZ", "dna": STANDARD["dna"] + "NRYKMSWBDHV"}


def check_sequence(sequence: str, alphabet: str = "protein", name: str | None = None) -> str:
    """Upper-cased ``sequence`` (terminal ``*`` stripped), or ``ValueError`` naming the invalid letters."""
    if alphabet not in ACCEPTED:
        raise ValueError(f"unknown alphabet {alphabet!r}; choose 'protein' or 'dna'")
    seq = sequence.strip().upper().rstrip("*")
    if not seq:
        raise ValueError(f"sequence {name or ''} is empty".replace("  ", " "))
    bad = sorted(set(seq) - set(ACCEPTED[alphabet]))
    if bad:
        where = f"sequence {name!r}" if name else "sequence"
        raise ValueError(
            f"{where} has letters not in the {alphabet} alphabet: {''.join(bad)!r} "
            f"(accepted: {ACCEPTED[alphabet]})"
        )
    return seq


def check_sequences(
    sequences: Sequence[str], alphabet: str = "protein", names: Sequence[str] | None = None
) -> list[str]:
    names = list(names) if names is not None else [f"#{i}" for i in range(len(sequences))]
    return [check_sequence(s, alphabet, n) for s, n in zip(sequences, names)]


# --------------------------------------------------------------------------- k-mer composition
@dataclass
class KmerFeaturizer:
    """Normalised k-mer composition: for each k the counts of every k-mer divided by the number of
    k-mers in the sequence (len − k + 1), concatenated over ``ks``. Columns are the k-mers of the
    unambiguous letters in lexicographic order; a window holding an ambiguous letter is not counted.
    Stateless (fixed full vocabulary), so the same featurizer rebuilt from ``to_dict()`` gives identical
    features at prediction time. Counting is vectorised with numpy (base-|alphabet| k-mer codes and one
    sparse matrix per k), ~10x faster than scikit-learn's ``CountVectorizer`` with a fixed vocabulary."""

    alphabet: str = "protein"
    ks: tuple[int, ...] = (1, 2, 3)

    def __post_init__(self) -> None:
        self.ks = tuple(int(k) for k in self.ks)
        if self.alphabet not in STANDARD:
            raise ValueError(f"unknown alphabet {self.alphabet!r}; choose 'protein' or 'dna'")

    @property
    def n_features(self) -> int:
        return sum(len(STANDARD[self.alphabet]) ** k for k in self.ks)

    def feature_names(self) -> list[str]:
        letters = STANDARD[self.alphabet]
        return ["".join(p) for k in self.ks for p in itertools.product(letters, repeat=k)]

    def transform(self, sequences: Sequence[str], names: Sequence[str] | None = None) -> sp.csr_matrix:
        return self._composition(check_sequences(sequences, self.alphabet, names))

    def transform_segments(
        self, sequences: Sequence[str], n_segments: int, names: Sequence[str] | None = None
    ) -> sp.csr_matrix:
        """The composition of each of ``n_segments`` consecutive, near-equal pieces of every sequence:
        a csr matrix of ``len(sequences) * n_segments`` rows (gene-major). A piece shorter than k has
        no k-mers (an all-zero row for that k)."""
        seqs = check_sequences(sequences, self.alphabet, names)
        pieces = []
        for s in seqs:
            cuts = np.linspace(0, len(s), n_segments + 1).round().astype(int)
            pieces.extend(s[a:b] for a, b in zip(cuts[:-1], cuts[1:]))
        return self._composition(pieces)

    def _composition(self, seqs: list[str]) -> sp.csr_matrix:
        letters = STANDARD[self.alphabet]
        base = len(letters)
        lut = np.full(256, -1, dtype=np.int64)
        lut[np.frombuffer(letters.encode(), dtype=np.uint8)] = np.arange(base)
        lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
        codes = lut[np.frombuffer("".join(seqs).encode(), dtype=np.uint8)]
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        owner = np.repeat(np.arange(len(seqs)), lengths)
        offset = np.arange(len(codes)) - np.repeat(starts, lengths)  # position within its sequence
        blocks = []
        for k in self.ks:
            n_windows = len(codes) - k + 1
            keep = (offset[: max(n_windows, 0)] <= (lengths[owner[: max(n_windows, 0)]] - k))
            kmer = np.zeros(max(n_windows, 0), dtype=np.int64)
            valid = keep.copy()
            for i in range(k):
                part = codes[i : i + len(kmer)]
                valid &= part >= 0
                kmer = kmer * base + part
            rows, cols = owner[: len(kmer)][valid], kmer[valid]
            counts = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)),
                                   shape=(len(seqs), base**k))
            counts.sum_duplicates()
            n_kmers = np.maximum(lengths - k + 1, 1).astype(np.float32)
            blocks.append(sp.diags(1.0 / n_kmers) @ counts)
        return sp.hstack(blocks, format="csr", dtype=np.float32)

    def to_dict(self) -> dict:
        return {"alphabet": self.alphabet, "ks": list(self.ks)}


# --------------------------------------------------------------------------- residues → CNN
RESIDUE_PAD = 0


def residue_vocabulary(alphabet: str) -> dict[str, int]:
    """Letter → id (0 is padding); every accepted letter has its own id."""
    return {ch: i + 1 for i, ch in enumerate(ACCEPTED[alphabet])}


def residue_ids(
    sequences: Sequence[str], alphabet: str = "protein", max_len: int = 1000, names: Sequence[str] | None = None
) -> np.ndarray:
    """(n, max_len) int array of residue ids, right-padded with 0; longer sequences keep their N-terminal
    ``max_len`` residues."""
    vocab = residue_vocabulary(alphabet)
    seqs = check_sequences(sequences, alphabet, names)
    out = np.zeros((len(seqs), max_len), dtype=np.int64)
    for i, s in enumerate(seqs):
        ids = [vocab[c] for c in s[:max_len]]
        out[i, : len(ids)] = ids
    return out


class ConvSequenceEncoder(nn.Module):
    """Residue embedding → dilated 1-D convolutions → a token sequence (downsampled by ``stride``).

    Returns ``(tokens, mask)``: ``tokens`` (B, L', d) and ``mask`` (B, L') True where a token covers at
    least one real residue.
    """

    def __init__(self, vocab_size: int, d_model: int, n_layers: int = 2, kernel_size: int = 9, stride: int = 4):
        super().__init__()
        self.stride = stride
        self.embed = nn.Embedding(vocab_size, d_model, padding_idx=RESIDUE_PAD)
        self.convs = nn.ModuleList(
            nn.Conv1d(d_model, d_model, kernel_size, padding=(kernel_size // 2) * 2**i, dilation=2**i)
            for i in range(n_layers)
        )
        self.pool = nn.MaxPool1d(stride, stride, ceil_mode=True)
        self.norm = nn.LayerNorm(d_model)

    def forward(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mask = ids != RESIDUE_PAD
        x = self.embed(ids).transpose(1, 2)  # (B, d, L)
        for conv in self.convs:
            x = x + torch.relu(conv(x)) * mask.unsqueeze(1)
        x = self.pool(x).transpose(1, 2)
        pooled_mask = self.pool(mask.float().unsqueeze(1)).squeeze(1) > 0
        return self.norm(x), pooled_mask


class FeatureTokens(nn.Module):
    """Sequence tokens from per-token feature vectors: ``(B, T, k)`` standardised features (token 0 the
    whole sequence, tokens 1.. its consecutive segments; see :class:`SequenceProjection`) → a shared
    linear map to ``d_model`` plus a learned position embedding per token."""

    def __init__(self, n_features: int, d_model: int, n_tokens: int = 1, dropout: float = 0.1):
        super().__init__()
        self.n_tokens, self.d_model = n_tokens, d_model
        self.proj = nn.Linear(n_features, d_model)
        self.position = nn.Parameter(torch.zeros(n_tokens, d_model))
        self.dropout = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(d_model)

    def forward(self, features: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        if features.dim() == 2:  # one vector per gene
            features = features.unsqueeze(1)
        tokens = self.dropout(self.proj(features)) + self.position[: features.shape[1]]
        if mask is None:
            mask = torch.ones(tokens.shape[:2], dtype=torch.bool, device=tokens.device)
        return self.norm(tokens), mask


# --------------------------------------------------------------------------- Hugging Face encoders
def _model_slug(model_name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "__", str(model_name)).strip("_")[-120:]


def hf_cache_dir(model_name: str, cache_root: Path | None = None) -> Path:
    return (cache_root or paths.cache / "hf_embeddings") / _model_slug(model_name)


def _needs_spaces(tokenizer, alphabet: str) -> bool:
    """Protein LMs with word-level vocabularies (ProtBERT, ProtT5) need space-separated residues; ESM-style
    tokenizers split letters themselves. Probe once: does "MKV" come out as three tokens? DNA models
    (k-mer/BPE vocabularies) always get the raw string."""
    return alphabet == "protein" and len(tokenizer.tokenize("MKV")) != 3


def embed_sequences(
    sequences: Sequence[str],
    model_name: str,
    *,
    alphabet: str = "protein",
    batch_size: int = 8,
    max_length: int = 1024,
    device: torch.device | str | None = None,
    cache_root: Path | None = None,
    trust_remote_code: bool = False,
) -> np.ndarray:
    """Mean-pooled last-layer embeddings (n, hidden) of a frozen Hugging Face model.

    ``model_name`` is a hub id or a local folder. Each embedding is cached as
    ``<cache>/<model>/<sha256(sequence)>.npy``; only sequences missing from the cache run through the
    model (which is not even loaded when everything is cached). The model is loaded from a local
    folder or the local Hugging Face cache only (:func:`g2p.hf_models.local_model`: a missing
    model is one line naming it and how to get it, at once, offline too). A model that ships its own
    code (GENERator's tokenizer) runs only with ``trust_remote_code``; without it, one line says so.
    """
    seqs = check_sequences(sequences, alphabet)
    folder = hf_cache_dir(model_name, cache_root)
    keys = [key_of(s, length=None) for s in seqs]  # sha256 of the sequence
    files = [folder / f"{k}.npy" for k in keys]
    todo = sorted({i for i, f in enumerate(files) if not f.exists()}, key=lambda i: len(seqs[i]))
    if todo:
        from g2p.hf_models import local_model

        folder_on_disk = str(local_model(model_name))
        options = {"local_files_only": True, "trust_remote_code": trust_remote_code}
        try:
            tokenizer = AutoTokenizer.from_pretrained(folder_on_disk, **options)
            model = AutoModel.from_pretrained(folder_on_disk, **options)
        except ValueError as exc:
            if "trust_remote_code" not in str(exc):
                raise
            raise InputError(f"model {model_name!r} ships its own code, which runs only when allowed",
                             field="hf_trust_remote_code",
                             hint="if you trust it, set hf_trust_remote_code: true in the preset's genepheno "
                                  "block (or --trust-remote-code)") from exc
        device = torch.device(device) if device is not None else try_gpu()
        spaced = _needs_spaces(tokenizer, alphabet)
        model.to(device).eval().requires_grad_(False)
        for start in range(0, len(todo), batch_size):
            chunk = todo[start : start + batch_size]
            batch = tokenizer(
                [" ".join(seqs[i]) if spaced else seqs[i] for i in chunk],
                return_tensors="pt",
                padding=True,
                truncation=True,
                max_length=max_length,
            ).to(device)
            with torch.no_grad():
                hidden = model(**batch).last_hidden_state.float()
            mask = batch["attention_mask"].unsqueeze(-1).float()
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
            for i, vec in zip(chunk, pooled.cpu().numpy()):
                with atomic.open_for_write(files[i]) as tmp:
                    with open(tmp, "wb") as fh:
                        np.save(fh, vec.astype(np.float32))
    return np.stack([np.load(f) for f in files]).astype(np.float32)


# --------------------------------------------------------------------------- sequence projection
@dataclass
class SequenceProjection:
    """Standardised low-dimensional sequence features, fitted on the TRAINING genes only.

    Raw k-mer frequencies are ~1e-4 and 8,420 wide: fed to a linear layer as they are, genes barely
    differ. So, as for compositional data in general, they are square-rooted (the Hellinger transform),
    centred, reduced by PCA to ``n_components`` and whitened (unit variance per component). Hugging Face
    embeddings skip the square root. Like a tokenizer's vocabulary the fitted arrays are part of the
    model folder (``seq_projection.npz``), so prediction sees exactly the training-time features.
    """

    mean: np.ndarray  # (n_features,)
    components: np.ndarray  # (k, n_features)
    scale: np.ndarray  # (k,) standard deviation of each component on the training genes
    sqrt: bool = True

    FILE = "seq_projection.npz"

    @classmethod
    def fit(cls, features, n_components: int, sqrt: bool = True, seed: int = 0) -> SequenceProjection:
        x = _as_dense(features, sqrt)
        k = int(max(1, min(n_components, x.shape[0] - 1, x.shape[1])))
        pca = PCA(n_components=k, svd_solver="randomized" if k < min(x.shape) // 2 else "full",
                  random_state=seed).fit(x)
        scale = np.sqrt(np.maximum(pca.explained_variance_, 1e-12))
        return cls(mean=pca.mean_.astype(np.float32), components=pca.components_.astype(np.float32),
                   scale=scale.astype(np.float32), sqrt=sqrt)

    @property
    def n_components(self) -> int:
        return int(self.components.shape[0])

    def transform(self, features) -> np.ndarray:
        """(n, n_features) raw features → (n, k) float32, whitened. Sparse input stays sparse: centring
        is applied after the product ((x − μ)Cᵀ = xCᵀ − μCᵀ), so segment matrices are never densified."""
        if sp.issparse(features):
            x = sp.csr_matrix(features, dtype=np.float32, copy=True)
            if self.sqrt:
                x.data = np.sqrt(x.data)
            projected = np.asarray(x @ self.components.T)
        else:
            projected = _as_dense(features, self.sqrt) @ self.components.T
        return ((projected - self.mean @ self.components.T) / self.scale).astype(np.float32)

    def save(self, path: Path) -> Path:
        path = Path(path)
        with atomic.open_for_write(path) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, mean=self.mean, components=self.components, scale=self.scale, sqrt=self.sqrt)
        return path

    @classmethod
    def load(cls, path: Path) -> SequenceProjection:
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                return cls(mean=data["mean"], components=data["components"], scale=data["scale"],
                           sqrt=bool(data["sqrt"]))
        except (OSError, ValueError, KeyError) as exc:
            raise ValueError(f"{path}: not a sequence projection file ({exc})") from exc


def _as_dense(features, sqrt: bool) -> np.ndarray:
    x = features.toarray() if sp.issparse(features) else np.asarray(features)
    x = x.astype(np.float32, copy=False)
    return np.sqrt(x) if sqrt else x
