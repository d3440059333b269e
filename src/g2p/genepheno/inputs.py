"""A model's inputs: how raw genes (sequences and GO term lists) become the tensors GenePheno reads.

``InputSpec`` is saved beside the weights (``inputs.json``) so prediction rebuilds exactly the
training-time features; ``encode_genes`` encodes both streams into ``EncodedGenes``, which cuts batches.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch

from g2p import atomic
from g2p.genepheno.encoders import KmerFeaturizer, SequenceProjection, embed_sequences, residue_ids
from g2p.genepheno.config import ENCODERS, TrainConfig
from g2p.genepheno.go_terms import GoVocabulary
from g2p.genepheno.sequences import dataset_sequences

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
    hf_trust_remote_code: bool = False  # run the code the Hugging Face model ships (its tokenizer, its model)
    sequences_fasta: str | None = None  # the genes' sequences from this FASTA, not the dataset (g2p.genepheno.sequences)

    def __post_init__(self) -> None:
        if self.encoder not in ENCODERS:
            raise ValueError(f"unknown sequence encoder {self.encoder!r}; choose {', '.join(map(repr, ENCODERS))}")
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
        return embed_sequences(sequences, self.hf_model, alphabet=self.alphabet, max_length=self.hf_max_length,
                               trust_remote_code=self.hf_trust_remote_code)

    def fit_projection(self, sequences: Sequence[str], seed: int = 0) -> SequenceProjection:
        return SequenceProjection.fit(self.raw_features(sequences), self.seq_dim, sqrt=self.encoder == "kmer",
                                      seed=seed)

    @classmethod
    def from_config(cls, config: TrainConfig) -> InputSpec:
        """The inputs a training run's settings ask for."""
        return cls(
            encoder=config.encoder, alphabet=config.alphabet, kmer_ks=config.kmer_ks, max_residues=config.max_residues,
            hf_model=config.hf_model, hf_max_length=config.hf_max_length, max_go_tokens=config.max_go_tokens,
            seq_dim=config.seq_dim, seq_segments=config.seq_segments, sequences_fasta=config.sequences_fasta,
            hf_trust_remote_code=config.hf_trust_remote_code,
        )

    def dataset_sequences(self, dataset, rows=None) -> list[str]:
        """The sequences this model reads for the dataset's genes (``rows``): its proteins or the FASTA's."""
        return dataset_sequences(dataset, self.sequences_fasta, self.alphabet, rows)

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
    """Width of each sequence token (0 when the model reads residue ids or no sequence)."""
    return 0 if encoded.seq is None or spec.seq_input != "features" else int(encoded.seq.shape[-1])
