"""``G2PDiffusionPipeline``: DNA barcode + coordinates → specimen images (the user-facing API).

A diffusers ``DiffusionPipeline`` holding the UNet, the frozen TAESD autoencoder, a DDIM scheduler,
the DNA conditioner and (optionally) the alignment model, so ``save_pretrained``/``from_pretrained``
round-trip the whole model. Sampling combines classifier-free guidance (the conditioner's learned null
context; ``guidance_scale=0`` samples the unconditional model) with the gene–image alignment gradient
(``alignment_scale=0`` switches it off). Also the ``python -m g2p generate`` command.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from diffusers import AutoencoderTiny, DDIMScheduler, DiffusionPipeline, ImagePipelineOutput, UNet2DConditionModel
from diffusers.utils.torch_utils import randn_tensor
from tqdm.auto import tqdm

from g2p import atomic
from g2p.g2pdiff.alignment import NoisyLatentEncoder, guided_noise
from g2p.g2pdiff.conditioner import Conditioning, DNAConditioner, validate_barcodes, validate_coordinates


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
    _optional_components = ["alignment"]  # a pipeline may be saved without the alignment model

    def __init__(
        self,
        unet: UNet2DConditionModel,
        vae: AutoencoderTiny,
        scheduler: DDIMScheduler,
        conditioner: DNAConditioner,
        alignment: NoisyLatentEncoder | None,
    ) -> None:
        super().__init__()
        self.register_modules(unet=unet, vae=vae, scheduler=scheduler, conditioner=conditioner, alignment=alignment)

    @property
    def vae_scale_factor(self) -> int:
        return 2 ** (len(self.vae.config.encoder_block_out_channels) - 1)

    @property
    def image_size(self) -> int:
        return int(self.unet.config.sample_size) * self.vae_scale_factor

    def _unet_eps(self, latents: torch.Tensor, t: torch.Tensor, cond: Conditioning) -> torch.Tensor:
        return self.unet(
            latents, t, encoder_hidden_states=cond.tokens, encoder_attention_mask=cond.mask
        ).sample

    def _cat(self, a: Conditioning, b: Conditioning) -> Conditioning:
        return Conditioning(torch.cat([a.tokens, b.tokens]), torch.cat([a.mask, b.mask]), torch.cat([a.pooled, b.pooled]))

    @torch.no_grad()
    def __call__(
        self,
        barcodes: str | Sequence[str],
        lat: float | Sequence[float] | None = None,
        lon: float | Sequence[float] | None = None,
        num_images_per_barcode: int = 1,
        guidance_scale: float = 2.0,
        alignment_scale: float = 0.0,
        num_inference_steps: int = 25,
        generator: torch.Generator | list[torch.Generator] | None = None,
        output_type: str = "pt",
        return_dict: bool = True,
        progress: bool = False,
    ) -> ImagePipelineOutput | tuple:
        """Generate ``num_images_per_barcode`` images per barcode (barcode-major order).

        ``lat``/``lon`` in degrees (scalars apply to every barcode; ``None``/NaN = missing).
        ``output_type``: ``"pt"`` → ``[N·k, 3, H, W]`` in [0, 1]; ``"np"`` → ``[N·k, H, W, 3]``; ``"pil"``.
        """
        if output_type not in ("pt", "np", "pil"):
            raise ValueError(f"output_type must be 'pt', 'np' or 'pil', got {output_type!r}")
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

        cond = self.conditioner.encode(seqs, lat_arr, lon_arr)
        cond = Conditioning(*(x.repeat_interleave(k, dim=0) for x in (cond.tokens, cond.mask, cond.pooled)))
        null = self.conditioner.null_conditioning(cond)
        # guidance_scale 0 → the unconditional model alone; 1 → the conditional model alone.
        branches = "uncond" if guidance_scale == 0 else "cond" if guidance_scale == 1 else "both"
        context = {"uncond": null, "cond": cond, "both": self._cat(null, cond)}[branches]

        size = int(self.unet.config.sample_size)
        shape = (n * k, self.unet.config.in_channels, size, size)
        latents = randn_tensor(shape, generator=generator, device=device, dtype=self.unet.dtype)
        self.scheduler.set_timesteps(num_inference_steps, device=device)
        latents = latents * self.scheduler.init_noise_sigma
        use_alignment = alignment_scale != 0 and self.alignment is not None
        if alignment_scale != 0 and self.alignment is None:
            raise ValueError("alignment_scale != 0 but this pipeline has no alignment model")

        for t in tqdm(self.scheduler.timesteps, disable=not progress, desc="sampling"):
            model_in = self.scheduler.scale_model_input(latents, t)
            if branches == "both":
                eps_u, eps_c = self._unet_eps(torch.cat([model_in, model_in]), t, context).chunk(2)
                eps = eps_u + guidance_scale * (eps_c - eps_u)
            else:
                eps = self._unet_eps(model_in, t, context)
            if use_alignment:
                grad = self.alignment.guidance_gradient(latents, t, cond.pooled)
                eps = guided_noise(eps, grad, self.scheduler.alphas_cumprod[int(t)], alignment_scale)
            latents = self.scheduler.step(eps, t, latents).prev_sample

        images = self.vae.decode(latents / self.vae.config.scaling_factor).sample
        images = ((images.float().clamp(-1, 1) + 1) / 2).cpu()
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
) -> G2PDiffusionPipeline:
    """A pipeline with the DDIM sampler matching the DDPM training schedule (scaled-linear βs)."""
    scheduler = DDIMScheduler(
        num_train_timesteps=num_train_timesteps, beta_schedule="scaled_linear", beta_start=0.00085,
        beta_end=0.012, clip_sample=False, set_alpha_to_one=False, steps_offset=1,
    )
    return G2PDiffusionPipeline(unet=unet, vae=vae, scheduler=scheduler, conditioner=conditioner, alignment=alignment)


def save_pipeline(pipe: G2PDiffusionPipeline, target: Path) -> Path:
    """``save_pretrained`` into a temp folder that replaces ``target`` only when complete."""
    with atomic.directory(Path(target)) as tmp:
        pipe.save_pretrained(tmp)
    return Path(target)


def load_pipeline(path: Path, device: torch.device | str | None = None) -> G2PDiffusionPipeline:
    """A pipeline folder written by :func:`save_pipeline`, checked against its ``SHA256SUMS`` first."""
    from g2p import checksums
    from g2p.data.errors import DataFormatError

    hint = "pass a pipeline folder that training wrote (runs/<preset>/g2pdiffusion/<variant>/pipeline)"
    checksums.verify_folder(Path(path), what="pipeline folder", hint=hint)
    try:
        pipe = G2PDiffusionPipeline.from_pretrained(str(path))
    except (OSError, ValueError, RuntimeError, KeyError) as exc:  # unreadable config or weights
        raise DataFormatError(path, f"cannot load the pipeline ({type(exc).__name__}: {str(exc)[:200]})",
                              hint=hint) from exc
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device) if device is not None else pipe


# -- python -m g2p generate ------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, type=Path, help="a saved pipeline folder (runs/<preset>/g2pdiffusion/full/pipeline)")
    parser.add_argument("--barcode", required=True, action="append", help="DNA barcode (ACGTN); repeat for several")
    from g2p.cli import finite_float, non_negative_int, positive_int

    parser.add_argument("--lat", type=finite_float, action="append", help="latitude in degrees (one, or one per barcode)")
    parser.add_argument("--lon", type=finite_float, action="append", help="longitude in degrees (one, or one per barcode)")
    parser.add_argument("--out", required=True, type=Path, help="folder for the PNG files")
    parser.add_argument("--num-images", type=positive_int, default=1)
    parser.add_argument("--steps", type=positive_int, default=25)
    parser.add_argument("--guidance-scale", type=finite_float, default=2.0)
    parser.add_argument("--alignment-scale", type=finite_float, default=0.0)
    parser.add_argument("--seed", type=non_negative_int, default=0)


def main(args: argparse.Namespace) -> int:
    from g2p.errors import G2PError, UsageError

    try:
        return _generate(args)
    except G2PError:
        raise
    except ValueError as exc:  # bad barcode / coordinates: one line from the CLI, not a traceback
        raise UsageError(f"g2p generate: {exc}", hint="see g2p generate --help") from exc


def _generate(args: argparse.Namespace) -> int:
    from g2p.device import try_gpu

    if not (Path(args.model) / "model_index.json").is_file():
        from g2p.data.errors import MissingFileError

        raise MissingFileError(args.model, "not a saved pipeline (no model_index.json)",
                               hint="pass runs/<preset>/g2pdiffusion/<variant>/pipeline")
    validate_barcodes(args.barcode)
    n = len(args.barcode)
    for option, values in (("--lat", args.lat), ("--lon", args.lon)):
        if values and len(values) not in (1, n):
            raise ValueError(f"{option}: give one value or one per barcode ({n}), got {len(values)}")
    lat = args.lat[0] if args.lat and len(args.lat) == 1 else args.lat
    lon = args.lon[0] if args.lon and len(args.lon) == 1 else args.lon
    if (lat is None) != (lon is None):
        raise ValueError("give both --lat and --lon, or neither")
    validate_coordinates(*(np.broadcast_to(np.asarray(v if v is not None else np.nan, dtype=float), (n,))
                           for v in (lat, lon)))
    device = try_gpu()
    pipe = load_pipeline(args.model, device)
    images = pipe(
        args.barcode, lat, lon, num_images_per_barcode=args.num_images, guidance_scale=args.guidance_scale,
        alignment_scale=args.alignment_scale, num_inference_steps=args.steps,
        generator=torch.Generator(device).manual_seed(args.seed), output_type="pil",
    ).images
    for i, image in enumerate(images):
        target = Path(args.out) / f"barcode{i // args.num_images:03d}_sample{i % args.num_images:02d}.png"
        with atomic.open_for_write(target) as tmp:
            image.save(tmp, format="PNG")
        print(target)
    print(f"wrote {len(images)} images for {n} barcodes to {args.out}")
    return 0
