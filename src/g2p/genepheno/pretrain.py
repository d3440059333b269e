"""GoBERT-style pretraining of GenePheno's GO encoder: masked GO-term modelling over the release's proteins.

The paper's GO encoder is GoBERT, a BERT pretrained on GO annotation sets; ours would otherwise see only
a dataset's few thousand training genes. Before fine-tuning, :func:`for_training` trains the encoder
(token embeddings + transformer, and the GO bag with ``bag: true``) on the GO input terms of every
protein of the data release (:mod:`g2p.genepheno.go_corpus`, mouse and human Swiss-Prot) **except the
dataset's genes outside its training split** (validation, test and prospective targets: their GO sets
are never read), then :func:`load_into` copies the weights into the GenePheno model.

The task, per protein: hide a share (``mask_frac``, at least one) of its known terms, append one query
token (a learned vector with no id), and predict the hidden terms from the query's output through the
token embeddings (tied, as in BERT): cross-entropy averaged over the hidden terms. A gene's GO terms are
a set (the encoder has no positions), so every hidden term would see the same input and give the same
output; one query token per protein computes that output once. The vocabulary is the dataset's own
(from its training genes), so the pretrained tables drop into the model as they are; corpus terms
outside it become ``[UNK]`` context, as at fine-tuning.

Cached under ``data/cache/`` by what it reads (vocabulary, excluded accessions, corpus, encoder sizes,
pretraining settings): every seed and ablation of a dataset shares one pretraining, and a second process
asking for it waits for the first (:mod:`g2p.locks`).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from g2p import artifacts, locks, paths
from g2p.genepheno import go_corpus
from g2p.genepheno.config import GoPretrainConfig, TrainConfig
from g2p.genepheno.go_terms import GoBag, GoEncoder, GoVocabulary

#: The split whose genes pretraining may read (every other split of the dataset is left out).
TRAIN = "train"
#: Bump when the task or the training loop changes what a pretraining returns.
PRETRAIN_VERSION = 1
#: Token ids that are never a target: [PAD], [UNK], [CLS].
N_SPECIAL = 3
#: The GenePheno modules a pretraining fills (their state-dict prefixes).
ENCODER_PREFIX, BAG_PREFIX = "go_encoder.", "go_bag_encoder."


@dataclass
class PretrainedGo:
    """A finished pretraining: the weights (GenePheno state-dict names) and what it cost."""

    state: dict[str, torch.Tensor]
    losses: list[float]  # training loss per step
    seconds: float
    n_proteins: int  # corpus proteins trained on
    n_excluded: int  # corpus proteins left out: the dataset's genes outside its training split
    key: str
    extra: dict = field(default_factory=dict)

    def summary(self) -> dict:
        """For a run's ``result.json``: cost, corpus size and the loss at the start and the end."""
        tail = self.losses[-max(1, len(self.losses) // 10):]
        return {"key": self.key, "seconds": round(self.seconds, 2), "steps": len(self.losses),
                "n_proteins": self.n_proteins, "n_excluded": self.n_excluded,
                "first_loss": self.losses[0] if self.losses else None,
                "last_loss": float(np.mean(tail)) if tail else None}


# ------------------------------------------------------------------------------------------ corpus
def excluded_accessions(dataset) -> set[str]:
    """The accessions pretraining must not read: every gene of ``dataset`` outside its training split."""
    genes = dataset.genes
    return set(genes.loc[genes["split"] != TRAIN, "accession"].astype(str))


def corpus_rows(corpus: go_corpus.GoCorpus, excluded: set[str], vocab: GoVocabulary,
                settings: GoPretrainConfig) -> list[int]:
    """The corpus rows pretraining reads: not excluded, with at least two terms in the vocabulary (one
    to hide, one to see), and a sample of ``max_proteins`` of them (by ``settings.seed``) if set."""
    known = vocab._index
    rows = [i for i, (acc, terms) in enumerate(zip(corpus.accessions, corpus.go_inputs))
            if acc not in excluded and sum(t in known for t in terms) >= 2]
    if settings.max_proteins is not None and len(rows) > settings.max_proteins:
        chosen = np.random.default_rng(settings.seed).choice(len(rows), settings.max_proteins, replace=False)
        rows = [rows[i] for i in np.sort(chosen)]
    return rows


# ------------------------------------------------------------------------------------------ the task
class MaskedGoModel(nn.Module):
    """GenePheno's GO modules (same classes and attribute names, so the state dicts line up) with a
    masked-term head: a query token, a BERT-style transform, and the token embeddings as decoder."""

    def __init__(self, vocab_size: int, d_model: int, n_heads: int, n_layers: int, bag_dim: int | None = None):
        super().__init__()
        self.go_encoder = GoEncoder(vocab_size, d_model, n_heads, n_layers, 0.0)
        self.query = nn.Parameter(torch.randn(d_model) * 0.02)
        self.transform = nn.Sequential(nn.Linear(d_model, d_model), nn.GELU(), nn.LayerNorm(d_model))
        self.decoder_bias = nn.Parameter(torch.zeros(vocab_size))
        self.go_bag_encoder = GoBag(vocab_size, bag_dim) if bag_dim else None
        if bag_dim:
            self.bag_bias = nn.Parameter(torch.zeros(vocab_size))

    def forward(self, ids: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
        """Loss of predicting the ``hidden`` positions of ``ids`` (B × L token ids) from the rest."""
        visible = ids.masked_fill(hidden, 0)
        tokens = self.go_encoder.embed(visible)
        batch = ids.shape[0]
        tokens = torch.cat([tokens, self.query.expand(batch, 1, -1)], dim=1)
        mask = torch.cat([visible != 0, torch.ones(batch, 1, dtype=torch.bool, device=ids.device)], dim=1)
        out = self.go_encoder.contextualise(tokens, mask)[:, -1]
        logits = self.transform(out) @ self.go_encoder.embed.weight.T + self.decoder_bias
        targets = torch.zeros_like(logits).scatter_add_(1, ids, hidden.float())
        loss = _set_cross_entropy(logits, targets)
        if self.go_bag_encoder is not None:
            known = (visible >= N_SPECIAL).float()  # the bag holds known terms only, as at fine-tuning
            weight = self.go_bag_encoder.bag.weight
            summed = (weight[visible] * known.unsqueeze(-1)).sum(1) / known.sum(1, keepdim=True).clamp(min=1).sqrt()
            bag_logits = summed @ weight.T / weight.shape[1] ** 0.5 + self.bag_bias
            loss = loss + _set_cross_entropy(bag_logits, targets)
        return loss

    def pretrained_state(self) -> dict[str, torch.Tensor]:
        """The weights GenePheno takes (under its own names), on the CPU."""
        modules = [(ENCODER_PREFIX, self.go_encoder)]
        if self.go_bag_encoder is not None:
            modules.append((BAG_PREFIX, self.go_bag_encoder))
        return {prefix + name: value.detach().cpu().clone()
                for prefix, module in modules for name, value in module.state_dict().items()}


def _set_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean over proteins of the cross-entropy averaged over each protein's hidden terms; special tokens
    are never predicted."""
    logits = logits.clone()
    logits[:, :N_SPECIAL] = -1e9
    log_p = torch.log_softmax(logits, dim=-1)
    return (-(targets * log_p).sum(1) / targets.sum(1).clamp(min=1)).mean()


def hide_terms(ids: torch.Tensor, mask_frac: float, generator: torch.Generator) -> torch.Tensor:
    """Which positions to hide: ``round(mask_frac × n)`` of each row's n known terms, at least one and
    at most n − 1 (rows with fewer than two known terms hide nothing)."""
    known = ids >= N_SPECIAL
    n = known.sum(1)
    k = torch.clamp(torch.round(mask_frac * n.float()).long(), min=1)
    k = torch.minimum(k, n - 1).clamp(min=0)
    scores = torch.rand(ids.shape, generator=generator, device=ids.device).masked_fill(~known, 2.0)
    rank = scores.argsort(1).argsort(1)
    return rank < k.unsqueeze(1)


# ------------------------------------------------------------------------------------------ training
def pretrain(token_ids: np.ndarray, vocab_size: int, config: TrainConfig, device: torch.device | str = "cpu",
             ) -> tuple[dict[str, torch.Tensor], list[float]]:
    """Masked GO-term modelling on ``token_ids`` (proteins × max_go_tokens, as ``GoVocabulary.encode``
    gives them) with ``config.go_pretraining``; returns GenePheno-named weights and the loss per step.
    Runs under its own seed and leaves the global random state as it found it."""
    settings = config.go_pretraining
    if settings is None:
        raise ValueError("config.go_pretraining is None: nothing to pretrain")
    devices = [torch.device(device)] if torch.device(device).type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(settings.seed)
        model = MaskedGoModel(vocab_size, config.d_model, config.n_heads, config.go_layers,
                              config.mlp_hidden if settings.bag else None).to(device)
        optimizer = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
        from transformers import get_cosine_schedule_with_warmup

        scheduler = get_cosine_schedule_with_warmup(optimizer, max(1, settings.steps // 20), settings.steps)
        generator = torch.Generator(device=device).manual_seed(settings.seed)
        ids_all = torch.from_numpy(np.ascontiguousarray(token_ids)).to(device)
        losses: list[float] = []
        for step, rows in enumerate(_batches(len(token_ids), settings)):
            ids = ids_all[rows]
            used = int((ids != 0).any(0).nonzero().max()) + 1  # a batch costs its longest member
            ids = ids[:, :used]
            loss = model(ids, hide_terms(ids, settings.mask_frac, generator))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            losses.append(float(loss.detach()))
            if step + 1 >= settings.steps:
                break
        return model.pretrained_state(), losses


def _batches(n: int, settings: GoPretrainConfig):
    """Row batches, epoch after epoch, each epoch a permutation fixed by (seed, epoch)."""
    epoch = 0
    while True:
        perm = torch.from_numpy(np.random.default_rng([settings.seed, epoch]).permutation(n))
        for start in range(0, n, settings.batch_size):
            yield perm[start : start + settings.batch_size]
        epoch += 1


def pretraining_key(vocab: GoVocabulary, excluded: set[str], corpus: go_corpus.GoCorpus, config: TrainConfig) -> str:
    """Everything a pretraining reads: the vocabulary, the left-out accessions, the corpus, the encoder's
    sizes and the pretraining settings (not the fine-tuning's learning-rate factor)."""
    settings = dataclasses.asdict(config.go_pretraining)
    settings.pop("finetune_lr_scale")
    return artifacts.key_of({
        "vocab": artifacts.key_of("\n".join(vocab.terms), length=None), "excluded": artifacts.key_of(
            "\n".join(sorted(excluded)), length=None), "corpus": corpus.key,
        "encoder": {"d_model": config.d_model, "n_heads": config.n_heads, "go_layers": config.go_layers,
                    "max_go_tokens": config.max_go_tokens, "bag": config.mlp_hidden if settings["bag"] else None},
        "settings": settings, "version": PRETRAIN_VERSION,
    })


def for_training(dataset, config: TrainConfig, vocab: GoVocabulary, device: torch.device | str = "cpu",
                 corpus: go_corpus.GoCorpus | None = None) -> PretrainedGo | None:
    """The pretraining a run of ``config`` on ``dataset`` starts from: from ``data/cache`` when it
    exists, else trained (on ``corpus``, default the release's) and cached. None when no corpus protein
    has two terms in the dataset's GO vocabulary (a dataset whose GO ids the release does not use)."""
    corpus = corpus if corpus is not None else go_corpus.release_corpus()
    excluded = excluded_accessions(dataset)
    if not corpus_rows(corpus, excluded, vocab, config.go_pretraining):
        return None
    key = pretraining_key(vocab, excluded, corpus, config)
    cache_file = artifacts.keyed_file(paths.cache, "genepheno_go_pretrain", key, ".pickle")

    def build() -> PretrainedGo:
        started = time.perf_counter()
        rows = corpus_rows(corpus, excluded, vocab, config.go_pretraining)
        token_ids = vocab.encode([corpus.go_inputs[i] for i in rows], config.max_go_tokens)
        state, losses = pretrain(token_ids, len(vocab), config, device)
        n_left_out = sum(acc in excluded for acc in corpus.accessions)
        return PretrainedGo(state, losses, time.perf_counter() - started, len(rows), n_left_out, key)

    with locks.hold(cache_file, what="GO pretraining"):
        return artifacts.load_or_build(cache_file, PretrainedGo, build)


def load_into(model: nn.Module, pretrained: PretrainedGo) -> list[str]:
    """Copy the pretrained weights into GenePheno ``model`` (names and shapes must match); returns the
    names of the parameters it set."""
    own = model.state_dict()
    for name, value in pretrained.state.items():
        if name not in own:
            raise ValueError(f"pretrained weight {name} has no place in the model (does it read GO terms?)")
        if own[name].shape != value.shape:
            raise ValueError(f"pretrained weight {name} is {tuple(value.shape)}, the model's {tuple(own[name].shape)}")
    with torch.no_grad():
        for name, value in pretrained.state.items():
            own[name].copy_(value.to(own[name].device, own[name].dtype))
    return list(pretrained.state)
