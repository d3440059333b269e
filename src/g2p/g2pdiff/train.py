"""Training G2PDiffusion: ε-prediction latent diffusion + condition dropout + alignment, with Accelerate.

``train(records, config, output_dir)`` renders the training specimens with the phenotype simulator
(unless images are given), encodes them once with the frozen TAESD autoencoder (latents are cached),
and trains the DNA conditioner and the UNet on ‖ε − ε_θ(x_t, t, C)‖² with condition dropout (p_uncond →
the learned null context, for classifier-free guidance) and, jointly, the noise-aware alignment encoder
on InfoNCE against the detached DNA embedding. Checkpoints are written atomically every
``checkpoint_every`` steps and training resumes from the last one; every step's losses go to
``history.csv``. The batch, noise and timesteps of step s depend only on (seed, s), so a resumed run
draws exactly what an uninterrupted one would have.

Variants for the baselines (``train_variants``): ``full`` and ``no_env`` (no environment input) are
trained; "without alignment" reuses ``full`` with ``alignment_scale=0`` and "unconditional" samples
``full`` with the null context only (``guidance_scale=0``), which condition dropout trains.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import torch
import torch.nn.functional as F
from accelerate import Accelerator
from diffusers import AutoencoderTiny, DDPMScheduler, UNet2DConditionModel
from diffusers.optimization import get_cosine_schedule_with_warmup
from diffusers.training_utils import EMAModel
from tqdm.auto import tqdm

from g2p import atomic
from g2p.device import seed_everything
from g2p.g2pdiff.alignment import NoisyLatentEncoder
from g2p.g2pdiff.conditioner import DNAConditioner, drop_conditioning
from g2p.g2pdiff.pipeline import G2PDiffusionPipeline, build_pipeline, save_pipeline

LATENT_CHANNELS = 4
VAE_SCALE = 8  # TAESD downsamples by 8 (SD1 latent space)


@dataclass
class DiffusionTrainConfig:
    image_size: int = 64
    # conditioner
    k: int = 3
    max_bp: int = 660
    token_pool: int = 4
    d_model: int = 64
    encoder_layers: int = 2
    encoder_heads: int = 4
    use_environment: bool = True
    # UNet
    unet_channels: tuple[int, ...] = (64, 128)
    layers_per_block: int = 1
    attention_head_dim: int = 8
    # guidance and alignment
    p_uncond: float = 0.1
    alignment: bool = True
    alignment_hidden: int = 64
    temperature: float = 0.07
    # optimisation
    steps: int = 1000
    batch_size: int = 32
    lr: float = 3e-4
    warmup_steps: int = 50
    ema: bool = True
    ema_decay: float = 0.995
    num_train_timesteps: int = 1000
    mixed_precision: str = "auto"  # "auto": bf16/fp16 on CUDA, none elsewhere
    checkpoint_every: int = 250
    # torch CPU threads (None = torch's default); 1 is much faster on an oversubscribed machine
    cpu_threads: int | None = None
    simulator_seed: int = 0
    seed: int = 0

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> DiffusionTrainConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"unknown DiffusionTrainConfig fields: {', '.join(unknown)}")
        values = dict(values)
        if "unet_channels" in values:
            values["unet_channels"] = tuple(values["unet_channels"])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["unet_channels"] = list(self.unet_channels)
        return d

    def fingerprint(self) -> str:
        """Hash of the fields that change the trained model (not threads or checkpoint cadence)."""
        d = {k: v for k, v in self.to_dict().items() if k not in ("cpu_threads", "checkpoint_every")}
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]

    def __post_init__(self) -> None:
        if self.image_size % VAE_SCALE or self.image_size < 16:
            raise ValueError(f"image_size must be a multiple of {VAE_SCALE} and ≥ 16, got {self.image_size}")
        if not 0.0 <= self.p_uncond <= 1.0:
            raise ValueError(f"p_uncond must be in [0, 1], got {self.p_uncond}")


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
    """A small SD-style UNet from a config: cross-attention in every block but the deepest down/up pair."""
    n = len(config.unet_channels)
    down = ("CrossAttnDownBlock2D",) * (n - 1) + ("DownBlock2D",)
    up = ("UpBlock2D",) + ("CrossAttnUpBlock2D",) * (n - 1)
    groups = min(32, *config.unet_channels)
    return UNet2DConditionModel(
        sample_size=config.image_size // VAE_SCALE, in_channels=LATENT_CHANNELS, out_channels=LATENT_CHANNELS,
        down_block_types=down, up_block_types=up, block_out_channels=tuple(config.unet_channels),
        layers_per_block=config.layers_per_block, cross_attention_dim=config.d_model,
        attention_head_dim=config.attention_head_dim, norm_num_groups=groups,
    )


def make_alignment(config: DiffusionTrainConfig) -> NoisyLatentEncoder:
    return NoisyLatentEncoder(latent_channels=LATENT_CHANNELS, hidden=config.alignment_hidden,
                              embed_dim=config.d_model, temperature=config.temperature)


def make_noise_scheduler(config: DiffusionTrainConfig) -> DDPMScheduler:
    # SD1's scaled-linear schedule; the DDIM sampler in build_pipeline uses the same βs.
    return DDPMScheduler(num_train_timesteps=config.num_train_timesteps, beta_schedule="scaled_linear",
                         beta_start=0.00085, beta_end=0.012, clip_sample=False)


def load_vae() -> AutoencoderTiny:
    """The frozen TAESD autoencoder from the data mirror (no downloads)."""
    from g2p.data import sources

    vae = AutoencoderTiny.from_pretrained(sources.resolve_dir("taesd"))
    vae.requires_grad_(False)
    return vae.eval()


@torch.no_grad()
def encode_images(vae: AutoencoderTiny, images: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
    """Images ``[N,3,H,W]`` in [0, 1] → scaled latents ``[N,4,H/8,W/8]``."""
    device = next(vae.parameters()).device
    out = [vae.encode(chunk.to(device) * 2 - 1).latents.cpu() for chunk in images.split(batch_size)]
    return torch.cat(out) * vae.config.scaling_factor


def training_latents(
    records: pd.DataFrame, config: DiffusionTrainConfig, cache_dir: Path, vae: AutoencoderTiny,
    images: torch.Tensor | None = None,
) -> torch.Tensor:
    """TAESD latents of the training specimens, rendered by the simulator and cached on disk."""
    key = hashlib.sha256(
        ("|".join(records["processid"].astype(str)) + f"|{config.image_size}|{config.simulator_seed}"
         + ("|given" if images is not None else "")).encode()
    ).hexdigest()[:16]
    target = Path(cache_dir) / f"latents_{key}.pt"
    if target.exists():
        return torch.load(target)
    if images is None:
        from g2p.g2pdiff.simulator import PhenotypeSimulator

        simulator = PhenotypeSimulator(seed=config.simulator_seed)
        images = torch.cat([simulator.render(records.iloc[i : i + 256], config.image_size)
                            for i in range(0, len(records), 256)])
    if images.shape[0] != len(records):
        raise ValueError(f"got {images.shape[0]} images for {len(records)} records")
    latents = encode_images(vae, images)
    with atomic.open_for_write(target) as tmp:
        torch.save(latents, tmp)
    return latents


def _mixed_precision(setting: str) -> str:
    if setting != "auto":
        return setting
    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "no"


def _train_rows(records: pd.DataFrame) -> pd.DataFrame:
    required = {"processid", "barcode", "lat", "lon"}
    missing = required - set(records.columns)
    if missing:
        raise ValueError(f"records lack columns: {', '.join(sorted(missing))}")
    if "split" in records.columns:
        records = records[records["split"] == "train"]
    if len(records) < 2:
        raise ValueError("need at least 2 training records (InfoNCE uses in-batch negatives)")
    return records.reset_index(drop=True)


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

    ``images`` (``[N,3,H,W]`` in [0, 1], rows = training records) replaces the simulator renders.
    A finished run with the same config and data is reused when ``resume`` is true.
    ``stop_after`` checkpoints and returns after that many steps, as an interruption would
    (``pipeline_dir`` is then None); calling again with ``resume=True`` finishes the run.
    """
    output_dir = Path(output_dir)
    records = _train_rows(records)
    pipeline_dir, ckpt_dir = output_dir / "pipeline", output_dir / "checkpoint"
    done_file, history_file = output_dir / "done.json", output_dir / "history.csv"
    data_key = hashlib.sha256("|".join(records["processid"].astype(str)).encode()).hexdigest()[:16]
    fingerprint = {"config": config.fingerprint(), "data": data_key}
    if resume and done_file.exists() and pipeline_dir.exists():
        done = json.loads(done_file.read_text())
        if done.get("fingerprint") == fingerprint:
            return DiffusionTrainResult(output_dir, pipeline_dir, pd.read_csv(history_file),
                                        done["steps"], done["train_seconds"])

    seed_everything(config.seed)
    if config.cpu_threads:
        torch.set_num_threads(config.cpu_threads)
    accelerator = Accelerator(mixed_precision=_mixed_precision(config.mixed_precision))
    device = accelerator.device
    vae = load_vae().to(device)
    latents = training_latents(records, config, cache_dir or output_dir, vae, images).to(device)
    tokenizer_out = make_conditioner(config).tokenizer(records["barcode"].tolist())
    token_ids = tokenizer_out["input_ids"].to(device)
    token_mask = tokenizer_out["attention_mask"].to(device)
    lat = torch.tensor(records["lat"].to_numpy(dtype="float32"), device=device)
    lon = torch.tensor(records["lon"].to_numpy(dtype="float32"), device=device)

    torch.manual_seed(config.seed)
    conditioner, unet = make_conditioner(config), make_unet(config)
    alignment = make_alignment(config) if config.alignment else None
    modules = [m for m in (conditioner, unet, alignment) if m is not None]
    params = [p for m in modules for p in m.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=1e-2)
    lr_schedule = get_cosine_schedule_with_warmup(optimizer, config.warmup_steps, config.steps)
    prepared = accelerator.prepare(*modules, optimizer, lr_schedule)
    conditioner, unet = prepared[0], prepared[1]
    alignment = prepared[2] if config.alignment else None
    optimizer, lr_schedule = prepared[-2], prepared[-1]
    ema = None
    if config.ema:
        ema = EMAModel([p for m in (conditioner, unet) for p in m.parameters()], decay=config.ema_decay)
        ema.to(device)
        accelerator.register_for_checkpointing(ema)
    noise_scheduler = make_noise_scheduler(config)

    start, rows, elapsed = 0, [], 0.0
    state_file = ckpt_dir / "state.json"
    if resume and state_file.exists():
        state = json.loads(state_file.read_text())
        if state.get("fingerprint") == fingerprint:
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

    n = len(records)
    for module in (conditioner, unet, alignment):
        if module is not None:
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
        drop = (torch.rand(len(idx), generator=gen) < config.p_uncond).to(device)
        xt = noise_scheduler.add_noise(x0, noise, t)
        with accelerator.autocast():
            cond = conditioner(token_ids[idx], token_mask[idx], lat[idx], lon[idx])
            base = accelerator.unwrap_model(conditioner)
            context = drop_conditioning(cond, base.null_conditioning(cond), drop)
            eps = unet(xt, t, encoder_hidden_states=context.tokens, encoder_attention_mask=context.mask).sample
            diffusion_loss = F.mse_loss(eps.float(), noise.float())
            align_loss = accelerator.unwrap_model(alignment).loss(xt, t, cond.pooled) if alignment is not None \
                else torch.zeros((), device=device)
            loss = diffusion_loss + align_loss
        accelerator.backward(loss)
        accelerator.clip_grad_norm_(params, 1.0)
        optimizer.step()
        lr_schedule.step()
        optimizer.zero_grad(set_to_none=True)
        if ema is not None:
            ema.step([p for m in (conditioner, unet) for p in m.parameters()])
        rows.append({"step": step + 1, "loss": diffusion_loss.item(), "align_loss": align_loss.item(),
                     "lr": lr_schedule.get_last_lr()[0]})  # noqa: E501
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

    conditioner, unet = accelerator.unwrap_model(conditioner), accelerator.unwrap_model(unet)
    if ema is not None:
        ema.copy_to([p for m in (conditioner, unet) for p in m.parameters()])
    alignment = accelerator.unwrap_model(alignment) if alignment is not None else None
    for module in (conditioner, unet, alignment):
        if module is not None:
            module.eval()
    pipe = build_pipeline(conditioner, unet, vae, alignment, config.num_train_timesteps)
    save_pipeline(pipe, pipeline_dir)
    atomic.write_text(output_dir / "config.json", json.dumps(config.to_dict(), indent=2))
    atomic.write_text(done_file, json.dumps(
        {"fingerprint": fingerprint, "steps": config.steps, "train_seconds": elapsed, "n_train": n}, indent=2))
    return DiffusionTrainResult(output_dir, pipeline_dir, pd.DataFrame(rows), config.steps, elapsed)


VARIANTS = ("full", "no_env")


def variant_config(config: DiffusionTrainConfig, variant: str) -> DiffusionTrainConfig:
    if variant == "full":
        return config
    if variant == "no_env":
        return dataclasses.replace(config, use_environment=False)
    raise ValueError(f"unknown variant {variant!r}; trained variants are {VARIANTS}")


def train_variants(
    records: pd.DataFrame, config: DiffusionTrainConfig, output_dir: Path, resume: bool = True,
    variants: tuple[str, ...] = VARIANTS, progress: bool = True,
) -> dict[str, DiffusionTrainResult]:
    """Train every model variant the comparison needs into ``output_dir/<variant>/`` (latents shared)."""
    output_dir = Path(output_dir)
    return {
        v: train(records, variant_config(config, v), output_dir / v, resume,
                 cache_dir=output_dir / "cache", progress=progress)
        for v in variants
    }


def history_frame(results: dict[str, DiffusionTrainResult]) -> pd.DataFrame:
    """Long table of every variant's per-step losses (``variant`` column) for plotting."""
    return pd.concat([r.history.assign(variant=v) for v, r in results.items()], ignore_index=True)


def load_trained(output_dir: Path, variant: str = "full", device: torch.device | str | None = None) -> G2PDiffusionPipeline:
    from g2p.g2pdiff.pipeline import load_pipeline

    return load_pipeline(Path(output_dir) / variant / "pipeline", device)


def config_from_preset(preset: str, **overrides: Any) -> DiffusionTrainConfig:
    """``DiffusionTrainConfig`` from the preset's ``diffusion`` block (+ ``common.seed``); ``None`` overrides are ignored."""
    from g2p import presets

    presets.section(preset, "diffusion")  # checks the block's keys, types and ranges, naming the YAML file
    data = presets.load(preset)
    values = dict(data.get("diffusion") or {})
    if "seed" in (data.get("common") or {}):
        values.setdefault("seed", data["common"]["seed"])
    values.update({k: v for k, v in overrides.items() if v is not None})
    return DiffusionTrainConfig.from_dict(values)


def load_config(output_dir: Path) -> DiffusionTrainConfig:
    """The configuration a finished ``train`` run saved in ``output_dir/config.json``."""
    return DiffusionTrainConfig.from_dict(json.loads((Path(output_dir) / "config.json").read_text()))
