"""DNA conditioner: k-mer tokenizer, a small transformer encoder and the environment enhancement.

The paper tokenizes COI barcodes into overlapping k-mers (k = 3, DNABERT-like) and fuses the
latitude/longitude of the specimen, mapped onto the unit sphere, through an MLP. Here:

* ``KmerTokenizer`` turns barcodes into ids (``[CLS]`` + one id per overlapping k-mer, k-mers with
  ``N`` → ``[UNK]``, padded / truncated to ``max_bp`` bases like the official 660 bp loader).
* ``DNAConditioner`` (a diffusers ``ModelMixin`` so pipelines can save and load it) encodes the ids with
  ``nn.TransformerEncoder`` (or, frozen, any Hugging Face encoder saved on disk) into conditioning
  tokens ``[B, L, d]`` for the UNet's cross-attention, a pooled DNA embedding ``[B, d]`` for the
  alignment model, and a global vector (pooled DNA ⊕ environment) for the UNet's timestep-embedding
  path. The environment vector is added to every token and appended as one extra token; specimens
  without coordinates get a learned "no environment" embedding.

Condition dropout for classifier-free guidance acts on the barcode and on the environment
separately: a dropped barcode becomes the learned null token (every DNA token and the pooled
embedding), a dropped environment becomes the "no environment" embedding — exactly what a specimen
without coordinates gets. So one network gives the full model ``(DNA, env)``, the model without
environment ``(DNA, ∅)`` and the unconditional model ``(∅, ∅)``.
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
    """What the conditioner hands the UNet (``tokens``, ``mask``, ``vector``) and the alignment model
    (``pooled``)."""

    tokens: torch.Tensor  # [B, L, d] cross-attention context
    mask: torch.Tensor  # [B, L] 1 = attend
    pooled: torch.Tensor  # [B, d] pooled DNA embedding (alignment)
    vector: torch.Tensor  # [B, global_dim] pooled DNA ⊕ environment (the UNet's global path)

    def repeat_interleave(self, k: int) -> Conditioning:
        return Conditioning(*(x.repeat_interleave(k, dim=0) for x in (self.tokens, self.mask, self.pooled, self.vector)))

    @staticmethod
    def cat(parts: Sequence[Conditioning]) -> Conditioning:
        """Stack along the batch (contexts padded to the longest with masked zeros)."""
        length = max(p.tokens.shape[1] for p in parts)

        def pad(x: torch.Tensor) -> torch.Tensor:
            extra = length - x.shape[1]
            return x if extra == 0 else nn.functional.pad(x, (0, 0, 0, extra) if x.ndim == 3 else (0, extra))

        return Conditioning(torch.cat([pad(p.tokens) for p in parts]), torch.cat([pad(p.mask) for p in parts]),
                            torch.cat([p.pooled for p in parts]), torch.cat([p.vector for p in parts]))


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
            from transformers import AutoModel  # only a pretrained encoder needs transformers (seconds to import)

            from g2p.hf_models import local_model  # a missing model: one line at once, never a download

            folder = local_model(pretrained_encoder, field="pretrained_encoder")
            self.hf_encoder = AutoModel.from_pretrained(str(folder), local_files_only=True)
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

    @property
    def global_dim(self) -> int:
        """Width of :attr:`Conditioning.vector`: pooled DNA (d) plus the environment (d) when used."""
        return self.config.d_model * (2 if self.config.use_environment else 1)

    def environment(self, lat: torch.Tensor, lon: torch.Tensor, drop: torch.Tensor | None = None) -> torch.Tensor:
        """``[B, d]`` environment embedding; rows with NaN coordinates (or ``drop``) get the learned
        no-env vector."""
        missing = torch.isnan(lat) | torch.isnan(lon)
        if drop is not None:
            missing = missing | drop.to(missing.device)
        sphere = coordinates_to_sphere(torch.nan_to_num(lat), torch.nan_to_num(lon))
        env = self.env_mlp(sphere.to(self.no_env.dtype))
        return torch.where(missing[:, None], self.no_env.expand_as(env), env)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        lat: torch.Tensor | None = None,
        lon: torch.Tensor | None = None,
        drop_dna: torch.Tensor | None = None,
        drop_env: torch.Tensor | None = None,
    ) -> Conditioning:
        """``drop_dna`` / ``drop_env`` (``[B]`` bool): rows whose barcode becomes the null token /
        whose environment becomes the no-environment embedding (condition dropout, CFG)."""
        mask = attention_mask.bool()
        if self.hf_encoder is not None:
            with torch.no_grad():
                hidden = self.hf_encoder(input_ids=input_ids, attention_mask=attention_mask)
            hidden = self.project(hidden.last_hidden_state)
        else:
            x = self.embed(input_ids) + self.position[:, : input_ids.shape[1]]
            x, mask = self._pool(x, mask)
            hidden = self.dna_encoder(x, src_key_padding_mask=~mask)
        dna = self.norm(hidden)
        weights = mask.to(dna.dtype)[..., None]
        pooled = (dna * weights).sum(1) / weights.sum(1).clamp_min(1.0)
        if drop_dna is not None:
            # every key identical → cross-attention returns the null token whatever the mask
            drop = drop_dna.to(dna.device)
            dna = torch.where(drop[:, None, None], self.null_token.to(dna.dtype).expand_as(dna), dna)
            pooled = torch.where(drop[:, None], self.null_token.to(dna.dtype).expand_as(pooled), pooled)
        tokens, vector = dna, pooled
        if self.config.use_environment:
            if lat is None or lon is None:
                raise ValueError("this conditioner uses the environment: pass lat and lon (NaN = missing)")
            env = self.environment(lat.to(dna.device).float(), lon.to(dna.device).float(), drop_env).to(dna.dtype)
            tokens = torch.cat([dna + env[:, None, :], env[:, None, :]], dim=1)
            mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)
            vector = torch.cat([pooled, env], dim=1)
        return Conditioning(tokens=tokens, mask=mask.long(), pooled=pooled, vector=vector)

    def encode(
        self, barcodes: Sequence[str] | str, lat: Sequence[float] | None = None, lon: Sequence[float] | None = None,
        *, drop_dna: bool = False, drop_env: bool = False,
    ) -> Conditioning:
        """Convenience: raw barcodes (and coordinates) → ``Conditioning`` on this module's device."""
        batch = self.tokenize(barcodes)
        n = batch["input_ids"].shape[0]
        lat_t = torch.full((n,), math.nan) if lat is None else torch.as_tensor(lat, dtype=torch.float32)
        lon_t = torch.full((n,), math.nan) if lon is None else torch.as_tensor(lon, dtype=torch.float32)
        return self(
            batch["input_ids"].to(self.device), batch["attention_mask"].to(self.device),
            lat_t.to(self.device), lon_t.to(self.device),
            drop_dna=torch.full((n,), drop_dna, device=self.device),
            drop_env=torch.full((n,), drop_env, device=self.device),
        )


def dropout_masks(n: int, p_uncond: float, p_drop_env: float, p_drop_dna: float,
                  generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Condition dropout for ``n`` rows: ``(drop_dna, drop_env)`` bool ``[n]``.

    One uniform draw per row picks one of exclusive events: both dropped (``p_uncond``, trains the
    unconditional model), only the environment (``p_drop_env``, trains "without environment"),
    only the barcode (``p_drop_dna``).  So a row's barcode is null with probability
    ``p_uncond + p_drop_dna`` and its environment with ``p_uncond + p_drop_env``.
    """
    if min(p_uncond, p_drop_env, p_drop_dna) < 0 or p_uncond + p_drop_env + p_drop_dna > 1:
        raise ValueError("dropout probabilities must be >= 0 and sum to at most 1")
    u = torch.rand(n, generator=generator)
    both = u < p_uncond
    env_only = (u >= p_uncond) & (u < p_uncond + p_drop_env)
    dna_only = (u >= p_uncond + p_drop_env) & (u < p_uncond + p_drop_env + p_drop_dna)
    return both | dna_only, both | env_only
