"""Train GenePheno: Accelerate loop, early stopping on validation Fmax, a checkpoint every epoch, resume.

``train(dataset, config, output_dir)`` writes into ``output_dir``:

* ``checkpoint/`` — the last finished epoch: weights, optimizer, scheduler, RNG states, epoch, history,
  best score (replaced atomically each epoch; resuming picks up from it; removed when training finishes);
* ``best/`` — the best epoch by validation Fmax, as a self-contained model folder
  (``save_pretrained`` + term list, concept list, GO vocabulary, input spec, train config);
* ``history.csv`` and ``result.json`` (written when training finishes; a later call with the same
  config and dataset returns this result immediately).

The same code runs on one CPU, one GPU (mixed precision) or several processes (``accelerate launch``):
each process takes an interleaved share of every global batch, gradients are averaged by DDP, and every
process evaluates the whole validation split so the early-stopping decision is identical everywhere.
Many runs at once (datasets × seeds, in worker processes) are :mod:`g2p.genepheno.runs`.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import random
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from accelerate import Accelerator
from tqdm.auto import tqdm
from transformers import get_cosine_schedule_with_warmup
from transformers.utils import logging as hf_logging

from g2p import artifacts, atomic, checksums, hf_models, locks, paths
from g2p import config as g2p_config
from g2p.argtypes import non_negative_int, positive_int
from g2p.data import curated
from g2p.device import seed_everything
from g2p.errors import G2PError, UsageError
from g2p.genepheno import losses, pretrain
from g2p.genepheno import sequences as sequence_source
from g2p.genepheno.encoders import SequenceProjection
from g2p.genepheno.config import ENCODERS, TrainConfig
from g2p.genepheno.go_terms import GoVocabulary
from g2p.genepheno.inputs import EncodedGenes, InputSpec, encode_genes, n_seq_features
from g2p.genepheno.model import (
    CONCEPTS_FILE,
    GO_VOCAB_FILE,
    INPUTS_FILE,
    PROJECTION_FILE,
    TERMS_FILE,
    TRAIN_CONFIG_FILE,
    GenePhenoConfig,
    GenePhenoModel,
    score_genes,
)
from g2p.genepheno.metrics import fmax
from g2p.presets import PRESETS

CHECKPOINT, BEST, RESULT, HISTORY = "checkpoint", "best", "result.json", "history.csv"


@dataclass
class TrainResult:
    history: pd.DataFrame
    best_dir: Path
    best_val_fmax: float
    output_dir: Path
    finished: bool = True
    wall_time_s: float = 0.0
    extra: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- helpers
def dataset_fingerprint(dataset) -> str:
    """A short hash of what the model sees: gene and term ids, the split and the label matrix."""
    h = hashlib.sha256()
    h.update(str(getattr(dataset, "name", "")).encode())
    for col in ("gene_id", "split"):
        h.update("\n".join(map(str, dataset.genes[col])).encode())
    h.update("\n".join(map(str, dataset.terms["term_id"])).encode())
    labels = dataset.labels.tocsr()
    h.update(labels.indptr.tobytes())
    h.update(labels.indices.tobytes())
    return h.hexdigest()[:16]


def run_key(dataset, config: TrainConfig) -> str:
    """The run's identity: its settings and its data (with a sequence FASTA, its contents too).
    ``result.json`` and the checkpoint carry it."""
    key = {"config": config.identity(), "data": dataset_fingerprint(dataset)}
    if config.sequences_fasta is not None:
        key["sequences"] = sequence_source.fasta_digest(config.sequences_fasta)
    return artifacts.key_of(key)


@dataclass
class PreparedInputs:
    """Every gene encoded once, plus the fitted input state that goes into the model folder."""

    encoded: EncodedGenes
    vocab: GoVocabulary | None
    projection: SequenceProjection | None


def prepare_inputs(dataset, config: TrainConfig) -> PreparedInputs:
    """Encode every gene once; the GO vocabulary and the sequence projection come from the training
    split only. Both streams are encoded and kept in memory by (data, input settings), so the seeds
    and ablations of a benchmark share one encoding; an ablation just leaves a stream out."""
    full = _prepare_both_streams(dataset, config)
    encoded = dataclasses.replace(full.encoded)
    if not config.use_sequence:
        encoded.seq = encoded.seq_mask = None
    if not config.use_go:
        encoded.go_ids = encoded.go_bag = None
    if not config.go_bag:
        encoded.go_bag = None
    return PreparedInputs(encoded, full.vocab if config.use_go else None,
                          full.projection if config.use_sequence else None)


_PREPARED: dict[str, PreparedInputs] = {}
INPUT_FIELDS = ("encoder", "hf_model", "kmer_ks", "alphabet", "max_residues", "hf_max_length", "go_min_count",
                "max_go_tokens", "seq_dim", "seq_segments")  # and sequences_fasta, through _inputs_fingerprint
# Part of the on-disk key of prepared inputs: bump it when the encoding code changes what it returns.
INPUTS_VERSION = 1


def _prepare_both_streams(dataset, config: TrainConfig) -> PreparedInputs:
    """The encoding of (data, input settings): from memory, else from ``data/cache`` (every training
    process of a benchmark needs it, and building it — k-mer composition and PCA — takes ~10 s for
    MPO), else built and cached there."""
    identity = config.identity()
    key = json.dumps({"data": dataset_fingerprint(dataset), "inputs": _inputs_fingerprint(dataset, config),
                      **{f: identity[f] for f in INPUT_FIELDS}, "version": INPUTS_VERSION},
                     sort_keys=True, default=list)
    if key not in _PREPARED:
        cache_file = artifacts.keyed_file(paths.cache, "genepheno_inputs", artifacts.key_of(key), ".pickle")
        prepared = artifacts.load_or_build(cache_file, PreparedInputs, lambda: _build_inputs(dataset, config))
        _PREPARED.clear()  # one dataset's encoding at a time: they are large
        _PREPARED[key] = prepared
    return _PREPARED[key]


def _inputs_fingerprint(dataset, config: TrainConfig) -> str:
    """A hash of what gets encoded (sequences and GO inputs), which ``dataset_fingerprint`` leaves out."""
    h = hashlib.sha256()
    h.update("\n".join(InputSpec.from_config(config).dataset_sequences(dataset)).encode())
    h.update("\n".join(" ".join(sorted(terms)) for terms in dataset.go_inputs).encode())
    return h.hexdigest()[:16]


def _build_inputs(dataset, config: TrainConfig) -> PreparedInputs:
    spec = InputSpec.from_config(config)
    train_rows = dataset.split_index("train")
    sequences = spec.dataset_sequences(dataset)
    vocab = GoVocabulary.build((dataset.go_inputs[i] for i in train_rows), config.go_min_count)
    # A fixed seed: the projection is part of the input pipeline, shared by every training seed.
    projection = (spec.fit_projection([sequences[i] for i in train_rows], seed=0)
                  if spec.seq_input == "features" else None)
    encoded = encode_genes(sequences, dataset.go_inputs, spec, vocab,
                           names=list(dataset.genes["gene_id"].astype(str)), projection=projection)
    return PreparedInputs(encoded, vocab, projection)


def build_model(dataset, config: TrainConfig, prepared: PreparedInputs) -> GenePhenoModel:
    spec = InputSpec.from_config(config)
    model_config = GenePhenoConfig(
        n_terms=len(dataset.terms), n_concepts=max(len(dataset.concepts), 1), free_units=config.free_units,
        concept_activation=config.concept_activation, concept_bottleneck=config.concept_bottleneck,
        seq_input=spec.seq_input, n_seq_features=n_seq_features(spec, prepared.encoded),
        seq_tokens=spec.n_seq_tokens, conv_layers=config.conv_layers,
        go_vocab_size=len(prepared.vocab) if prepared.vocab else 3, max_go_tokens=config.max_go_tokens,
        go_bag=config.go_bag, fusion_norm=config.fusion_norm, d_model=config.d_model, n_heads=config.n_heads,
        go_layers=config.go_layers, mlp_hidden=config.mlp_hidden, mlp_layers=config.mlp_layers, dropout=config.dropout,
        use_sequence=config.use_sequence, use_go=config.use_go, loss=config.loss,
        loss_reduction=config.loss_reduction, lambda_ex=config.lambda_ex, lambda_go=config.lambda_go,
        tau=config.tau,
    )
    return GenePhenoModel(model_config)


def save_model_folder(folder: Path, model: GenePhenoModel, dataset, config: TrainConfig,
                      prepared: PreparedInputs) -> None:
    """A self-contained model folder (weights + everything ``predict`` needs). ``folder`` must be a
    fresh temporary folder (callers wrap this in ``atomic.directory``)."""
    hf_logging.disable_progress_bar()  # a "Writing model shards" bar per epoch is noise in a chapter
    model.save_pretrained(folder)
    dataset.terms[["term_id", "name"]].to_csv(folder / TERMS_FILE, sep="\t", index=False)
    concept_cols = [c for c in ("go_id", "name", "namespace") if c in dataset.concepts.columns]
    dataset.concepts[concept_cols].to_csv(folder / CONCEPTS_FILE, sep="\t", index=False)
    if prepared.vocab is not None:
        prepared.vocab.save(folder / GO_VOCAB_FILE)
    if prepared.projection is not None:
        prepared.projection.save(folder / PROJECTION_FILE)
    InputSpec.from_config(config).save(folder / INPUTS_FILE)
    (folder / TRAIN_CONFIG_FILE).write_text(json.dumps(config.identity(), indent=1))


def _rng_state() -> dict:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _epoch_batches(train_rows: np.ndarray, epoch: int, config: TrainConfig, rank: int, world: int) -> list[np.ndarray]:
    """This process's batches for ``epoch``: a permutation fixed by (seed, epoch) — so a resumed run
    sees the same order — cut into global batches of ``batch_size × world``, each dealt out round-robin.
    The permutation is padded by wrapping so every process gets the same number of non-empty batches."""
    perm = np.random.default_rng([config.seed, epoch]).permutation(train_rows)
    if world > 1 and len(perm) % world:
        perm = np.concatenate([perm, perm[: world - len(perm) % world]])
    global_batch = config.batch_size * world
    return [perm[s : s + global_batch][rank::world] for s in range(0, len(perm), global_batch)]


def _mixed_precision() -> str:
    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "no"


def _dense_rows(matrix, rows: np.ndarray, device) -> torch.Tensor:
    return torch.from_numpy(matrix[rows].toarray().astype(np.float32)).to(device)


# --------------------------------------------------------------------------- training
def train(dataset, config: TrainConfig, output_dir: Path, resume: bool = True) -> TrainResult:
    """Train (or resume, or just return) GenePheno on ``dataset``; see the module docstring.

    One run per output folder at a time: a second one waits for the first (:mod:`g2p.locks`), then
    finds its result."""
    with locks.hold(Path(output_dir), what="training run"):
        return _train(dataset, config, Path(output_dir), resume)


def _train(dataset, config: TrainConfig, output_dir: Path, resume: bool) -> TrainResult:
    key = run_key(dataset, config)
    result_file = output_dir / RESULT
    done = artifacts.current_record(result_file, key, field="run_key") if resume else None
    if done is not None:
        return _result_from_disk(output_dir, done)

    accelerator = Accelerator(cpu=not torch.cuda.is_available() and not _mps_available(),
                              mixed_precision=_mixed_precision())
    device, rank, world = accelerator.device, accelerator.process_index, accelerator.num_processes
    if device.type == "cpu":
        if config.cpu_threads:
            torch.set_num_threads(config.cpu_threads)
        # Denormal floats (exp of very negative logits) are ~20x slower on x86; zero them instead.
        torch.set_flush_denormal(True)
    seed_everything(config.seed)
    started = time.perf_counter()

    notes = training_notes(dataset, config)
    for note in notes:  # the run's log; result.json keeps them for the chapter's summary table
        print(f"note: {note}", flush=True)
    prepared = prepare_inputs(dataset, config)
    encoded = prepared.encoded
    labels, concepts = dataset.labels.tocsr(), dataset.concept_labels.tocsr()
    pairs = torch.as_tensor(np.asarray(dataset.exclusive_index(), dtype=np.int64).reshape(-1, 2), device=device)
    train_rows, val_rows = dataset.split_index("train"), dataset.split_index("val")
    if len(train_rows) == 0 or len(val_rows) == 0:
        raise ValueError(f"dataset {getattr(dataset, 'name', '')!r} needs genes in both train and val splits")
    y_val = labels[val_rows]

    model = build_model(dataset, config, prepared)
    model.set_prior_biases(np.asarray(labels[train_rows].mean(0)).ravel(),
                           np.asarray(concepts[train_rows].mean(0)).ravel() if concepts.shape[1] else None,
                           concept_floor=config.concept_floor)
    pretraining, pretrained_names = None, []
    if config.go_pretraining is not None and config.use_go:
        # cached and shared by every seed and ablation of the dataset; its own seed, so the global
        # random state (and with it the fine-tuning) is the same whether it was cached or not
        pretraining = pretrain.for_training(dataset, config, prepared.vocab, device)
        if pretraining is None:
            notes.append("GO pretraining skipped: no protein of the release's GO corpus has two terms in this "
                         "dataset's GO vocabulary")
            print(f"note: {notes[-1]}", flush=True)
        else:
            pretrained_names = pretrain.load_into(model, pretraining)
    # fused: one kernel per step for all parameters (several times faster than the per-tensor loop on CPU)
    optimizer = torch.optim.AdamW(_parameter_groups(model, pretrained_names, config), lr=config.lr,
                                  weight_decay=config.weight_decay, fused=True)
    steps_per_epoch = len(_epoch_batches(train_rows, 0, config, rank, world))
    total_steps = steps_per_epoch * config.epochs
    scheduler = get_cosine_schedule_with_warmup(optimizer, int(config.warmup_frac * total_steps), total_steps)

    state = {"epoch": 0, "history": [], "best_val_fmax": -1.0, "best_epoch": 0, "bad_epochs": 0,
             "run_key": key, "train_time_s": 0.0}
    ckpt = output_dir / CHECKPOINT
    if resume and (ckpt / "state.json").exists():
        checksums.verify_folder(ckpt, what="training checkpoint",
                                hint="delete the checkpoint folder or pass --no-resume to start over")
        saved = json.loads((ckpt / "state.json").read_text())
        if saved.get("run_key") == key:
            state = saved
            model.load_state_dict(_load_weights(ckpt))
            optimizer.load_state_dict(torch.load(ckpt / "optimizer.pt", weights_only=False))
            scheduler.load_state_dict(torch.load(ckpt / "scheduler.pt", weights_only=False))
            _set_rng_state(torch.load(ckpt / "rng.pt", weights_only=False))
    elif not resume:
        shutil.rmtree(ckpt, ignore_errors=True)
        result_file.unlink(missing_ok=True)

    model, optimizer = accelerator.prepare(model, optimizer)
    unwrapped = accelerator.unwrap_model(model)
    epochs_run = 0
    stopped = state["bad_epochs"] >= config.patience
    while state["epoch"] < config.epochs and not stopped:
        if config.max_epochs_this_call is not None and epochs_run >= config.max_epochs_this_call:
            break
        epoch = state["epoch"] + 1
        model.train()
        batches = _epoch_batches(train_rows, epoch, config, rank, world)
        sums = {"total": 0.0, "mlc": 0.0, "ex": 0.0, "go": 0.0}
        tick = time.perf_counter()
        bar = tqdm(batches, desc=f"epoch {epoch}/{config.epochs}", leave=False,
                   disable=not (config.progress and accelerator.is_local_main_process))
        for rows in bar:
            inputs = encoded.batch(rows, device)
            with accelerator.autocast():
                out = model(**inputs)
            parts = losses.genepheno_loss(
                out.logits, _dense_rows(labels, rows, device), out.concept_logits,
                _dense_rows(concepts, rows, device), pairs, loss=config.loss,
                reduction=config.loss_reduction, tau=config.tau,
                lambda_ex=config.lambda_ex, lambda_go=config.lambda_go,
            )
            optimizer.zero_grad(set_to_none=True)
            accelerator.backward(parts.total)
            accelerator.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            for k, v in parts.detached().items():
                sums[k] += v
            bar.set_postfix(loss=f"{sums['total'] / (bar.n + 1):.3f}")
        train_seconds = time.perf_counter() - tick
        val_scores = score_genes(unwrapped, encoded, val_rows, config.eval_batch_size, device)
        val_fmax, val_threshold = fmax(y_val, val_scores)
        n = max(len(batches), 1)
        row = {"epoch": epoch, **{f"train_{k}": v / n for k, v in sums.items()},
               "val_fmax": float(val_fmax), "val_threshold": float(val_threshold),
               "lr": float(scheduler.get_last_lr()[0]), "epoch_seconds": train_seconds,
               "train_genes_per_s": len(train_rows) / max(train_seconds, 1e-9)}
        state["history"].append(row)
        state["epoch"] = epoch
        state["train_time_s"] += train_seconds
        improved = val_fmax > state["best_val_fmax"]
        if improved:
            state.update(best_val_fmax=float(val_fmax), best_epoch=epoch, bad_epochs=0)
        else:
            state["bad_epochs"] += 1
        stopped = state["bad_epochs"] >= config.patience
        if accelerator.is_main_process:
            if improved:
                with atomic.directory(output_dir / BEST) as tmp:
                    save_model_folder(tmp, unwrapped, dataset, config, prepared)
            with atomic.directory(ckpt) as tmp:
                torch.save(unwrapped.state_dict(), tmp / "model.pt")
                torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
                torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
                torch.save(_rng_state(), tmp / "rng.pt")
                (tmp / "state.json").write_text(json.dumps(state, indent=1))
        accelerator.wait_for_everyone()
        epochs_run += 1

    history = pd.DataFrame(state["history"])
    finished = state["epoch"] >= config.epochs or stopped
    wall = time.perf_counter() - started
    if finished and accelerator.is_main_process:
        atomic.write_text(output_dir / HISTORY, history.to_csv(index=False))
        atomic.write_text(result_file, json.dumps({
            "run_key": key, "best_val_fmax": state["best_val_fmax"], "best_epoch": state["best_epoch"],
            "epochs_run": state["epoch"], "early_stopped": bool(stopped and state["epoch"] < config.epochs),
            "train_time_s": state["train_time_s"], "wall_time_s": wall, "device": str(device),
            "num_processes": world, "n_train": int(len(train_rows)), "n_val": int(len(val_rows)),
            "notes": notes, "go_pretraining": pretraining.summary() if pretraining is not None else None,
        }, indent=1))
        # a finished run is answered by result.json and best/; its resume state (weights, optimizer
        # moments: ~4x the model) would only fill the disk (the paper preset trains ~120 runs)
        shutil.rmtree(ckpt, ignore_errors=True)
    accelerator.wait_for_everyone()
    return TrainResult(history=history, best_dir=output_dir / BEST, best_val_fmax=float(state["best_val_fmax"]),
                       output_dir=output_dir, finished=finished, wall_time_s=wall,
                       extra={"best_epoch": state["best_epoch"], "device": str(device), "num_processes": world,
                              "notes": notes})


def _parameter_groups(model: GenePhenoModel, pretrained: list[str], config: TrainConfig) -> list[dict]:
    """One optimizer group, or two when the pretrained GO weights fine-tune at a scaled learning rate
    (``go_pretraining.finetune_lr_scale``); the first group is the rest of the network (its rate is
    the one the history logs)."""
    scale = config.go_pretraining.finetune_lr_scale if config.go_pretraining is not None else 1.0
    if not pretrained or scale == 1.0:
        return [{"params": list(model.parameters())}]
    wanted = set(pretrained)
    named = list(model.named_parameters())
    return [{"params": [p for n, p in named if n not in wanted]},
            {"params": [p for n, p in named if n in wanted], "lr": config.lr * scale}]


def training_notes(dataset, config: TrainConfig) -> list[str]:
    """What a reader of the run should know about its data and settings (one sentence each)."""
    notes = []
    if len(dataset.exclusive_pairs) == 0 and config.lambda_ex > 0:
        notes.append(f"{getattr(dataset, 'name', 'the dataset')} has no exclusive pairs (see its datasheet): the "
                     f"exclusive-pair loss is 0, so lambda_ex={config.lambda_ex:g} has no effect")
    return notes


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def _load_weights(ckpt: Path) -> dict:
    return torch.load(ckpt / "model.pt", weights_only=True, map_location="cpu")


def _result_from_disk(output_dir: Path, done: dict) -> TrainResult:
    history = pd.read_csv(output_dir / HISTORY)
    return TrainResult(history=history, best_dir=output_dir / BEST, best_val_fmax=float(done["best_val_fmax"]),
                       output_dir=output_dir, finished=True, wall_time_s=float(done.get("wall_time_s", 0.0)),
                       extra={k: v for k, v in done.items() if k != "run_key"})


# --------------------------------------------------------------------------- CLI
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", required=True, help="curated dataset name (mpo or hpo)")
    parser.add_argument("--preset", default="quick", choices=PRESETS, help="smoke, quick or paper (default quick)")
    parser.add_argument("--experiment", default="complete", help="run name under runs/<preset>/genepheno/<dataset>/")
    parser.add_argument("--encoder", choices=ENCODERS, help="override the preset's encoder")
    parser.add_argument("--hf-model", help="Hugging Face model name or local folder (with --encoder hf)")
    parser.add_argument("--sequences", metavar="FASTA", help="one sequence per gene (keyed by gene id, accession or "
                        "symbol) instead of the dataset's proteins; DNA with --alphabet dna")
    parser.add_argument("--alphabet", choices=("protein", "dna"), help="the alphabet of the sequences (default: the preset's)")
    parser.add_argument("--trust-remote-code", action="store_true", default=None,
                        help="run the code the Hugging Face model ships (GENERator's tokenizer needs it)")
    parser.add_argument("--epochs", type=positive_int)
    parser.add_argument("--seed", type=non_negative_int)
    parser.add_argument("--no-resume", action="store_true", help="start from scratch even if a checkpoint exists")


def main(args: argparse.Namespace) -> int:
    sequences = str(Path(args.sequences).expanduser().resolve()) if args.sequences is not None else None
    overrides = {k: v for k, v in {"encoder": args.encoder, "hf_model": args.hf_model, "sequences_fasta": sequences,
                                   "alphabet": args.alphabet, "hf_trust_remote_code": args.trust_remote_code, "epochs": args.epochs, "seed": args.seed}.items()
                 if v is not None}
    if args.hf_model is not None and (args.encoder or "") != "hf" and \
            g2p_config.resolve(args.preset).genepheno().encoder != "hf":
        raise UsageError("g2p train: --hf-model would change nothing: the encoder is not 'hf'",
                         hint="add --encoder hf, or leave --hf-model out")
    paths.processed_dataset(args.dataset)  # a plain name (checked before the run folder is built from it)
    out = paths.run_dir(args.preset, f"genepheno/{args.dataset}/{args.experiment}")  # checked before any work
    config = g2p_config.resolve(args.preset).genepheno(**overrides)
    if config.encoder == "hf" and hf_models.looks_like_path(config.hf_model):
        hf_models.check_folder(config.hf_model)  # a hub id is looked up in the cache when it is needed
    dataset = curated.load(args.dataset)
    if config.sequences_fasta is not None:  # every gene has its record, before any work
        sequence_source.dataset_sequences(dataset, config.sequences_fasta, config.alphabet)
    with locks.hold(out, what="training run", wait=False):  # a second run of this experiment refuses
        result = train(dataset, config, out, resume=not args.no_resume)
    if result.history.empty:
        raise G2PError(f"training {paths.shown(out)} ran no epoch", path=out,
                       hint="check epochs and patience in the preset's genepheno block")
    print(result.history.to_string(index=False))
    print(f"best val Fmax {result.best_val_fmax:.4f} → {result.best_dir}")
    return 0
