"""The G2PDiffusion half's configuration: ``DiffusionTrainConfig``, a plain dataclass with its range
checks and no heavy imports (the preset's ``diffusion`` block is its fields; :mod:`g2p.config` builds
it once from the YAML, and the library takes the object, never a preset name).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from g2p.artifacts import key_of

#: Classifier-free guidance w when a caller does not choose one (the presets set it in ``common``).
GUIDANCE_SCALE = 2.0
LATENT_CHANNELS = 4
VAE_SCALE = 8  # TAESD downsamples by 8 (SD1 latent space)
CROSS_ATTENTION = ("all", "low", "none")
SAMPLERS = ("dpmsolver++", "ddim")
PREDICTION_TYPES = ("epsilon", "v_prediction")


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
    # "all": cross-attention in every block but the deepest down/up pair and in the mid block (SD
    # layout); "low": only in the mid block (lowest resolution); "none": global path only
    cross_attention: str = "all"
    global_conditioning: bool = True  # pooled DNA ⊕ environment → the timestep embedding
    resnet_time_scale_shift: str = "default"  # "scale_shift": FiLM-style use of that embedding
    # diffusion
    prediction_type: str = "epsilon"
    snr_gamma: float | None = None  # min-SNR-γ loss weighting (None: unweighted)
    # SD1's "scaled_linear" leaves ᾱ_T ≈ 0.005: on 8×8 latents the image mean survives the last step,
    # so a model trained on it never learns to choose colours from pure noise; "squaredcos_cap_v2"
    # (cosine, ᾱ_T ≈ 2e-9) or rescale_zero_snr (Lin et al. 2024) end at pure noise
    beta_schedule: str = "scaled_linear"
    rescale_zero_snr: bool = False
    num_train_timesteps: int = 1000
    standardize_latents: bool = True
    sampler: str = "dpmsolver++"
    # condition dropout (exclusive events): both dropped, only the environment, only the barcode
    p_uncond: float = 0.1
    p_drop_env: float = 0.1
    p_drop_dna: float = 0.0
    # environment augmentation: the fraction of training specimens rendered at a random latitude
    # instead of their own (no extra renders), and extra renders per specimen at random latitudes
    env_resample: float = 0.0
    env_augment: int = 0
    env_augment_max_lat: float = 80.0
    # alignment
    alignment: bool = True
    alignment_hidden: int = 64
    alignment_trains_conditioner: bool = False
    temperature: float = 0.07
    # optimisation
    steps: int = 1000
    batch_size: int = 32
    lr: float = 3e-4
    warmup_steps: int = 50
    ema: bool = True
    ema_decay: float = 0.995
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
        return key_of(d)

    def __post_init__(self) -> None:
        if self.image_size % VAE_SCALE or self.image_size < 16:
            raise ValueError(f"image_size must be a multiple of {VAE_SCALE} and ≥ 16, got {self.image_size}")
        for name in ("p_uncond", "p_drop_env", "p_drop_dna"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if self.p_uncond + self.p_drop_env + self.p_drop_dna > 1.0:
            raise ValueError("p_uncond + p_drop_env + p_drop_dna must be at most 1")
        for name, allowed in (("cross_attention", CROSS_ATTENTION), ("sampler", SAMPLERS),
                              ("prediction_type", PREDICTION_TYPES)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        if self.env_augment < 0:
            raise ValueError(f"env_augment must be >= 0, got {self.env_augment}")
        if not 0.0 <= self.env_resample <= 1.0:
            raise ValueError(f"env_resample must be in [0, 1], got {self.env_resample}")
