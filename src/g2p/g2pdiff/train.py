"""Training G2PDiffusion: one conditional latent diffusion model with Accelerate.

``train(records, config, output_dir)`` renders the training specimens with the phenotype simulator
(or reads their BIOSCAN-5M photos, ``data: bioscan5m``; or takes given images) and encodes them once
with the frozen TAESD autoencoder (the training set, its environment augmentation and the latent
cache: :mod:`g2p.g2pdiff.training_data`), standardises
the latents with their training statistics (:mod:`g2p.g2pdiff.latents`), and trains the DNA
conditioner, the UNet and the noise-aware alignment encoder together:

* the UNet sees the conditioning twice: cross-attention over the DNA(+environment) tokens, and a
  global vector (pooled DNA ⊕ environment) projected into its timestep embedding
  (``class_embed_type="projection"``);
* loss ``‖target − f_θ(x_t, t, C)‖²`` with target ε or v (``prediction_type``), optionally weighted by
  min-SNR-γ (``snr_gamma``);
* condition dropout on the barcode and on the environment separately
  (:func:`g2p.g2pdiff.conditioner.dropout_masks`), so classifier-free guidance of the same network
  gives the full model, the model without environment and the unconditional model;
* the alignment encoder's InfoNCE against the pooled DNA embedding (optionally shaping the
  conditioner too, ``alignment_trains_conditioner``);
* one EMA over every trained part (conditioner, UNet and alignment encoder), so the saved parts were
  averaged together.

Checkpoints are written atomically every ``checkpoint_every`` steps and training resumes from the
last one (removed once the pipeline is saved); every step's losses go to ``history.csv``. The batch, noise, timesteps and dropout of step
s depend only on (seed, s), so a resumed run draws exactly what an uninterrupted one would have.

Separately trained ablations (``train_variants``; ``no_env`` = a model without any environment
input) stay available for the paper preset; the quick preset trains only ``full`` and takes its
ablations from guidance of that network.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import torch
import torch.nn.functional as F
from accelerate import Accelerator
from diffusers import AutoencoderTiny, DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler, UNet2DConditionModel
from diffusers.optimization import get_cosine_schedule_with_warmup
from diffusers.training_utils import EMAModel
from tqdm.auto import tqdm

from g2p import atomic, locks
from g2p.artifacts import current_record, key_of
from g2p.data import sources
from g2p.device import seed_everything
from g2p.g2pdiff.alignment import NoisyLatentEncoder
from g2p.g2pdiff.conditioner import DNAConditioner, dropout_masks
from g2p.g2pdiff.config import LATENT_CHANNELS, VAE_SCALE, DiffusionTrainConfig
from g2p.g2pdiff.latents import LatentStandardizer
from g2p.g2pdiff.pipeline import G2PDiffusionPipeline, build_pipeline, load_pipeline, save_pipeline
from g2p.g2pdiff.training_data import augment_environment, training_latents, training_rows

__all__ = ["DiffusionTrainResult", "train", "train_variants"]


@dataclass
class DiffusionTrainResult:
    output_dir: Path
    pipeline_dir: Path | None  # None when stopped early (``stop_after``): resume to finish
    history: pd.DataFrame = field(repr=False)
    steps: int = 0
    train_seconds: float = 0.0


# -- building blocks -------------------------------------------------------------------------------
def make_conditioner(config: DiffusionTrainConfig) -> DNAConditioner:
    return DNAConditioner(
        k=config.k, max_bp=config.max_bp, d_model=config.d_model, n_layers=config.encoder_layers,
        n_heads=config.encoder_heads, ff_dim=2 * config.d_model, use_environment=config.use_environment,
        env_hidden=config.d_model, token_pool=config.token_pool,
    )


def make_unet(config: DiffusionTrainConfig) -> UNet2DConditionModel:
    """A small SD-style UNet from a config (see ``cross_attention`` and ``global_conditioning``)."""
    n = len(config.unet_channels)
    if config.cross_attention == "all":
        down = ("CrossAttnDownBlock2D",) * (n - 1) + ("DownBlock2D",)
        up = ("UpBlock2D",) + ("CrossAttnUpBlock2D",) * (n - 1)
        mid = "UNetMidBlock2DCrossAttn"
    else:
        down, up = ("DownBlock2D",) * n, ("UpBlock2D",) * n
        mid = "UNetMidBlock2DCrossAttn" if config.cross_attention == "low" else "UNetMidBlock2D"
    global_dim = config.d_model * (2 if config.use_environment else 1)
    groups = min(32, *config.unet_channels)
    return UNet2DConditionModel(
        sample_size=config.image_size // VAE_SCALE, in_channels=LATENT_CHANNELS, out_channels=LATENT_CHANNELS,
        down_block_types=down, up_block_types=up, mid_block_type=mid,
        block_out_channels=tuple(config.unet_channels), layers_per_block=config.layers_per_block,
        cross_attention_dim=config.d_model, attention_head_dim=config.attention_head_dim,
        norm_num_groups=groups, resnet_time_scale_shift=config.resnet_time_scale_shift,
        class_embed_type="projection" if config.global_conditioning else None,
        projection_class_embeddings_input_dim=global_dim if config.global_conditioning else None,
    )


def make_alignment(config: DiffusionTrainConfig) -> NoisyLatentEncoder:
    return NoisyLatentEncoder(latent_channels=LATENT_CHANNELS, hidden=config.alignment_hidden,
                              embed_dim=config.d_model, temperature=config.temperature)


def _schedule(config: DiffusionTrainConfig) -> dict[str, Any]:
    betas = {"beta_start": 0.00085, "beta_end": 0.012} if config.beta_schedule == "scaled_linear" else {}
    return dict(num_train_timesteps=config.num_train_timesteps, beta_schedule=config.beta_schedule,
                rescale_betas_zero_snr=config.rescale_zero_snr, **betas)


def make_noise_scheduler(config: DiffusionTrainConfig) -> DDPMScheduler:
    """The forward process the model is trained on (the sampler in :func:`make_sampler` shares its βs)."""
    return DDPMScheduler(**_schedule(config), prediction_type=config.prediction_type, clip_sample=False)


def make_sampler(config: DiffusionTrainConfig) -> DPMSolverMultistepScheduler | DDIMScheduler:
    """DPM-Solver++ (2nd order multistep) or DDIM over the training schedule.  x₀ clipping is done by
    the pipeline (to the standardised training range), not by the scheduler."""
    if config.sampler == "ddim":
        return DDIMScheduler(**_schedule(config), prediction_type=config.prediction_type, clip_sample=False,
                             set_alpha_to_one=False, steps_offset=1)
    return DPMSolverMultistepScheduler(**_schedule(config), prediction_type=config.prediction_type,
                                       algorithm_type="dpmsolver++", solver_order=2)


def load_vae() -> AutoencoderTiny:
    """The frozen TAESD autoencoder from the data mirror (no downloads)."""
    vae = AutoencoderTiny.from_pretrained(sources.resolve_dir("taesd"))
    vae.requires_grad_(False)
    return vae.eval()


def _mixed_precision(setting: str) -> str:
    if setting != "auto":
        return setting
    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "no"


def diffusion_target(scheduler: DDPMScheduler, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor,
                     prediction_type: str) -> torch.Tensor:
    """What the network regresses: ε, or v = √ᾱ ε − √(1−ᾱ) x₀."""
    if prediction_type == "epsilon":
        return noise
    return scheduler.get_velocity(x0, noise, t)


def snr_weights(scheduler: DDPMScheduler, t: torch.Tensor, gamma: float | None, prediction_type: str) -> torch.Tensor:
    """Per-sample loss weights of min-SNR-γ (Hang et al. 2023); ones when ``gamma`` is None."""
    if gamma is None:
        return torch.ones(len(t), device=t.device)
    alpha_bar = scheduler.alphas_cumprod.to(t.device)[t]
    snr = alpha_bar / (1 - alpha_bar)
    clipped = snr.clamp(max=gamma)
    return clipped / snr if prediction_type == "epsilon" else clipped / (snr + 1)


def unet_output(unet: UNet2DConditionModel, xt: torch.Tensor, t: torch.Tensor, cond) -> torch.Tensor:
    """The UNet on ``Conditioning``: tokens to cross-attention, the vector to the global path."""
    class_labels = cond.vector if unet.config.class_embed_type == "projection" else None
    return unet(xt, t, encoder_hidden_states=cond.tokens, encoder_attention_mask=cond.mask,
                class_labels=class_labels).sample


# -- the loop --------------------------------------------------------------------------------------
def train(
    records: pd.DataFrame,
    config: DiffusionTrainConfig,
    output_dir: Path,
    resume: bool = True,
    *,
    images: torch.Tensor | None = None,
    cache_dir: Path | None = None,
    progress: bool = True,
    stop_after: int | None = None,
) -> DiffusionTrainResult:
    """Train one model on the ``split == "train"`` rows of ``records``; returns history and pipeline dir.

    ``images`` (``[N,3,H,W]`` in [0, 1], rows = training records) replaces the simulator renders
    (then ``env_augment`` and ``env_resample`` must be 0: only the simulator can re-render a specimen
    elsewhere).
    A finished run with the same config and data is reused when ``resume`` is true.
    ``stop_after`` checkpoints and returns after that many steps, as an interruption would
    (``pipeline_dir`` is then None); calling again with ``resume=True`` finishes the run.
    One run per output folder at a time: a second one waits for the first (:mod:`g2p.locks`).
    """
    with locks.hold(Path(output_dir), what="diffusion training run"):
        return _train(records, config, Path(output_dir), resume, images=images, cache_dir=cache_dir,
                      progress=progress, stop_after=stop_after)


def _train(records: pd.DataFrame, config: DiffusionTrainConfig, output_dir: Path, resume: bool, *,
           images: torch.Tensor | None, cache_dir: Path | None, progress: bool,
           stop_after: int | None) -> DiffusionTrainResult:
    records = training_rows(records)
    if images is not None and (config.env_augment or config.env_resample):
        raise ValueError("env_augment needs simulator renders; it cannot augment given images")
    pipeline_dir, ckpt_dir = output_dir / "pipeline", output_dir / "checkpoint"
    done_file, history_file = output_dir / "done.json", output_dir / "history.csv"
    fingerprint = {"config": config.fingerprint(), "data": key_of("|".join(records["processid"].astype(str)))}
    done = current_record(done_file, fingerprint, field="fingerprint") if resume and pipeline_dir.exists() else None
    if done is not None:
        return DiffusionTrainResult(output_dir, pipeline_dir, pd.read_csv(history_file), done["steps"],
                                    done["train_seconds"])

    seed_everything(config.seed)
    if config.cpu_threads:
        torch.set_num_threads(config.cpu_threads)
    accelerator = Accelerator(mixed_precision=_mixed_precision(config.mixed_precision))
    device = accelerator.device
    vae = load_vae().to(device)
    cache = cache_dir or output_dir
    if config.data == "simulator" or images is not None:
        tables = augment_environment(records, config.env_augment, config.env_augment_max_lat, config.seed,
                                     config.env_resample)
    else:  # real photos: each specimen as photographed (no render can move it to another latitude)
        tables = [records]
    latents = torch.cat([training_latents(tables[0], config, cache, vae, images)]
                        + [training_latents(t, config, cache, vae) for t in tables[1:]])
    table = pd.concat(tables, ignore_index=True)
    norm = LatentStandardizer.fit(latents) if config.standardize_latents else LatentStandardizer.fit_identity(latents)
    latents = norm.standardize(latents).to(device)
    tokenizer_out = make_conditioner(config).tokenizer(table["barcode"].tolist())
    token_ids = tokenizer_out["input_ids"].to(device)
    token_mask = tokenizer_out["attention_mask"].to(device)
    lat = torch.tensor(table["lat"].to_numpy(dtype="float32"), device=device)
    lon = torch.tensor(table["lon"].to_numpy(dtype="float32"), device=device)

    torch.manual_seed(config.seed)
    conditioner, unet = make_conditioner(config), make_unet(config)
    alignment = make_alignment(config) if config.alignment else None
    modules = [m for m in (conditioner, unet, alignment) if m is not None]
    params = [p for m in modules for p in m.parameters() if p.requires_grad]
    # fused AdamW: one kernel over all ~190 tensors (18 → 4 ms per step on one CPU core)
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=1e-2, fused=True)
    lr_schedule = get_cosine_schedule_with_warmup(optimizer, config.warmup_steps, config.steps)
    prepared = accelerator.prepare(*modules, optimizer, lr_schedule)
    conditioner, unet = prepared[0], prepared[1]
    alignment = prepared[2] if config.alignment else None
    optimizer, lr_schedule = prepared[-2], prepared[-1]
    trained = [m for m in (conditioner, unet, alignment) if m is not None]
    ema = None
    if config.ema:  # one average over every trained part, so the saved parts match each other
        ema = EMAModel([p for m in trained for p in m.parameters()], decay=config.ema_decay, foreach=True)
        ema.to(device)
        accelerator.register_for_checkpointing(ema)
    noise_scheduler = make_noise_scheduler(config)

    start, rows, elapsed = 0, [], 0.0
    state = current_record(ckpt_dir / "state.json", fingerprint, field="fingerprint") if resume else None
    if state is not None:
        accelerator.load_state(str(ckpt_dir))
        start, elapsed = int(state["step"]), float(state["train_seconds"])
        rows = pd.read_csv(ckpt_dir / "history.csv").to_dict("records")

    def checkpoint(step: int) -> None:
        with atomic.directory(ckpt_dir) as tmp:
            accelerator.save_state(str(tmp))
            pd.DataFrame(rows).to_csv(tmp / "history.csv", index=False)
            (tmp / "state.json").write_text(json.dumps(
                {"step": step, "train_seconds": elapsed, "fingerprint": fingerprint}))
        atomic.write_text(history_file, pd.DataFrame(rows).to_csv(index=False))

    n = len(table)
    for module in trained:
        module.train()
    bar = tqdm(range(start, config.steps), initial=start, total=config.steps, desc="train",
               disable=not progress, mininterval=2.0)
    tic = time.perf_counter()
    for step in bar:
        gen = torch.Generator().manual_seed(config.seed * 1_000_003 + step)
        idx = torch.randint(0, n, (min(config.batch_size, n),), generator=gen).to(device)
        x0 = latents[idx]
        noise = torch.randn(x0.shape, generator=gen).to(device)
        t = torch.randint(0, config.num_train_timesteps, (len(idx),), generator=gen).to(device)
        drop_dna, drop_env = dropout_masks(len(idx), config.p_uncond, config.p_drop_env, config.p_drop_dna, gen)
        xt = noise_scheduler.add_noise(x0, noise, t)
        with accelerator.autocast():
            cond = conditioner(token_ids[idx], token_mask[idx], lat[idx], lon[idx],
                               drop_dna=drop_dna.to(device), drop_env=drop_env.to(device))
            out = unet_output(unet, xt, t, cond)
            target = diffusion_target(noise_scheduler, x0, noise, t, config.prediction_type)
            per_sample = F.mse_loss(out.float(), target.float(), reduction="none").mean(dim=(1, 2, 3))
            weights = snr_weights(noise_scheduler, t, config.snr_gamma, config.prediction_type)
            diffusion_loss = (weights * per_sample).mean()
            if alignment is not None:
                # rows whose barcode was dropped carry the null token, not a DNA embedding
                keep = ~drop_dna.to(device)
                dna = cond.pooled if config.alignment_trains_conditioner else cond.pooled.detach()
                align_loss = accelerator.unwrap_model(alignment).loss(xt[keep], t[keep], dna[keep], detach=False,
                                                                         negative_cos=config.alignment_negative_cos) \
                    if int(keep.sum()) >= 2 else torch.zeros((), device=device)
            else:
                align_loss = torch.zeros((), device=device)
            loss = diffusion_loss + align_loss
        accelerator.backward(loss)
        accelerator.clip_grad_norm_(params, 1.0)
        optimizer.step()
        lr_schedule.step()
        optimizer.zero_grad(set_to_none=True)
        if ema is not None:
            ema.step([p for m in trained for p in m.parameters()])
        rows.append({"step": step + 1, "loss": per_sample.mean().item(), "weighted_loss": diffusion_loss.item(),
                     "align_loss": align_loss.item(), "lr": lr_schedule.get_last_lr()[0]})
        if (step + 1) % 10 == 0:
            bar.set_postfix(loss=f"{rows[-1]['loss']:.3f}", align=f"{rows[-1]['align_loss']:.3f}")
        if (step + 1) % config.checkpoint_every == 0 and step + 1 < config.steps:
            elapsed += time.perf_counter() - tic
            tic = time.perf_counter()
            checkpoint(step + 1)
        if stop_after is not None and step + 1 >= stop_after and step + 1 < config.steps:
            elapsed += time.perf_counter() - tic
            checkpoint(step + 1)
            return DiffusionTrainResult(output_dir, None, pd.DataFrame(rows), step + 1, elapsed)
    elapsed += time.perf_counter() - tic
    checkpoint(config.steps)

    trained = [accelerator.unwrap_model(m) for m in trained]
    if ema is not None:
        ema.copy_to([p for m in trained for p in m.parameters()])
    for module in trained:
        module.eval()
    conditioner, unet = trained[0], trained[1]
    alignment = trained[2] if config.alignment else None
    pipe = build_pipeline(conditioner, unet, vae, alignment, scheduler=make_sampler(config), latent_norm=norm.cpu())
    save_pipeline(pipe, pipeline_dir)
    atomic.write_text(output_dir / "config.json", json.dumps(config.to_dict(), indent=2))
    atomic.write_text(done_file, json.dumps(
        {"fingerprint": fingerprint, "steps": config.steps, "train_seconds": elapsed, "n_train": len(records),
         "n_train_renders": n}, indent=2))
    # done.json and the pipeline answer a rerun now; the resume state (weights, EMA, AdamW moments: ~4x
    # the model, 2.2 GB for the paper's UNet) would only fill the disk
    shutil.rmtree(ckpt_dir, ignore_errors=True)
    return DiffusionTrainResult(output_dir, pipeline_dir, pd.DataFrame(rows), config.steps, elapsed)


VARIANTS = ("full", "no_env")  # what can be trained separately; "full" is always needed


def variant_config(config: DiffusionTrainConfig, variant: str) -> DiffusionTrainConfig:
    if variant == "full":
        return config
    if variant == "no_env":  # no environment input at all (and nothing to drop)
        return dataclasses.replace(config, use_environment=False, p_drop_env=0.0)
    raise ValueError(f"unknown variant {variant!r}; trained variants are {VARIANTS}")


def train_variants(
    records: pd.DataFrame, config: DiffusionTrainConfig, output_dir: Path, resume: bool = True,
    variants: tuple[str, ...] = ("full",), progress: bool = True,
) -> dict[str, DiffusionTrainResult]:
    """Train the requested model variants into ``output_dir/<variant>/`` (latents shared).

    The quick preset trains only ``full``: its ablations come from guidance of that one network.
    The paper preset may add ``no_env``, a model trained without environment input.
    """
    variants = tuple(variants)
    if "full" not in variants:
        raise ValueError(f"variants must include 'full', got {list(variants)}")
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        raise ValueError(f"unknown variant(s) {unknown}; trained variants are {list(VARIANTS)}")
    output_dir = Path(output_dir)
    return {
        v: train(records, variant_config(config, v), output_dir / v, resume,
                 cache_dir=output_dir / "cache", progress=progress)
        for v in variants
    }


def trained_variants(output_dir: Path) -> list[str]:
    """The variants with a finished pipeline under ``output_dir`` (``full`` first)."""
    return [v for v in VARIANTS if (Path(output_dir) / v / "done.json").exists()
            and (Path(output_dir) / v / "pipeline").exists()]


def history_frame(results: dict[str, DiffusionTrainResult]) -> pd.DataFrame:
    """Long table of every variant's per-step losses (``variant`` column) for plotting."""
    return pd.concat([r.history.assign(variant=v) for v, r in results.items()], ignore_index=True)


def load_trained(output_dir: Path, variant: str = "full", device: torch.device | str | None = None) -> G2PDiffusionPipeline:
    return load_pipeline(Path(output_dir) / variant / "pipeline", device)


def load_done(output_dir: Path) -> dict[str, Any]:
    """What a finished ``train`` run recorded in ``output_dir/done.json`` (steps, seconds, counts)."""
    return json.loads((Path(output_dir) / "done.json").read_text())


def load_config(output_dir: Path) -> DiffusionTrainConfig:
    """The configuration a finished ``train`` run saved in ``output_dir/config.json``."""
    return DiffusionTrainConfig.from_dict(json.loads((Path(output_dir) / "config.json").read_text()))
