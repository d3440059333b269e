"""Input encoders for GenePheno: sequences (k-mers, a CNN from scratch, any Hugging Face model) and GO terms.

Three ways to turn a gene's sequence into model input, all accepting proteins or DNA:

* ``KmerFeaturizer`` — normalised k-mer composition (k = 1..3 for proteins by default), a sparse
  vector per gene. Fast; the CPU default for the ``quick`` preset.
* ``ConvSequenceEncoder`` — a small convolutional network over residue ids, trained from scratch.
* ``embed_sequences`` — a frozen Hugging Face ``AutoModel`` (by hub name or local folder), mean-pooled
  over residues, each sequence's embedding cached on disk under ``g2p.paths.cache`` keyed by the model
  name and the sequence's sha256, so a second call never runs the model.

GO input: ``GoVocabulary`` maps a gene's fine-grained GO terms to token ids (vocabulary from the
training split with a frequency cut-off, ``[PAD]``/``[UNK]``/``[CLS]``) and ``GoEncoder`` is a small
transformer over those tokens.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from g2p import atomic, paths
from g2p.device import try_gpu

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


class GoBag(nn.Module):
    """Every GO input term of a gene, untruncated: the sum of their embeddings scaled by 1/√n (an
    ``nn.EmbeddingBag``), followed by log(1 + n), so how many terms a gene has is not averaged away."""

    def __init__(self, vocab_size: int, d_model: int):
        super().__init__()
        self.bag = nn.EmbeddingBag(vocab_size, d_model, mode="sum")
        self.out_dim = d_model + 1

    def forward(self, ids: torch.Tensor, offsets: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
        summed = self.bag(ids, offsets)
        counts = counts.float().unsqueeze(-1)
        return torch.cat([summed / counts.clamp(min=1).sqrt(), torch.log1p(counts)], dim=-1)


# --------------------------------------------------------------------------- Hugging Face encoders
def _model_slug(model_name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "__", str(model_name)).strip("_")[-120:]


def _sequence_key(sequence: str) -> str:
    return hashlib.sha256(sequence.encode()).hexdigest()


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
    local_files_only: bool | None = None,
) -> np.ndarray:
    """Mean-pooled last-layer embeddings (n, hidden) of a frozen Hugging Face model.

    ``model_name`` is a hub id or a local folder. Each embedding is cached as
    ``<cache>/<model>/<sha256(sequence)>.npy``; only sequences missing from the cache run through the
    model (which is not even loaded when everything is cached). ``local_files_only`` defaults to True
    for local folders and when ``HF_HUB_OFFLINE`` is set.
    """
    import os

    from transformers import AutoModel, AutoTokenizer

    seqs = check_sequences(sequences, alphabet)
    folder = hf_cache_dir(model_name, cache_root)
    keys = [_sequence_key(s) for s in seqs]
    files = [folder / f"{k}.npy" for k in keys]
    todo = sorted({i for i, f in enumerate(files) if not f.exists()}, key=lambda i: len(seqs[i]))
    if todo:
        if local_files_only is None:
            local_files_only = Path(model_name).exists() or os.environ.get("HF_HUB_OFFLINE") == "1"
        tokenizer = AutoTokenizer.from_pretrained(model_name, local_files_only=local_files_only)
        model = AutoModel.from_pretrained(model_name, local_files_only=local_files_only)
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


# --------------------------------------------------------------------------- GO terms
PAD, UNK, CLS = "[PAD]", "[UNK]", "[CLS]"


@dataclass
class GoVocabulary:
    """GO term ↔ token id. Ids 0, 1, 2 are ``[PAD]``, ``[UNK]``, ``[CLS]``; terms follow, most frequent
    (in the training split) first. ``encode`` puts ``[CLS]`` first so no gene has an empty GO stream,
    then the gene's terms ordered rarest first (the most specific ones survive truncation)."""

    terms: list[str] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._index = {t: i + 3 for i, t in enumerate(self.terms)}

    @classmethod
    def build(cls, go_inputs: Iterable[Iterable[str]], min_count: int = 2) -> GoVocabulary:
        counter = Counter(t for terms in go_inputs for t in set(terms))
        kept = sorted((t for t, c in counter.items() if c >= min_count), key=lambda t: (-counter[t], t))
        return cls(terms=kept, counts=[counter[t] for t in kept])

    def __len__(self) -> int:
        return len(self.terms) + 3

    def id(self, term: str) -> int:
        return self._index.get(term, 1)

    def encode(self, go_inputs: Sequence[Iterable[str]], max_len: int = 128) -> np.ndarray:
        """(n, max_len) int array: ``[CLS]`` then term ids, rarest first, padded with 0. Terms outside
        the vocabulary become one ``[UNK]`` (repeats carry no information)."""
        rank = {t: c for t, c in zip(self.terms, self.counts)}
        out = np.zeros((len(go_inputs), max_len), dtype=np.int64)
        for row, terms in enumerate(go_inputs):
            uniq = set(terms)
            known = sorted((t for t in uniq if t in self._index), key=lambda t: (rank[t], t))
            ids = [2] + [self._index[t] for t in known]
            if len(known) < len(uniq):
                ids.append(1)
            ids = ids[:max_len]
            out[row, : len(ids)] = ids
        return out

    def multi_hot(self, go_inputs: Sequence[Iterable[str]]) -> sp.csr_matrix:
        """(n, len(self)) 0/1 csr of every known term of each gene (no truncation; unknown terms dropped)."""
        indptr, indices = [0], []
        for terms in go_inputs:
            indices.extend(sorted({self._index[t] for t in terms if t in self._index}))
            indptr.append(len(indices))
        data = np.ones(len(indices), dtype=np.float32)
        return sp.csr_matrix((data, np.asarray(indices, dtype=np.int64), indptr), shape=(len(go_inputs), len(self)))

    def save(self, path: Path) -> Path:
        return atomic.write_text(Path(path), json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, path: Path) -> GoVocabulary:
        path = Path(path)
        try:
            data = json.loads(path.read_text())
            return cls(terms=list(data["terms"]), counts=[int(c) for c in data["counts"]])
        except (OSError, ValueError, KeyError) as exc:
            raise ValueError(f"{path}: not a GO vocabulary file ({exc})") from exc


class GoEncoder(nn.Module):
    """GO token ids → contextual tokens: embedding + a small pre-norm transformer encoder (no positions:
    a gene's GO terms are a set)."""

    def __init__(self, vocab_size: int, d_model: int, n_heads: int = 4, n_layers: int = 1, dropout: float = 0.1):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, d_model, padding_idx=0)
        # Token-level dropout (B × L × d masks drawn every step) costs more than the attention itself on
        # a CPU; the model regularises with dropout in its MLP instead.
        layer = nn.TransformerEncoderLayer(
            d_model, n_heads, 2 * d_model, 0.0, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)

    def forward(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mask = ids != 0
        x = self.encoder(self.embed(ids), src_key_padding_mask=~mask)
        return self.norm(x), mask


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
        from sklearn.decomposition import PCA

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


# --------------------------------------------------------------------------- a model's inputs
@dataclass
class InputSpec:
    """How a trained model turns raw genes into tensors; saved as ``inputs.json`` beside the weights so
    prediction rebuilds exactly the training-time features."""

    encoder: str = "kmer"  # "kmer" | "cnn" | "hf"
    alphabet: str = "protein"
    kmer_ks: tuple[int, ...] = (1, 2, 3)
    max_residues: int = 1000
    hf_model: str | None = None
    hf_max_length: int = 1024
    max_go_tokens: int = 128
    seq_dim: int = 128  # components of the SequenceProjection (kmer and hf encoders)
    seq_segments: int = 8  # segment tokens after the whole-sequence token (kmer encoder)

    def __post_init__(self) -> None:
        if self.encoder not in ("kmer", "cnn", "hf"):
            raise ValueError(f"unknown sequence encoder {self.encoder!r}; choose 'kmer', 'cnn' or 'hf'")
        if self.encoder == "hf" and not self.hf_model:
            raise ValueError("encoder='hf' needs hf_model (a hub name or a local folder)")
        self.kmer_ks = tuple(int(k) for k in self.kmer_ks)

    @property
    def seq_input(self) -> str:
        return "residues" if self.encoder == "cnn" else "features"

    @property
    def n_seq_tokens(self) -> int:
        """Sequence tokens per gene for feature encoders: the whole sequence plus its segments."""
        return 1 + (self.seq_segments if self.encoder == "kmer" else 0)

    def raw_features(self, sequences: Sequence[str], names: Sequence[str] | None = None):
        """Whole-sequence features before projection: k-mer composition (csr) or an HF embedding."""
        if self.encoder == "kmer":
            return KmerFeaturizer(self.alphabet, self.kmer_ks).transform(sequences, names)
        return embed_sequences(sequences, self.hf_model, alphabet=self.alphabet, max_length=self.hf_max_length)

    def fit_projection(self, sequences: Sequence[str], seed: int = 0) -> SequenceProjection:
        return SequenceProjection.fit(self.raw_features(sequences), self.seq_dim, sqrt=self.encoder == "kmer",
                                      seed=seed)

    def save(self, path: Path) -> Path:
        return atomic.write_text(Path(path), json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, path: Path) -> InputSpec:
        return cls(**json.loads(Path(path).read_text()))


@dataclass
class EncodedGenes:
    """Model-ready inputs for n genes. ``seq``: (n, T, k) float32 sequence tokens with ``seq_mask``
    (n, T), or (n, L) residue ids for the CNN; ``go_ids``: padded GO token ids (rarest terms first, cut at
    ``max_go_tokens``); ``go_bag``: csr (n, vocab) of ALL of a gene's GO input terms."""

    seq: np.ndarray | None
    go_ids: np.ndarray | None
    seq_input: str = "features"
    seq_mask: np.ndarray | None = None
    go_bag: sp.csr_matrix | None = None

    def __len__(self) -> int:
        return (self.seq if self.seq is not None else self.go_ids).shape[0]

    def batch(self, rows: np.ndarray, device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
        rows = np.asarray(rows)
        out: dict[str, torch.Tensor] = {}
        if self.seq is not None:
            if self.seq_input == "residues":
                out["residue_ids"] = torch.from_numpy(_trim_padding(self.seq[rows])).to(device)
            else:
                out["seq_features"] = torch.from_numpy(np.ascontiguousarray(self.seq[rows])).to(device)
                if self.seq_mask is not None:
                    out["seq_mask"] = torch.from_numpy(np.ascontiguousarray(self.seq_mask[rows])).to(device)
        if self.go_ids is not None:
            out["go_ids"] = torch.from_numpy(_trim_padding(self.go_ids[rows])).to(device)
        if self.go_bag is not None:
            block = self.go_bag[rows]
            out["go_bag_ids"] = torch.from_numpy(block.indices.astype(np.int64)).to(device)
            out["go_bag_offsets"] = torch.from_numpy(block.indptr[:-1].astype(np.int64)).to(device)
            out["go_counts"] = torch.from_numpy(np.diff(block.indptr).astype(np.float32)).to(device)
        return out


def _trim_padding(ids: np.ndarray) -> np.ndarray:
    """Drop the all-padding columns at the right end, so a batch costs its longest member, not max_len."""
    used = np.flatnonzero((ids != 0).any(axis=0))
    return np.ascontiguousarray(ids[:, : (used[-1] + 1 if len(used) else 1)])


def encode_sequences(
    sequences: Sequence[str], spec: InputSpec, projection: SequenceProjection | None,
    names: Sequence[str] | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Sequences → (tokens, mask): projected (n, T, k) tokens for kmer/hf, residue ids for the CNN."""
    if spec.encoder == "cnn":
        return residue_ids(sequences, spec.alphabet, spec.max_residues, names), None
    if projection is None:
        raise ValueError(f"the {spec.encoder!r} encoder needs a fitted SequenceProjection")
    whole = projection.transform(spec.raw_features(sequences, names))[:, None, :]
    if spec.encoder != "kmer" or spec.seq_segments == 0:
        return whole, np.ones(whole.shape[:2], dtype=bool)
    featurizer = KmerFeaturizer(spec.alphabet, spec.kmer_ks)
    pieces = featurizer.transform_segments(sequences, spec.seq_segments, names)
    segments = projection.transform(pieces).reshape(len(sequences), spec.seq_segments, -1)
    non_empty = (np.diff(pieces.indptr) > 0).reshape(len(sequences), spec.seq_segments)
    tokens = np.concatenate([whole, segments], axis=1)
    mask = np.concatenate([np.ones((len(sequences), 1), dtype=bool), non_empty], axis=1)
    return tokens, mask


def encode_genes(
    sequences: Sequence[str] | None,
    go_inputs: Sequence[Iterable[str]] | None,
    spec: InputSpec,
    vocab: GoVocabulary | None,
    names: Sequence[str] | None = None,
    projection: SequenceProjection | None = None,
) -> EncodedGenes:
    """Sequences and GO term lists → ``EncodedGenes`` (pass None for a stream the model does not use)."""
    seq = mask = None
    if sequences is not None:
        seq, mask = encode_sequences(sequences, spec, projection, names)
    go_ids = go_bag = None
    if go_inputs is not None:
        if vocab is None:
            raise ValueError("GO inputs need a GoVocabulary")
        go_ids = vocab.encode(go_inputs, spec.max_go_tokens)
        go_bag = vocab.multi_hot(go_inputs)
    return EncodedGenes(seq=seq, go_ids=go_ids, seq_input=spec.seq_input, seq_mask=mask, go_bag=go_bag)


def n_seq_features(spec: InputSpec, encoded: EncodedGenes) -> int:
    return 0 if encoded.seq is None or spec.seq_input != "features" else int(encoded.seq.shape[-1])
