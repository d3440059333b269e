"""Independent evaluators for generated specimen images (CLIBD-like score, success rates, PES).

They are trained only on simulator renders of the *training split* and of the unseen species'
*reference* specimens (:func:`g2p.g2pdiff.datasets.add_unseen_references`: specimens of the unseen
species that neither the generator nor the test ever sees), and never see the generator or its
gene–image alignment model, so a generator cannot score well by fooling its own guidance model. Without
the references a scorer has never seen an unseen species and rewards a sample for looking like the
nearest *seen* one, which is what a generator that never saw the species produces: it would rank the
generator above the truth.

* **DNA–image contrastive scorer** (CLIBD-like): a small CNN image encoder and an MLP over the
  barcode's k-mer frequency profile, trained with symmetric InfoNCE; ``score`` is the cosine
  similarity of a barcode and an image in the shared space (``clibd_score``).
* **Success rate, the paper's definition** (``success_score``): the fraction of specimens for which
  at least one of the first k samples scores at least τ with its barcode.  τ is calibrated on the
  *validation* split (:meth:`Evaluators.calibrate`): the (1 − ``false_positive_rate``) quantile of the
  score of real renders paired with barcodes of other species, so a random image passes about 5 % of
  the time (the paper's random baseline: 4.4 %).
* **Success rate, classifier hit** (``success_taxon``, ours): a small CNN with a genus head and a
  species head; top-k at a level is the fraction of specimens for which at least one of the first k
  samples is classified to the true taxon.  Only specimens whose true taxon the classifier knows
  count (``n``): species-level success on unseen species needs their reference specimens (NaN
  without them).
* **PES** (phenotype embedding similarity): cosine similarity, in the classifier's penultimate
  layer, between a sample and the simulator's ground-truth render; level ``specimen`` compares with
  the render of the same specimen, ``species``/``genus`` with the mean embedding of all ground-truth
  renders of that taxon among the evaluated records.  Top-k takes the best of the first k samples.

Every number comes with a 95 % percentile-bootstrap interval over specimens (``ci_low``, ``ci_high``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn
from tqdm.auto import tqdm

from g2p import atomic
from g2p.device import seed_everything, try_gpu

_BASE = {"A": 0, "C": 1, "G": 2, "T": 3}


def kmer_profile(barcodes: Sequence[str], k: int = 4) -> np.ndarray:
    """``[N, 4**k]`` float32 frequencies of overlapping k-mers (k-mers containing N are skipped)."""
    lookup = np.full(256, -1, dtype=np.int64)
    for base, code in _BASE.items():
        lookup[ord(base)] = code
    out = np.zeros((len(barcodes), 4**k), dtype=np.float32)
    weights = 4 ** np.arange(k - 1, -1, -1)
    for i, seq in enumerate(barcodes):
        codes = lookup[np.frombuffer(seq.upper().encode("ascii"), dtype=np.uint8)]
        if len(codes) < k:
            continue
        windows = np.lib.stride_tricks.sliding_window_view(codes, k)
        valid = (windows >= 0).all(axis=1)
        index = windows[valid] @ weights
        counts = np.bincount(index, minlength=4**k).astype(np.float32)
        out[i] = counts / max(counts.sum(), 1.0)
    return out


class ImageEncoder(nn.Module):
    """Four stride-2 conv blocks → global average pool → ``feature_dim`` features."""

    def __init__(self, feature_dim: int = 128, width: int = 24) -> None:
        super().__init__()
        chans = [3, width, 2 * width, 4 * width, 4 * width]
        layers: list[nn.Module] = []
        for cin, cout in zip(chans[:-1], chans[1:]):
            layers += [nn.Conv2d(cin, cout, 3, stride=2, padding=1), nn.GroupNorm(4, cout), nn.SiLU()]
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(chans[-1], feature_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).mean(dim=(2, 3)))


class TaxonClassifier(nn.Module):
    def __init__(self, n_genera: int, n_species: int, feature_dim: int = 128, width: int = 24) -> None:
        super().__init__()
        self.encoder = ImageEncoder(feature_dim, width)
        self.genus = nn.Linear(feature_dim, n_genera)
        self.species = nn.Linear(feature_dim, n_species)
        # Mean penultimate feature of the training renders, set after training: PES compares
        # centred features, otherwise all cosine similarities crowd near 1.
        self.register_buffer("center", torch.zeros(feature_dim))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return F.silu(self.encoder(x))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The penultimate layer, centred (PES space)."""
        return self.features(x) - self.center

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.features(x)
        return self.genus(h), self.species(h)


class ContrastiveScorer(nn.Module):
    """CLIBD-like: image CNN and DNA k-mer MLP projected into one normalized space."""

    def __init__(self, n_kmers: int, embed_dim: int = 128, width: int = 24) -> None:
        super().__init__()
        self.image = ImageEncoder(embed_dim, width)
        self.dna = nn.Sequential(nn.Linear(n_kmers, 256), nn.SiLU(), nn.Linear(256, embed_dim))
        self.log_scale = nn.Parameter(torch.tensor(math.log(10.0)))

    def embed_images(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.image(x), dim=-1)

    def embed_dna(self, profiles: torch.Tensor) -> torch.Tensor:
        # Centre the profile (frequencies ~ 1/4**k) so the MLP sees informative deviations.
        return F.normalize(self.dna(profiles * profiles.shape[-1] - 1.0), dim=-1)


@dataclass
class EvaluatorConfig:
    image_size: int = 32  # renders are downsampled to this (cheap, and enough for the traits)
    kmer_k: int = 4
    feature_dim: int = 128
    width: int = 24
    batch_size: int = 128
    lr: float = 2e-3
    epochs: int = 5
    seed: int = 0
    # weigh each species' cross-entropy by its inverse frequency, so that species with few specimens (the
    # unseen species' references) are learned at all rather than crowded out by the many-specimen ones
    balanced_species: bool = True
    score_threshold: float | None = None  # τ of the paper-style success rate (see calibrate)
    false_positive_rate: float | None = None
    genera: list[str] = field(default_factory=list)
    species: list[str] = field(default_factory=list)


def _label_tensor(names: pd.Series, index: dict[str, int]) -> torch.Tensor:
    """Class indices (int64, a fresh writable copy); names unknown to ``index`` → -1."""
    return torch.from_numpy(np.array(names.map(index).fillna(-1).to_numpy(), dtype=np.int64))


def _downsample(images: torch.Tensor | np.ndarray, size: int) -> torch.Tensor:
    """Any ``[N, 3, H, W]`` images (uint8 or float in [0, 1]) → float in [0, 1] at ``size``."""
    x = torch.as_tensor(images)
    x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
    if x.shape[-1] != size or x.shape[-2] != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return x


def _prepare(images: torch.Tensor | np.ndarray, size: int) -> torch.Tensor:
    """Any ``[N, 3, H, W]`` images (uint8 or float in [0, 1]) → float in [-1, 1] at ``size``."""
    return _downsample(images, size) * 2.0 - 1.0


def evaluator_images(source, records: pd.DataFrame, render_size: int, size: int | None = None, *,
                     chunk: int = 2048) -> torch.Tensor:
    """The records' true images at the evaluators' resolution: ``[N, 3, size, size]`` float in [0, 1].

    Rendered (or read, for photos) ``chunk`` records at a time at ``render_size`` (the size samples are
    generated at, so truths and samples go through the same downsampling) and downsampled at once, so
    memory holds one chunk at full size: BIOSCAN-5M's 289k training photos are ~227 GB as float at
    256 px and ~3.6 GB at 32.  ``size`` defaults to :class:`EvaluatorConfig`'s; the result equals
    downsampling the whole render in one go (what :meth:`Evaluators.fit` would do batch by batch)."""
    size = EvaluatorConfig.image_size if size is None else int(size)
    out = torch.empty((len(records), 3, size, size))
    for start in range(0, len(records), chunk):
        part = records.iloc[start:start + chunk].reset_index(drop=True)
        out[start:start + len(part)] = _downsample(source.render(part, render_size), size)
    return out


def _augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Left–right flips (specimens are bilaterally symmetric) and shifts of up to 2 pixels, so the
    evaluators do not depend on the exact pixel grid of the simulator."""
    flip = torch.rand(x.shape[0], generator=generator) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    dx, dy = (int(v) for v in torch.randint(-2, 3, (2,), generator=generator))
    return torch.roll(x, shifts=(dy, dx), dims=(2, 3))


class Evaluators:
    """The trained scorer and classifier plus their label vocabularies."""

    def __init__(self, config: EvaluatorConfig, classifier: TaxonClassifier, scorer: ContrastiveScorer,
                 device: torch.device | str = "cpu") -> None:
        self.config = config
        self.classifier = classifier.eval()
        self.scorer = scorer.eval()
        self.device = torch.device(device)
        self.genus_index = {g: i for i, g in enumerate(config.genera)}
        self.species_index = {s: i for i, s in enumerate(config.species)}

    # ---------------------------------------------------------------------------------------------
    @classmethod
    def fit(
        cls,
        train_records: pd.DataFrame,
        train_images: torch.Tensor | np.ndarray,
        *,
        epochs: int = 5,
        seed: int = 0,
        device: torch.device | str | None = None,
        progress: bool = False,
        num_threads: int | None = None,
        **config: object,
    ) -> Evaluators:
        """Train both models on training-split records (and reference specimens, split ``reference``)
        and their renders (``[N, 3, H, W]``, uint8 or float in [0, 1]) on ``device`` (default: CUDA when present, else CPU).  Extra keyword
        arguments override :class:`EvaluatorConfig` fields.  Cost: about 3–5 ms per image and epoch
        on one busy CPU core at the default 32 px (24k renders × 4 epochs ≈ 8 minutes).

        ``num_threads`` sets torch's CPU threads for the duration of training only: on a busy shared
        CPU one thread is often many times faster than several spinning ones.
        """
        previous_threads = torch.get_num_threads()
        if num_threads is not None:
            torch.set_num_threads(num_threads)
        try:
            return cls._fit(train_records, train_images, epochs=epochs, seed=seed, device=device,
                            progress=progress, config=config)
        finally:
            torch.set_num_threads(previous_threads)

    @classmethod
    def _fit(cls, train_records, train_images, *, epochs, seed, device, progress, config) -> Evaluators:
        if len(train_records) != len(train_images):
            raise ValueError(f"{len(train_records)} records but {len(train_images)} images")
        if "split" in train_records.columns and set(train_records["split"]) - {"train", "reference"}:
            raise ValueError("evaluators must be trained on the train split (and the unseen species' reference "
                             f"specimens) only; got splits {sorted(set(train_records['split']))}")
        cfg = EvaluatorConfig(epochs=epochs, seed=seed, **config)  # type: ignore[arg-type]
        cfg.genera = sorted(train_records["genus"].unique())
        cfg.species = sorted(train_records["species"].unique())
        device = torch.device(device) if device is not None else try_gpu()
        seed_everything(seed)
        classifier = TaxonClassifier(len(cfg.genera), len(cfg.species), cfg.feature_dim, cfg.width).to(device)
        scorer = ContrastiveScorer(4**cfg.kmer_k, cfg.feature_dim, cfg.width).to(device)

        images = train_images if isinstance(train_images, torch.Tensor) else torch.from_numpy(np.array(train_images))
        genus_y = _label_tensor(train_records["genus"], {g: i for i, g in enumerate(cfg.genera)})
        species_y = _label_tensor(train_records["species"], {s: i for i, s in enumerate(cfg.species)})
        species_weight = None
        if cfg.balanced_species:
            counts = torch.bincount(species_y, minlength=len(cfg.species)).double()
            species_weight = (counts.sum() / (len(cfg.species) * counts.clamp(min=1))).float().to(device)
        profiles = torch.from_numpy(kmer_profile(train_records["barcode"].tolist(), cfg.kmer_k))
        params = list(classifier.parameters()) + list(scorer.parameters())
        optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=1e-4)
        steps = cfg.epochs * math.ceil(len(images) / cfg.batch_size)
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=cfg.lr, total_steps=max(steps, 1))
        generator = torch.Generator().manual_seed(seed)
        classifier.train()
        scorer.train()
        bar = tqdm(total=steps, desc="evaluators", disable=not progress)
        for _ in range(cfg.epochs):
            order = torch.randperm(len(images), generator=generator)
            for start in range(0, len(images), cfg.batch_size):
                idx = order[start:start + cfg.batch_size]
                if len(idx) < 2:
                    continue
                x = _augment(_prepare(images[idx], cfg.image_size), generator).to(device)
                genus_logits, species_logits = classifier(x)
                loss_cls = F.cross_entropy(genus_logits, genus_y[idx].to(device)) + F.cross_entropy(
                    species_logits, species_y[idx].to(device), weight=species_weight)
                # InfoNCE; specimens of one species share near-identical barcodes and looks, so
                # same-species pairs are masked out of the negatives.
                img = scorer.embed_images(x)
                dna = scorer.embed_dna(profiles[idx].to(device))
                logits = scorer.log_scale.exp().clamp(max=100.0) * img @ dna.T
                same = species_y[idx][:, None] == species_y[idx][None, :]
                logits = logits.masked_fill(same.to(device) & ~torch.eye(len(idx), dtype=torch.bool, device=device),
                                            float("-inf"))
                target = torch.arange(len(idx), device=device)
                loss_clip = 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))
                optimizer.zero_grad(set_to_none=True)
                (loss_cls + loss_clip).backward()
                optimizer.step()
                schedule.step()
                bar.update(1)
        bar.close()
        evaluators = cls(cfg, classifier, scorer, device)
        evaluators.classifier.center.copy_(evaluators._batched(classifier.features, images).mean(dim=0))
        return evaluators

    # ---------------------------------------------------------------------------------------------
    def save(self, directory: Path) -> Path:
        """``config.json`` + ``classifier.safetensors`` + ``scorer.safetensors``, written atomically."""
        directory = Path(directory)
        with atomic.directory(directory) as tmp:
            (tmp / "config.json").write_text(json.dumps(asdict(self.config), indent=1))
            save_file({k: v.detach().cpu().contiguous() for k, v in self.classifier.state_dict().items()},
                      str(tmp / "classifier.safetensors"))
            save_file({k: v.detach().cpu().contiguous() for k, v in self.scorer.state_dict().items()},
                      str(tmp / "scorer.safetensors"))
        return directory

    @classmethod
    def load(cls, directory: Path, device: torch.device | str = "cpu") -> Evaluators:
        directory = Path(directory)
        cfg = EvaluatorConfig(**json.loads((directory / "config.json").read_text()))
        classifier = TaxonClassifier(len(cfg.genera), len(cfg.species), cfg.feature_dim, cfg.width)
        classifier.load_state_dict(load_file(str(directory / "classifier.safetensors")))
        scorer = ContrastiveScorer(4**cfg.kmer_k, cfg.feature_dim, cfg.width)
        scorer.load_state_dict(load_file(str(directory / "scorer.safetensors")))
        return cls(cfg, classifier.to(device), scorer.to(device), device)

    # ---------------------------------------------------------------------------------------------
    @torch.no_grad()
    def _batched(self, fn, images: torch.Tensor | np.ndarray, batch_size: int = 256) -> torch.Tensor:
        outs = [fn(_prepare(images[i:i + batch_size], self.config.image_size).to(self.device)).cpu()
                for i in range(0, len(images), batch_size)]
        return torch.cat(outs) if outs else torch.empty(0)

    def embed(self, images: torch.Tensor | np.ndarray) -> torch.Tensor:
        """Classifier penultimate-layer features ``[N, D]`` (the PES space)."""
        return self._batched(self.classifier.embed, images)

    def classify(self, images: torch.Tensor | np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Genus and species logits, columns in ``config.genera`` / ``config.species`` order."""
        both = self._batched(lambda x: torch.cat(self.classifier(x), dim=1), images)
        return both[:, :len(self.config.genera)], both[:, len(self.config.genera):]

    @torch.no_grad()
    def embed_dna(self, barcodes: Sequence[str]) -> torch.Tensor:
        profiles = torch.from_numpy(kmer_profile(list(barcodes), self.config.kmer_k)).to(self.device)
        return self.scorer.embed_dna(profiles).cpu()

    def embed_images_clibd(self, images: torch.Tensor | np.ndarray) -> torch.Tensor:
        return self._batched(self.scorer.embed_images, images)

    def score(self, barcodes: Sequence[str], images: torch.Tensor | np.ndarray) -> torch.Tensor:
        """Cosine similarity of each barcode with its image (pairs in order), ``[N]`` in [-1, 1]."""
        if len(barcodes) != len(images):
            raise ValueError(f"{len(barcodes)} barcodes but {len(images)} images")
        return (self.embed_dna(barcodes) * self.embed_images_clibd(images)).sum(dim=1)

    def score_matrix(self, barcodes: Sequence[str], images: torch.Tensor | np.ndarray) -> torch.Tensor:
        """``[n_images, n_barcodes]`` cosine similarities (for retrieval-style checks)."""
        return self.embed_images_clibd(images) @ self.embed_dna(barcodes).T

    def calibrate(self, records: pd.DataFrame, images: torch.Tensor | np.ndarray,
                  false_positive_rate: float = 0.05) -> float:
        """Set τ of the paper-style success rate on held-out (validation) renders: the
        (1 − ``false_positive_rate``) quantile of scores of images paired with barcodes of *other*
        species.  Returns τ (also stored in ``config``, so it is saved with the evaluators)."""
        if not 0 < false_positive_rate < 1:
            raise ValueError(f"false_positive_rate must be in (0, 1), got {false_positive_rate}")
        if "split" in records.columns and set(records["split"]) & {"test_seen", "test_unseen"}:
            raise ValueError("calibrate the threshold on validation records, not on a test split")
        scores = self.score_matrix(records["barcode"].tolist(), images)
        species = records["species"].to_numpy()
        other = torch.from_numpy(species[:, None] != species[None, :])
        if not other.any():
            raise ValueError("calibration needs records of at least two species")
        # numpy, not torch.quantile: torch's refuses more than 2**24 values, which a full-scale validation
        # split's other-species pairs (BIOSCAN-5M: ~15k specimens, ~2e8 pairs) far exceed
        tau = float(np.quantile(scores[other].double().numpy(), 1 - false_positive_rate))
        self.config.score_threshold, self.config.false_positive_rate = tau, float(false_positive_rate)
        return tau


def _centroid_similarity(emb: torch.Tensor, truth_emb: torch.Tensor, groups: pd.Series) -> torch.Tensor:
    """Cosine similarity of each sample ``[N, K, D]`` with its group's mean truth embedding."""
    codes, _ = pd.factorize(groups)
    codes_t = torch.as_tensor(codes)
    centroids = torch.zeros(int(codes.max()) + 1, truth_emb.shape[1]).index_add_(0, codes_t, truth_emb)
    centroids = F.normalize(centroids, dim=1)
    return (emb * centroids[codes_t][:, None, :]).sum(dim=-1)


def specimen_scores(
    evaluators: Evaluators,
    records: pd.DataFrame,
    samples: torch.Tensor,
    truth: torch.Tensor,
    ks: Sequence[int] = (1, 5),
) -> pd.DataFrame:
    """Per-specimen values: long table ``metric, level, k, specimen, value`` for samples
    ``[N, K, 3, H, W]`` in [0, 1] (value NaN where undefined, e.g. a taxon the classifier never saw).

    Metrics: ``clibd_score`` (level ``specimen``), ``success_score`` (level ``specimen``; needs a
    calibrated τ, else left out), ``success_taxon`` (levels ``genus``, ``species``), ``pes`` (levels
    ``specimen``, ``species``, ``genus``).  Each k in ``ks`` uses the first k samples (best of k);
    ks above K are skipped.
    """
    if samples.ndim != 5 or truth.ndim != 4:
        raise ValueError(f"expected samples [N, K, 3, H, W] and truth [N, 3, H, W], got "
                         f"{tuple(samples.shape)} and {tuple(truth.shape)}")
    n, k_max = samples.shape[:2]
    if len(records) != n or len(truth) != n:
        raise ValueError(f"{len(records)} records, {n} sample sets and {len(truth)} truth images")
    ks = sorted({int(k) for k in ks if 1 <= int(k) <= k_max})
    if not ks:
        raise ValueError(f"no k in the requested ks fits the {k_max} samples per specimen")
    records = records.reset_index(drop=True)
    flat = samples.reshape(n * k_max, *samples.shape[2:])

    dna = evaluators.embed_dna(records["barcode"].tolist())
    clibd = (evaluators.embed_images_clibd(flat).reshape(n, k_max, -1) * dna[:, None, :]).sum(dim=-1)
    genus_logits, species_logits = evaluators.classify(flat)
    genus_pred = genus_logits.argmax(dim=1).reshape(n, k_max)
    species_pred = species_logits.argmax(dim=1).reshape(n, k_max)
    emb = F.normalize(evaluators.embed(flat), dim=1).reshape(n, k_max, -1)
    truth_emb = F.normalize(evaluators.embed(truth), dim=1)

    pes = {
        "specimen": (emb * truth_emb[:, None, :]).sum(dim=-1),
        "species": _centroid_similarity(emb, truth_emb, records["species"]),
        "genus": _centroid_similarity(emb, truth_emb, records["genus"]),
    }
    true_genus = _label_tensor(records["genus"], evaluators.genus_index)
    true_species = _label_tensor(records["species"], evaluators.species_index)
    tau = evaluators.config.score_threshold

    frames = []

    def add(metric: str, level: str, k: int, values: torch.Tensor) -> None:
        frames.append(pd.DataFrame({"metric": metric, "level": level, "k": k, "specimen": np.arange(n),
                                    "value": values.double().numpy()}))

    for k in ks:
        best_score = clibd[:, :k].max(dim=1).values
        add("clibd_score", "specimen", k, best_score)
        if tau is not None:
            add("success_score", "specimen", k, (best_score >= tau).double())
        for level, pred, true in (("genus", genus_pred, true_genus), ("species", species_pred, true_species)):
            hit = (pred[:, :k] == true[:, None]).any(dim=1).double()
            add("success_taxon", level, k, torch.where(true >= 0, hit, torch.full_like(hit, float("nan"))))
        for level, sim in pes.items():
            add("pes", level, k, sim[:, :k].max(dim=1).values)
    return pd.concat(frames, ignore_index=True)


def bootstrap_interval(values: np.ndarray, n_boot: int = 1000, seed: int = 0,
                       level: float = 0.95) -> tuple[float, float]:
    """Percentile-bootstrap interval of the mean of ``values`` (NaNs dropped); NaNs if none left."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if len(v) == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, len(v), size=(n_boot, len(v)))].mean(axis=1)
    alpha = (1 - level) / 2
    return float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


def summarise(per_specimen: pd.DataFrame, n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Mean over specimens with a 95 % bootstrap interval: ``metric, level, k, value, n, ci_low, ci_high``."""
    rows = []
    for (metric, level, k), g in per_specimen.groupby(["metric", "level", "k"], sort=False):
        v = g["value"].to_numpy(dtype=float)
        known = v[~np.isnan(v)]
        low, high = bootstrap_interval(known, n_boot, seed)
        rows.append((metric, level, int(k), float(known.mean()) if len(known) else float("nan"), len(known), low, high))
    return pd.DataFrame(rows, columns=["metric", "level", "k", "value", "n", "ci_low", "ci_high"])


def evaluate_samples(
    evaluators: Evaluators,
    records: pd.DataFrame,
    samples: torch.Tensor,
    truth: torch.Tensor,
    ks: Sequence[int] = (1, 5),
    n_boot: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Long table ``metric, level, k, value, n, ci_low, ci_high`` (see :func:`specimen_scores`);
    ``n`` is the number of specimens averaged over."""
    return summarise(specimen_scores(evaluators, records, samples, truth, ks), n_boot, seed)


def background_deviation(images: torch.Tensor | np.ndarray, background: Sequence[int], border: int = 4) -> np.ndarray:
    """Per image: mean absolute difference (0–255 scale, averaged over channels) between the pixels
    of a ``border``-pixel frame and the ``background`` colour — 0 for a perfect plain background."""
    x = torch.as_tensor(images).float()
    if x.max() <= 1.5:
        x = x * 255.0
    frame = torch.ones(x.shape[-2:], dtype=torch.bool)
    frame[border:-border, border:-border] = False
    colour = torch.tensor([float(c) for c in background]).view(1, 3, 1)
    pixels = x.flatten(2)[:, :, frame.flatten()]
    return (pixels - colour).abs().mean(dim=(1, 2)).numpy()
