"""``G2PDiffusionPipeline``: DNA barcode + coordinates → specimen images (the user-facing API).

A diffusers ``DiffusionPipeline`` holding the UNet, the frozen TAESD autoencoder, a sampler
(DPM-Solver++ or DDIM), the DNA conditioner, the latent standardiser and (optionally) the alignment
model, so ``save_pretrained``/``from_pretrained`` round-trip the whole model.  Each step:

1. classifier-free guidance with the conditioner's null barcode / no-environment embedding:
   ``f = f(∅,∅) + s·(f(DNA,env) − f(∅,∅))`` (``guidance_scale`` s; 0 samples the unconditional model);
   with ``environment_guidance_scale`` s_e the environment gets its own term,
   ``f = f(∅,∅) + s·(f(DNA,∅) − f(∅,∅)) + s_e·(f(DNA,env) − f(DNA,∅))``;
2. the gene–image alignment gradient on ε (``alignment_scale``; 0 switches it off), on the steps with
   ᾱ_t ≥ ``alignment_min_alpha_bar`` (at pure noise it would throw x₀ far out of range);
3. the x₀ estimate clipped to the range of the standardised training latents (``clip_x0``);
4. one sampler step.

Latents are unstandardised before TAESD decodes them.  :func:`generate_samples` samples a table of
records in seeded batches (the notebooks and the benchmark); also the ``python -m g2p generate`` command.

``generate`` checks what it is given before it samples: a barcode with no k-mer of known bases (only
``N``) is refused, a barcode longer than the model reads is reported (``note:``, it reads the first
``max_bp`` bases), options that would do nothing are refused (``--environment-guidance-scale``
without coordinates, coordinates for a model without environment input), ``--out`` may not lie in
the model folder, and at most :data:`MAX_IMAGES` images are made per call, in batches sized to the
free memory (:func:`images_per_batch`), each drawing its slice of one seeded noise tensor, so the
images do not depend on the batch size (up to float rounding).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from diffusers import (
    AutoencoderTiny,
    DDIMScheduler,
    DiffusionPipeline,
    DPMSolverMultistepScheduler,
    ImagePipelineOutput,
    UNet2DConditionModel,
)
from diffusers.utils.torch_utils import randn_tensor
from tqdm.auto import tqdm

from g2p import atomic, checksums, locks, outputs
from g2p.argtypes import finite_float, non_negative_int, positive_int
from g2p.data.errors import DataFormatError, MissingFileError
from g2p.device import try_gpu
from g2p.errors import G2PError, UsageError
from g2p.g2pdiff.alignment import NoisyLatentEncoder, guided_noise
from g2p.g2pdiff.conditioner import Conditioning, DNAConditioner, validate_barcodes, validate_coordinates
from g2p.g2pdiff.config import GUIDANCE_SCALE
from g2p.g2pdiff.latents import LatentStandardizer, channels_last, encode_images

if TYPE_CHECKING:
    import pandas as pd

#: Most images one ``g2p generate`` call makes (barcodes × --num-images).
MAX_IMAGES = 1000
#: Share of the free memory one sampling batch may use (the rest: the model, the decoder, the system).
MEMORY_SHARE = 0.25
#: Images sampled at once when memory allows: a fixed size, so that a rerun samples in the same
#: batches (another batch size may change a pixel by float rounding) unless memory is short.
BATCH_IMAGES = 64


def _as_list(value: float | Sequence[float] | None, n: int, name: str) -> list[float]:
    if value is None:
        return [float("nan")] * n
    if np.isscalar(value):
        return [float(value)] * n
    values = [float("nan") if v is None else float(v) for v in value]
    if len(values) != n:
        raise ValueError(f"{name}: got {len(values)} values for {n} barcodes")
    return values


class G2PDiffusionPipeline(DiffusionPipeline):
    model_cpu_offload_seq = "conditioner->unet->vae"
    # a pipeline may be saved without the alignment model; one without latent_norm samples raw latents
    _optional_components = ["alignment", "latent_norm"]

    def __init__(
        self,
        unet: UNet2DConditionModel,
        vae: AutoencoderTiny,
        scheduler: DPMSolverMultistepScheduler | DDIMScheduler,
        conditioner: DNAConditioner,
        alignment: NoisyLatentEncoder | None,
        latent_norm: LatentStandardizer | None = None,
    ) -> None:
        super().__init__()
        self.register_modules(unet=unet, vae=vae, scheduler=scheduler, conditioner=conditioner, alignment=alignment,
                              latent_norm=latent_norm)

    @property
    def vae_scale_factor(self) -> int:
        return 2 ** (len(self.vae.config.encoder_block_out_channels) - 1)

    @property
    def image_size(self) -> int:
        return int(self.unet.config.sample_size) * self.vae_scale_factor

    def _model_output(self, latents: torch.Tensor, t: torch.Tensor, cond: Conditioning) -> torch.Tensor:
        class_labels = cond.vector if self.unet.config.class_embed_type == "projection" else None
        return self.unet(latents, t, encoder_hidden_states=cond.tokens, encoder_attention_mask=cond.mask,
                         class_labels=class_labels).sample

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """Standardised latents → images ``[N, 3, H, W]`` in [0, 1]."""
        if self.latent_norm is not None:
            latents = self.latent_norm.unstandardize(latents)
        channels_last(self.vae)
        latents = (latents / self.vae.config.scaling_factor).contiguous(memory_format=torch.channels_last)
        images = self.vae.decode(latents).sample
        return ((images.float().clamp(-1, 1) + 1) / 2).contiguous()

    @torch.no_grad()
    def autoencode(self, images: torch.Tensor) -> torch.Tensor:
        """Images through this pipeline's autoencoder and back (encode, standardise, decode): the best
        any sample of this latent model can look, the reference for what the autoencoder alone loses."""
        latents = encode_images(self.vae, images)
        if self.latent_norm is not None:  # decode() inverts the standardisation
            latents = self.latent_norm.standardize(latents)
        return self.decode(latents)

    @torch.no_grad()
    def __call__(
        self,
        barcodes: str | Sequence[str],
        lat: float | Sequence[float] | None = None,
        lon: float | Sequence[float] | None = None,
        num_images_per_barcode: int = 1,
        guidance_scale: float = GUIDANCE_SCALE,
        alignment_scale: float = 0.0,
        num_inference_steps: int = 25,
        generator: torch.Generator | list[torch.Generator] | None = None,
        output_type: str = "pt",
        return_dict: bool = True,
        progress: bool = False,
        environment_guidance_scale: float | None = None,
        clip_x0: bool = True,
        alignment_min_alpha_bar: float = 0.05,
        latents: torch.Tensor | None = None,
    ) -> ImagePipelineOutput | tuple:
        """Generate ``num_images_per_barcode`` images per barcode (barcode-major order).

        ``lat``/``lon`` in degrees (scalars apply to every barcode; ``None``/NaN = missing, i.e. the
        model without environment).  ``output_type``: ``"pt"`` → ``[N·k, 3, H, W]`` in [0, 1];
        ``"np"`` → ``[N·k, H, W, 3]``; ``"pil"``; ``"latent"`` → the standardised latents.
        ``latents``: the initial noise ``[N·k, C, h, w]`` (default: drawn from ``generator``).
        """
        if output_type not in ("pt", "np", "pil", "latent"):
            raise ValueError(f"output_type must be 'pt', 'np', 'pil' or 'latent', got {output_type!r}")
        if num_images_per_barcode < 1 or num_inference_steps < 1:
            raise ValueError("num_images_per_barcode and num_inference_steps must be at least 1")
        scales = {"guidance_scale": guidance_scale, "alignment_scale": alignment_scale,
                  "environment_guidance_scale": environment_guidance_scale}
        for name, scale in scales.items():
            if scale is not None and not np.isfinite(float(scale)):
                raise ValueError(f"{name} must be a finite number, got {scale!r}")
        seqs = validate_barcodes(barcodes)
        n = len(seqs)
        lat_arr, lon_arr = validate_coordinates(_as_list(lat, n, "lat"), _as_list(lon, n, "lon"))
        device = self.unet.device
        k = num_images_per_barcode
        use_alignment = alignment_scale != 0 and self.alignment is not None
        if alignment_scale != 0 and self.alignment is None:
            raise ValueError("alignment_scale != 0 but this pipeline has no alignment model")

        cond = self.conditioner.encode(seqs, lat_arr, lon_arr).repeat_interleave(k)
        s, s_env = float(guidance_scale), environment_guidance_scale
        # (context, weight) pairs whose weighted sum is the guided output
        if s == 0:
            parts = [(self.conditioner.encode(seqs, lat_arr, lon_arr, drop_dna=True, drop_env=True), 1.0)]
        elif s_env is None or float(s_env) == s or not self.conditioner.config.use_environment:
            parts = [(self.conditioner.encode(seqs, lat_arr, lon_arr), s)]
            if s != 1:
                parts.append((self.conditioner.encode(seqs, lat_arr, lon_arr, drop_dna=True, drop_env=True), 1 - s))
        else:
            s_env = float(s_env)
            parts = [(self.conditioner.encode(seqs, lat_arr, lon_arr), s_env),
                     (self.conditioner.encode(seqs, lat_arr, lon_arr, drop_env=True), s - s_env),
                     (self.conditioner.encode(seqs, lat_arr, lon_arr, drop_dna=True, drop_env=True), 1 - s)]
        context = Conditioning.cat([c.repeat_interleave(k) for c, _ in parts])
        weights = [w for _, w in parts]

        size = int(self.unet.config.sample_size)
        shape = (n * k, self.unet.config.in_channels, size, size)
        if latents is None:
            latents = randn_tensor(shape, generator=generator, device=device, dtype=self.unet.dtype)
        elif tuple(latents.shape) != shape:
            raise ValueError(f"latents: expected shape {shape}, got {tuple(latents.shape)}")
        else:
            latents = latents.to(device=device, dtype=self.unet.dtype)
        self.scheduler.set_timesteps(num_inference_steps, device=device)
        latents = latents * self.scheduler.init_noise_sigma
        prediction = self.scheduler.config.prediction_type
        alphas = self.scheduler.alphas_cumprod

        for t in tqdm(self.scheduler.timesteps, disable=not progress, desc="sampling"):
            model_in = self.scheduler.scale_model_input(latents, t)
            outs = self._model_output(torch.cat([model_in] * len(parts)), t, context).chunk(len(parts))
            out = sum(w * o for w, o in zip(weights, outs))
            if use_alignment or (clip_x0 and self.latent_norm is not None):
                alpha_bar = alphas[int(t)].to(device=device, dtype=latents.dtype)
                a, b = alpha_bar.sqrt(), (1 - alpha_bar).sqrt()
                if prediction == "v_prediction":
                    eps, x0 = a * out + b * model_in, a * model_in - b * out
                else:
                    eps, x0 = out, (model_in - b * out) / a
                # near ᾱ = 0 the guided x0 moves by w·(1−ᾱ)·∇/√ᾱ: it explodes and the clipped x0
                # would feed a data-prediction solver junk, so guidance waits for some signal
                if use_alignment and float(alpha_bar) >= alignment_min_alpha_bar:
                    grad = self.alignment.guidance_gradient(model_in, t, cond.pooled)
                    guided = guided_noise(eps, grad, alpha_bar, alignment_scale)
                    # x0 moves by b·Δε / a; written as an update, not as (x − b·ε)/a, because a ≈ 0 at
                    # the first steps would amplify rounding errors even when the gradient is zero
                    x0 = x0 + b * (eps - guided) / a
                    eps = guided
                if clip_x0 and self.latent_norm is not None:
                    x0 = self.latent_norm.clip(x0)
                    eps = (model_in - a * x0) / b
                out = a * eps - b * x0 if prediction == "v_prediction" else eps
            latents = self.scheduler.step(out, t, latents).prev_sample

        if output_type == "latent":
            images = latents
        else:
            images = self.decode(latents).cpu()
        if output_type == "np":
            images = images.permute(0, 2, 3, 1).numpy()
        elif output_type == "pil":
            images = self.numpy_to_pil(images.permute(0, 2, 3, 1).numpy())
        if not return_dict:
            return (images,)
        return ImagePipelineOutput(images=images)


def build_pipeline(
    conditioner: DNAConditioner,
    unet: UNet2DConditionModel,
    vae: AutoencoderTiny,
    alignment: NoisyLatentEncoder | None,
    num_train_timesteps: int = 1000,
    *,
    scheduler: DPMSolverMultistepScheduler | DDIMScheduler | None = None,
    latent_norm: LatentStandardizer | None = None,
) -> G2PDiffusionPipeline:
    """A pipeline; the default sampler is DPM-Solver++ over SD1's scaled-linear βs with ε-prediction
    (``g2p.g2pdiff.train.make_sampler`` builds the one matching a training config)."""
    if scheduler is None:
        scheduler = DPMSolverMultistepScheduler(
            num_train_timesteps=num_train_timesteps, beta_schedule="scaled_linear", beta_start=0.00085,
            beta_end=0.012, algorithm_type="dpmsolver++", solver_order=2,
        )
    return G2PDiffusionPipeline(unet=unet, vae=vae, scheduler=scheduler, conditioner=conditioner, alignment=alignment,
                                latent_norm=latent_norm)


def save_pipeline(pipe: G2PDiffusionPipeline, target: Path) -> Path:
    """``save_pretrained`` into a temp folder that replaces ``target`` only when complete."""
    with atomic.directory(Path(target)) as tmp:
        pipe.save_pretrained(tmp)
    return Path(target)


def load_pipeline(path: Path, device: torch.device | str | None = None) -> G2PDiffusionPipeline:
    """A pipeline folder written by :func:`save_pipeline`, checked against its ``SHA256SUMS`` first."""
    hint = "pass a pipeline folder that training wrote (runs/<preset>/g2pdiffusion/<variant>/pipeline)"
    checksums.verify_folder(Path(path), what="pipeline folder", hint=hint)
    try:
        pipe = G2PDiffusionPipeline.from_pretrained(str(path))
    except (OSError, ValueError, RuntimeError, KeyError) as exc:  # unreadable config or weights
        raise DataFormatError(path, f"cannot load the pipeline ({type(exc).__name__}: {str(exc)[:200]})",
                              hint=hint) from exc
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device) if device is not None else pipe


# -- sampling a table of records ---------------------------------------------------------------------
@dataclass
class SamplingSettings:
    num_images: int = 4  # samples per barcode for the full model (top-k uses the first k)
    num_inference_steps: int = 20
    guidance_scale: float = GUIDANCE_SCALE
    alignment_scale: float = 1.0
    environment_guidance_scale: float | None = None  # None: the environment shares guidance_scale
    batch_size: int = 32
    seed: int = 0
    ablation_images: int | None = None  # samples per barcode for the ablations (None: num_images)


def generate_samples(
    pipe: G2PDiffusionPipeline, records: pd.DataFrame, settings: SamplingSettings, *,
    guidance_scale: float | None = None, alignment_scale: float | None = None, use_environment: bool = True,
    num_images: int | None = None, progress: bool = False,
) -> torch.Tensor:
    """``[N, k, 3, H, W]`` samples for each record's barcode (and coordinates unless
    ``use_environment`` is false), seeded per batch.

    Sample j of a record starts from the same noise whatever k and the guidance are (one draw per
    sample slot, in slot order), so methods sampled with the same settings' seed are paired: their
    first samples differ only by what the method changes."""
    gs = settings.guidance_scale if guidance_scale is None else guidance_scale
    al = settings.alignment_scale if alignment_scale is None else alignment_scale
    k = settings.num_images if num_images is None else num_images
    out = []
    starts = range(0, len(records), settings.batch_size)
    size, channels = int(pipe.unet.config.sample_size), int(pipe.unet.config.in_channels)
    for start in tqdm(starts, disable=not progress, desc="sampling"):
        batch = records.iloc[start : start + settings.batch_size]
        lat = batch["lat"].tolist() if use_environment else None
        lon = batch["lon"].tolist() if use_environment else None
        generator = torch.Generator(pipe.unet.device).manual_seed(settings.seed + start)
        noise = torch.stack([randn_tensor((len(batch), channels, size, size), generator=generator,
                                          device=pipe.unet.device, dtype=pipe.unet.dtype) for _ in range(k)], dim=1)
        images = pipe(
            batch["barcode"].tolist(), lat, lon, num_images_per_barcode=k, guidance_scale=gs, alignment_scale=al,
            environment_guidance_scale=settings.environment_guidance_scale if use_environment else None,
            num_inference_steps=settings.num_inference_steps, latents=noise.flatten(0, 1),
        ).images
        out.append(images.reshape(len(batch), k, *images.shape[1:]))
    return torch.cat(out)


# -- resources ----------------------------------------------------------------------------------------
def bytes_per_image(pipe: G2PDiffusionPipeline, guidance_parts: int = 3) -> int:
    """A generous estimate of the memory one image takes while it is sampled and decoded: the UNet's
    activations at every resolution (about 24 tensors of each block's width held at once, for each
    guidance branch) plus TAESD's decoder at full resolution (64 channels, a few at once)."""
    size = int(pipe.unet.config.sample_size)
    channels = list(pipe.unet.config.block_out_channels)
    unet = sum(c * (size // 2**i) ** 2 for i, c in enumerate(channels)) * 24 * guidance_parts
    decoder = 64 * pipe.image_size**2 * 4
    return 4 * (unet + decoder)


def _size(n_bytes: float) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.1f} {unit}"
    return f"{int(n_bytes)} bytes"


def free_memory(device: torch.device) -> int:
    """Bytes free on ``device`` (CUDA: the GPU's; otherwise the machine's available memory)."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    import psutil

    return int(psutil.virtual_memory().available)


def images_per_batch(pipe: G2PDiffusionPipeline, total: int, device: torch.device) -> int:
    """How many of ``total`` images to sample at once: :data:`BATCH_IMAGES`, or fewer so that a batch
    uses at most :data:`MEMORY_SHARE` of the free memory; :class:`G2PError` when not even one fits."""
    per_image = bytes_per_image(pipe)
    free = free_memory(device)
    budget = MEMORY_SHARE * free
    if per_image > budget:
        raise G2PError(f"one {pipe.image_size}×{pipe.image_size} image needs about {_size(per_image)} to sample, "
                       f"more than {MEMORY_SHARE:.0%} of the {_size(free)} free on {device}",
                       hint="close other programs, or sample on a machine with more memory")
    return max(1, min(total, BATCH_IMAGES, int(budget // per_image)))


# -- python -m g2p generate ------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, type=Path, help="a saved pipeline folder (runs/<preset>/g2pdiffusion/full/pipeline)")
    parser.add_argument("--barcode", required=True, action="append", help="DNA barcode (ACGTN); repeat for several")
    parser.add_argument("--lat", type=finite_float, action="append", help="latitude in degrees (one, or one per barcode)")
    parser.add_argument("--lon", type=finite_float, action="append", help="longitude in degrees (one, or one per barcode)")
    parser.add_argument("--out", required=True, type=Path, help="folder for the PNG files")
    parser.add_argument("--num-images", type=positive_int, default=1,
                        help=f"images per barcode (barcodes × images at most {MAX_IMAGES})")
    parser.add_argument("--steps", type=positive_int, default=25)
    parser.add_argument("--guidance-scale", type=finite_float, default=GUIDANCE_SCALE)
    parser.add_argument("--environment-guidance-scale", type=finite_float, default=None,
                        help="a separate guidance weight for the coordinates (default: --guidance-scale)")
    parser.add_argument("--alignment-scale", type=finite_float, default=0.0)
    parser.add_argument("--seed", type=non_negative_int, default=0)


def main(args: argparse.Namespace) -> int:
    try:
        return _generate(args)
    except G2PError:
        raise
    except ValueError as exc:  # bad barcode / coordinates: one line from the CLI, not a traceback
        raise UsageError(f"g2p generate: {exc}", hint="see g2p generate --help") from exc


def _note(message: str) -> None:
    import sys

    print(f"note: {message}", file=sys.stderr, flush=True)


def check_informative(barcodes: Sequence[str], k: int, max_bp: int, report=_note) -> None:
    """Refuse a barcode the model would read as unknown tokens only (no k-mer of A/C/G/T in its first
    ``max_bp`` bases); report one it reads only the start of."""
    known = re.compile(f"[ACGT]{{{k}}}")
    for i, seq in enumerate(barcodes):
        if not known.search(seq[:max_bp]):
            where = f"its first {max_bp} bases" if len(seq) > max_bp else "it"
            raise ValueError(f"barcode {i}: no {k}-mer of known bases (A, C, G, T) in {where} "
                             f"({seq.count('N')} of {len(seq)} bases are N): the model would read nothing of it")
        if len(seq) > max_bp:
            report(f"barcode {i} has {len(seq):,} bases; the model reads its first {max_bp} (the conditioner's "
                   f"max_bp) and ignores the other {len(seq) - max_bp:,}")


def _generate(args: argparse.Namespace) -> int:
    if not (Path(args.model) / "model_index.json").is_file():
        raise MissingFileError(args.model, "not a saved pipeline (no model_index.json)",
                               hint="pass runs/<preset>/g2pdiffusion/<variant>/pipeline")
    outputs.refuse_overwriting_inputs("generate", args.out, {}, {"--model": args.model})
    barcodes = validate_barcodes(args.barcode)
    n = len(barcodes)
    total = n * args.num_images
    if total > MAX_IMAGES:
        raise ValueError(f"--num-images: {n} barcode(s) × {args.num_images} images = {total:,}, more than the "
                         f"{MAX_IMAGES:,} one call makes (run several calls with other --seed values)")
    for option, values in (("--lat", args.lat), ("--lon", args.lon)):
        if values and len(values) not in (1, n):
            raise ValueError(f"{option}: give one value or one per barcode ({n}), got {len(values)}")
    lat = args.lat[0] if args.lat and len(args.lat) == 1 else args.lat
    lon = args.lon[0] if args.lon and len(args.lon) == 1 else args.lon
    if (lat is None) != (lon is None):
        raise ValueError("give both --lat and --lon, or neither")
    if args.environment_guidance_scale is not None and lat is None:
        raise ValueError("--environment-guidance-scale weighs the coordinates, and none were given: "
                         "add --lat and --lon, or leave it out")
    validate_coordinates(*(np.broadcast_to(np.asarray(v if v is not None else np.nan, dtype=float), (n,))
                           for v in (lat, lon)))
    with locks.hold(args.out, what="generation output", wait=False):
        device = try_gpu()
        pipe = load_pipeline(args.model, device)
        if lat is not None and not pipe.conditioner.config.use_environment:
            raise ValueError(f"--lat/--lon would change nothing: the model in {args.model} takes no environment "
                             "input (a no_env variant); leave them out")
        check_informative(barcodes, pipe.conditioner.tokenizer.k, pipe.conditioner.tokenizer.max_bp)
        images = _sample(pipe, args, barcodes, lat, lon, device)
        _write_images(images, args, n)
    return 0


def _repeat(value: float | Sequence[float] | None, k: int) -> list[float] | float | None:
    """Per-barcode coordinates → per-image ones (a scalar or None applies to all as it is)."""
    return value if value is None or np.isscalar(value) else [v for v in value for _ in range(k)]


def _part(value: list[float] | float | None, part: slice) -> list[float] | float | None:
    return value if value is None or np.isscalar(value) else value[part]


def _sample(pipe: G2PDiffusionPipeline, args: argparse.Namespace, barcodes: list[str], lat, lon,
            device: torch.device) -> list:
    """Every image of the call, in batches that fit in memory, each from its slice of one noise tensor."""
    n, k = len(barcodes), args.num_images
    total = n * k
    batch = images_per_batch(pipe, total, device)
    size = int(pipe.unet.config.sample_size)
    noise = randn_tensor((total, pipe.unet.config.in_channels, size, size),
                         generator=torch.Generator(device).manual_seed(args.seed), device=device, dtype=pipe.unet.dtype)
    print(f"sampling {total} images ({n} barcodes × {k}), {args.steps} steps on {device}"
          + (f", {batch} at a time" if batch < total else ""), flush=True)
    flat = [seq for seq in barcodes for _ in range(k)]  # barcode-major, as num_images_per_barcode orders them
    flat_lat, flat_lon = _repeat(lat, k), _repeat(lon, k)
    images = []
    for start in range(0, total, batch):
        part = slice(start, start + batch)
        images += pipe(
            flat[part], _part(flat_lat, part), _part(flat_lon, part),
            guidance_scale=args.guidance_scale,
            environment_guidance_scale=args.environment_guidance_scale if lat is not None else None,
            alignment_scale=args.alignment_scale, num_inference_steps=args.steps, latents=noise[part],
            output_type="pil",
        ).images
    return images


def _write_images(images: list, args: argparse.Namespace, n: int) -> None:
    for i, image in enumerate(images):
        target = Path(args.out) / f"barcode{i // args.num_images:03d}_sample{i % args.num_images:02d}.png"
        with atomic.open_for_write(target) as tmp:
            image.save(tmp, format="PNG")
        print(target)
    print(f"wrote {len(images)} images for {n} barcodes to {args.out}")
