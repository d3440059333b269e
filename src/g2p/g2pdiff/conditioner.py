"""DNA conditioner: k-mer tokenizer, a small transformer encoder and the environment enhancement.

The paper tokenizes COI barcodes into overlapping k-mers (k = 3, DNABERT-like) and fuses the
latitude/longitude of the specimen, mapped onto the unit sphere, through an MLP. Here:

* ``KmerTokenizer`` turns barcodes into ids (``[CLS]`` + one id per overlapping k-mer, k-mers with
  ``N`` → ``[UNK]``, padded / truncated to ``max_bp`` bases like the official 660 bp loader).
* ``DNAConditioner`` (a diffusers ``ModelMixin`` so pipelines can save and load it) encodes the ids with
  ``nn.TransformerEncoder`` (or, frozen, any Hugging Face encoder saved on disk) into conditioning
  tokens ``[B, L, d]`` for the UNet's cross-attention and a pooled DNA embedding ``[B, d]`` for the
  alignment model. The environment vector is added to every token and appended as one extra token;
  specimens without coordinates get a learned "no environment" embedding.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")  # DNABERT's order
DNA_LETTERS = frozenset("ACGTN")


def validate_barcodes(barcodes: Sequence[str] | str) -> list[str]:
    """Uppercase the barcodes and reject empty ones or letters outside ``ACGTN``.

    The error names the offending index and letters so a user can find the bad record.
    """
    if isinstance(barcodes, str):
        barcodes = [barcodes]
    cleaned: list[str] = []
    for i, seq in enumerate(barcodes):
        if not isinstance(seq, str):
            raise ValueError(f"barcode {i}: expected a string, got {type(seq).__name__}")
        seq = seq.strip().upper()
        if not seq:
            raise ValueError(f"barcode {i}: empty barcode")
        bad = sorted(set(seq) - DNA_LETTERS)
        if bad:
            raise ValueError(
                f"barcode {i}: letters outside ACGTN: {''.join(bad)!r} "
                "(map IUPAC ambiguity codes to N and remove alignment gaps first)"
            )
        cleaned.append(seq)
    return cleaned


def validate_coordinates(lat: Sequence[float], lon: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Latitude in [-90, 90], longitude in [-180, 180]; NaN means "missing" and is allowed."""
    lat_arr = np.asarray(lat, dtype=np.float64).reshape(-1)
    lon_arr = np.asarray(lon, dtype=np.float64).reshape(-1)
    if lat_arr.shape != lon_arr.shape:
        raise ValueError(f"got {lat_arr.size} latitudes but {lon_arr.size} longitudes")
    for name, arr, limit in (("latitude", lat_arr, 90.0), ("longitude", lon_arr, 180.0)):
        bad = np.flatnonzero(~np.isnan(arr) & (np.abs(arr) > limit))
        if bad.size:
            i = int(bad[0])
            raise ValueError(f"{name} {arr[i]} at index {i} is outside [-{limit:g}, {limit:g}]")
    return lat_arr, lon_arr


class KmerTokenizer:
    """Overlapping k-mer tokenizer for DNA; vocabulary = 5 specials + all 4^k k-mers (ACGT order)."""

    def __init__(self, k: int = 3, max_bp: int = 660) -> None:
        if not 1 <= k <= 8:
            raise ValueError(f"k must be in 1..8, got {k}")
        if max_bp < k:
            raise ValueError(f"max_bp ({max_bp}) must be at least k ({k})")
        self.k = k
        self.max_bp = max_bp
        kmers = ["".join(p) for p in itertools.product("ACGT", repeat=k)]
        self.vocab: dict[str, int] = {tok: i for i, tok in enumerate((*SPECIAL_TOKENS, *kmers))}
        self.pad_id, self.unk_id, self.cls_id = 0, 1, 2
        # Base-4 code of each letter; N → -1 marks k-mers that become [UNK].
        self._code = np.full(256, -1, dtype=np.int64)
        for i, letter in enumerate("ACGT"):
            self._code[ord(letter)] = i

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    @property
    def max_tokens(self) -> int:
        """``[CLS]`` + the k-mers of a ``max_bp``-long barcode."""
        return 1 + self.max_bp - self.k + 1

    def _kmer_ids(self, seq: str) -> np.ndarray:
        codes = self._code[np.frombuffer(seq[: self.max_bp].encode("ascii"), dtype=np.uint8)]
        n = len(codes) - self.k + 1
        if n <= 0:
            return np.empty(0, dtype=np.int64)
        windows = np.lib.stride_tricks.sliding_window_view(codes, self.k)
        ids = (windows * (4 ** np.arange(self.k - 1, -1, -1))).sum(axis=1) + len(SPECIAL_TOKENS)
        ids[(windows < 0).any(axis=1)] = self.unk_id
        return ids[:n]

    def encode(self, seq: str) -> list[int]:
        """Ids of one barcode: ``[CLS]`` then one id per overlapping k-mer (no padding)."""
        (seq,) = validate_barcodes([seq])
        return [self.cls_id, *self._kmer_ids(seq).tolist()]

    def __call__(
        self, barcodes: Sequence[str] | str, padding: str = "longest"
    ) -> dict[str, torch.Tensor]:
        """Batch-encode: ``input_ids`` and ``attention_mask`` ``[B, L]`` (``padding``: longest|max_length)."""
        if padding not in ("longest", "max_length"):
            raise ValueError(f"padding must be 'longest' or 'max_length', got {padding!r}")
        seqs = validate_barcodes(barcodes)
        rows = [np.concatenate([[self.cls_id], self._kmer_ids(s)]) for s in seqs]
        length = self.max_tokens if padding == "max_length" else max(len(r) for r in rows)
        ids = np.full((len(rows), length), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(rows), length), dtype=np.int64)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = r
            mask[i, : len(r)] = 1
        return {"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask)}

    def kmer_profile(self, barcodes: Sequence[str] | str) -> np.ndarray:
        """k-mer count vectors ``[N, 4^k]`` (k-mers with ``N`` skipped), e.g. for retrieval baselines."""
        seqs = validate_barcodes(barcodes)
        n_kmers = 4**self.k
        out = np.zeros((len(seqs), n_kmers), dtype=np.float32)
        for i, s in enumerate(seqs):
            ids = self._kmer_ids(s)
            ids = ids[ids >= len(SPECIAL_TOKENS)] - len(SPECIAL_TOKENS)
            out[i] = np.bincount(ids, minlength=n_kmers)
        return out


def coordinates_to_sphere(lat: torch.Tensor, lon: torch.Tensor) -> torch.Tensor:
    """(β, λ) in degrees → (cos β cos λ, cos β sin λ, sin β), the paper's environment input."""
    beta, lam = torch.deg2rad(lat), torch.deg2rad(lon)
    return torch.stack([beta.cos() * lam.cos(), beta.cos() * lam.sin(), beta.sin()], dim=-1)


@dataclass
class Conditioning:
    """What the conditioner hands the UNet (``tokens``, ``mask``) and the alignment model (``pooled``)."""

    tokens: torch.Tensor  # [B, L, d]
    mask: torch.Tensor  # [B, L] 1 = attend
    pooled: torch.Tensor  # [B, d]


class DNAConditioner(ModelMixin, ConfigMixin):
    """k-mer ids + coordinates → conditioning tokens ``[B, L, d]`` and a pooled DNA embedding ``[B, d]``.

    ``pretrained_encoder``: ``None`` (an ``nn.TransformerEncoder`` trained from scratch) or a path/name of
    a saved Hugging Face encoder (``AutoModel``), which is frozen and projected to ``d_model``; its ids come
    from the same ``KmerTokenizer`` (DNABERT-style vocabularies share the special-token order).
    ``token_pool`` > 1 average-pools the k-mer embeddings in windows of that many tokens before the
    encoder: a CPU-friendly shortcut (a 660 bp barcode gives 659 tokens; pooled by 8, 83) that keeps
    the overlapping-k-mer input but shortens self- and cross-attention.
    """

    @register_to_config
    def __init__(
        self,
        k: int = 3,
        max_bp: int = 660,
        d_model: int = 64,
        n_layers: int = 2,
        n_heads: int = 4,
        ff_dim: int = 128,
        dropout: float = 0.0,
        use_environment: bool = True,
        env_hidden: int = 64,
        pretrained_encoder: str | None = None,
        token_pool: int = 1,
    ) -> None:
        super().__init__()
        self.tokenizer = KmerTokenizer(k=k, max_bp=max_bp)
        n_pos = self.tokenizer.max_tokens
        if pretrained_encoder is None:
            self.embed = nn.Embedding(self.tokenizer.vocab_size, d_model, padding_idx=0)
            self.position = nn.Parameter(torch.randn(1, n_pos, d_model) * 0.02)
            layer = nn.TransformerEncoderLayer(
                d_model, n_heads, ff_dim, dropout, batch_first=True, norm_first=True
            )
            self.dna_encoder = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
            self.hf_encoder = None
            self.project = nn.Identity()
        else:
            from transformers import AutoModel

            self.hf_encoder = AutoModel.from_pretrained(pretrained_encoder)
            self.hf_encoder.requires_grad_(False)  # frozen foundation model
            self.dna_encoder = None
            self.project = nn.Linear(self.hf_encoder.config.hidden_size, d_model)
        self.norm = nn.LayerNorm(d_model)
        if use_environment:
            self.env_mlp = nn.Sequential(
                nn.Linear(3, env_hidden), nn.SiLU(), nn.Linear(env_hidden, d_model)
            )
            self.no_env = nn.Parameter(torch.zeros(d_model))
        # Null conditioning for classifier-free guidance (condition dropout replaces tokens by it).
        self.null_token = nn.Parameter(torch.randn(d_model) * 0.02)

    # -- helpers -----------------------------------------------------------------------------------
    def tokenize(self, barcodes: Sequence[str] | str) -> dict[str, torch.Tensor]:
        return self.tokenizer(barcodes)

    def _pool(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Masked average over windows of ``token_pool`` tokens; a window is kept if any token is real."""
        p = self.config.token_pool
        if p <= 1:
            return x, mask
        b, length, d = x.shape
        pad = (-length) % p
        w = nn.functional.pad(mask.to(x.dtype), (0, pad)).view(b, -1, p)
        x = nn.functional.pad(x, (0, 0, 0, pad)).view(b, -1, p, d)
        pooled = (x * w[..., None]).sum(2) / w.sum(2, keepdim=True).clamp_min(1.0)
        return pooled, w.sum(2) > 0

    def environment(self, lat: torch.Tensor, lon: torch.Tensor) -> torch.Tensor:
        """``[B, d]`` environment embedding; rows with NaN coordinates get the learned no-env vector."""
        missing = torch.isnan(lat) | torch.isnan(lon)
        sphere = coordinates_to_sphere(torch.nan_to_num(lat), torch.nan_to_num(lon))
        env = self.env_mlp(sphere.to(self.no_env.dtype))
        return torch.where(missing[:, None], self.no_env.expand_as(env), env)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        lat: torch.Tensor | None = None,
        lon: torch.Tensor | None = None,
    ) -> Conditioning:
        mask = attention_mask.bool()
        if self.hf_encoder is not None:
            with torch.no_grad():
                hidden = self.hf_encoder(input_ids=input_ids, attention_mask=attention_mask)
            hidden = self.project(hidden.last_hidden_state)
        else:
            x = self.embed(input_ids) + self.position[:, : input_ids.shape[1]]
            x, mask = self._pool(x, mask)
            hidden = self.dna_encoder(x, src_key_padding_mask=~mask)
        tokens = self.norm(hidden)
        if self.config.use_environment:
            if lat is None or lon is None:
                raise ValueError("this conditioner uses the environment: pass lat and lon (NaN = missing)")
            env = self.environment(lat.to(tokens.device).float(), lon.to(tokens.device).float())
            tokens = torch.cat([tokens + env[:, None, :], env[:, None, :]], dim=1)
            mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)
        weights = mask.to(tokens.dtype)[..., None]
        pooled = (tokens * weights).sum(1) / weights.sum(1).clamp_min(1.0)
        return Conditioning(tokens=tokens, mask=mask.long(), pooled=pooled)

    def encode(
        self, barcodes: Sequence[str] | str, lat: Sequence[float] | None = None, lon: Sequence[float] | None = None
    ) -> Conditioning:
        """Convenience: raw barcodes (and coordinates) → ``Conditioning`` on this module's device."""
        batch = self.tokenize(barcodes)
        n = batch["input_ids"].shape[0]
        lat_t = torch.full((n,), math.nan) if lat is None else torch.as_tensor(lat, dtype=torch.float32)
        lon_t = torch.full((n,), math.nan) if lon is None else torch.as_tensor(lon, dtype=torch.float32)
        return self(
            batch["input_ids"].to(self.device), batch["attention_mask"].to(self.device),
            lat_t.to(self.device), lon_t.to(self.device),
        )

    def null_conditioning(self, like: Conditioning) -> Conditioning:
        """The unconditional context for CFG: every token replaced by the learned null token."""
        tokens = self.null_token.to(like.tokens.dtype).expand_as(like.tokens)
        return Conditioning(tokens=tokens, mask=torch.ones_like(like.mask), pooled=self.null_token.expand_as(like.pooled))


def drop_conditioning(cond: Conditioning, null: Conditioning, drop: torch.Tensor) -> Conditioning:
    """Replace the rows where ``drop`` is True by the null conditioning (condition dropout for CFG)."""
    d = drop[:, None, None]
    return Conditioning(
        tokens=torch.where(d, null.tokens, cond.tokens),
        mask=torch.where(drop[:, None], null.mask, cond.mask),
        pooled=torch.where(drop[:, None], null.pooled, cond.pooled),
    )
