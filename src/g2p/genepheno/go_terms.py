"""The GO input stream: a vocabulary of fine-grained GO terms (token ids) and the modules that embed them.

``GoVocabulary`` maps a gene's GO terms to token ids (vocabulary from the training split with a
frequency cut-off, ``[PAD]``/``[UNK]``/``[CLS]``); ``GoEncoder`` is a small transformer over those
tokens and ``GoBag`` an embedding bag over all of them, untruncated.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from g2p import atomic

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
        return self.contextualise(self.embed(ids), mask), mask

    def contextualise(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The transformer over already embedded tokens (``mask``: True where a token is real); the
        pretraining adds a query token that has no id (:mod:`g2p.genepheno.pretrain`)."""
        return self.norm(self.encoder(tokens, src_key_padding_mask=~mask))


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
