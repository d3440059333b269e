"""The G2PDiffusion half's configuration: ``DiffusionTrainConfig``, a plain dataclass with its range
checks and no heavy imports (the preset's ``diffusion`` block is its fields; :mod:`g2p.config` builds
it once from the YAML, and the library takes the object, never a preset name).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from g2p import ranges
from g2p.artifacts import key_of

#: Classifier-free guidance w when a caller does not choose one (the presets set it in ``common``).
GUIDANCE_SCALE = 2.0
LATENT_CHANNELS = 4
VAE_SCALE = 8  # TAESD downsamples by 8 (SD1 latent space)
CROSS_ATTENTION = ("all", "low", "none")
SAMPLERS = ("dpmsolver++", "ddim")
PREDICTION_TYPES = ("epsilon", "v_prediction")
BETA_SCHEDULES = ("linear", "scaled_linear", "squaredcos_cap_v2")
TIME_SCALE_SHIFTS = ("default", "scale_shift")
MIXED_PRECISIONS = ("auto", "no", "fp16", "bf16")
#: Where the training images come from: the phenotype simulator's renders of the BOLD records, or the
#: real BIOSCAN-5M photos (:mod:`g2p.data.bioscan5m`). A preset may also say ``auto``
#: (:func:`g2p.config.Preset.diffusion`: ``bioscan5m`` when its root exists, else ``simulator``).
DATA_SOURCES = ("simulator", "bioscan5m")
#: Largest image side (pixels) a configuration may ask for (the paper's is 256).
MAX_IMAGE_SIZE = 1024
#: Seeds seed NumPy's legacy generator too, which takes 32 bits.
MAX_SEED = 2**32 - 1


@dataclass
class DiffusionTrainConfig:
    # training data: "simulator" or "bioscan5m" (real photos from bioscan5m_root, else $G2P_BIOSCAN5M_ROOT;
    # env_resample and env_augment then do nothing: only the simulator can move a specimen elsewhere)
    data: str = "simulator"
    bioscan5m_root: str | None = None
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
    # pairs whose pooled DNA embeddings have at least this cosine are not each other's InfoNCE negatives
    # (None: every other specimen in the batch is a negative)
    alignment_negative_cos: float | None = None
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
        """Hash of the fields that change the trained model (not threads, checkpoint cadence or where the
        dataset lies; ``data`` only when it is not the simulator, so older runs keep their hash)."""
        skip = ("cpu_threads", "checkpoint_every", "bioscan5m_root")
        d = {k: v for k, v in self.to_dict().items() if k not in skip}
        if d["data"] == "simulator":
            del d["data"]
        return key_of(d)

    def __post_init__(self) -> None:
        """Every field range-checked (:class:`g2p.ranges.RangeError` names the field)."""
        for name, allowed in (("data", DATA_SOURCES), ("cross_attention", CROSS_ATTENTION),
                              ("sampler", SAMPLERS),
                              ("prediction_type", PREDICTION_TYPES), ("beta_schedule", BETA_SCHEDULES),
                              ("resnet_time_scale_shift", TIME_SCALE_SHIFTS),
                              ("mixed_precision", MIXED_PRECISIONS)):
            ranges.choice(name, getattr(self, name), allowed)
        ranges.integer("image_size", self.image_size, minimum=16, maximum=MAX_IMAGE_SIZE)
        if self.image_size % VAE_SCALE:
            raise ranges.RangeError("image_size", f"must be a multiple of {VAE_SCALE}, got {self.image_size}")
        ranges.integer("k", self.k, minimum=1, maximum=8)
        ranges.integer("max_bp", self.max_bp, minimum=self.k, maximum=100_000)
        ranges.integer("token_pool", self.token_pool, minimum=1, maximum=self.max_bp)
        for name in ("d_model", "encoder_heads", "attention_head_dim", "alignment_hidden"):
            ranges.width(name, getattr(self, name))
        ranges.divides("d_model", self.d_model, "encoder_heads", self.encoder_heads)
        ranges.depth("encoder_layers", self.encoder_layers)
        ranges.depth("layers_per_block", self.layers_per_block)
        ranges.integers("unet_channels", list(self.unet_channels), minimum=1, maximum=ranges.MAX_WIDTH)
        if len(self.unet_channels) > 8:
            raise ranges.RangeError("unet_channels", f"lists {len(self.unet_channels)} blocks; at most 8")
        groups = min(32, *self.unet_channels)  # g2p.g2pdiff.train.make_unet's GroupNorm groups
        attended = {"all": self.unet_channels, "low": self.unet_channels[-1:], "none": ()}[self.cross_attention]
        for channels in self.unet_channels:
            ranges.divides("unet_channels", channels, "their GroupNorm groups", groups)
        for channels in attended:  # diffusers reads attention_head_dim as the number of heads
            ranges.divides("unet_channels", channels, "attention_head_dim", self.attention_head_dim)
        latent = self.image_size // VAE_SCALE
        if latent % 2 ** (len(self.unet_channels) - 1):
            raise ranges.RangeError("unet_channels", f"has {len(self.unet_channels)} blocks, which halve the "
                                                     f"{latent}×{latent} latent {len(self.unet_channels) - 1} times: "
                                                     "use fewer blocks or a larger image_size")
        for name in ("p_uncond", "p_drop_env", "p_drop_dna", "env_resample"):
            ranges.fraction(name, getattr(self, name))
        if self.p_uncond + self.p_drop_env + self.p_drop_dna > 1.0:
            raise ranges.RangeError("p_uncond", "+ p_drop_env + p_drop_dna must be at most 1")
        ranges.number("snr_gamma", self.snr_gamma, above=0.0, optional=True)
        ranges.integer("num_train_timesteps", self.num_train_timesteps, minimum=2, maximum=100_000)
        ranges.integer("env_augment", self.env_augment, minimum=0, maximum=100)
        ranges.number("env_augment_max_lat", self.env_augment_max_lat, above=0.0, maximum=90.0)
        ranges.number("temperature", self.temperature, above=0.0)
        ranges.number("alignment_negative_cos", self.alignment_negative_cos, minimum=-1.0, maximum=1.0, optional=True)
        ranges.integer("steps", self.steps, minimum=1, maximum=100_000_000)
        ranges.integer("batch_size", self.batch_size, minimum=1, maximum=1_000_000)
        ranges.number("lr", self.lr, above=0.0, maximum=10.0)
        ranges.integer("warmup_steps", self.warmup_steps, minimum=0)
        ranges.fraction("ema_decay", self.ema_decay, open_top=True)
        ranges.integer("checkpoint_every", self.checkpoint_every, minimum=1)
        ranges.integer("cpu_threads", self.cpu_threads, minimum=1, maximum=4096, optional=True)
        ranges.integer("simulator_seed", self.simulator_seed, minimum=0, maximum=MAX_SEED)
        ranges.integer("seed", self.seed, minimum=0, maximum=MAX_SEED)
        if self.bioscan5m_root is not None and not isinstance(self.bioscan5m_root, str):
            raise ranges.RangeError("bioscan5m_root", f"must be a folder path or null, got {self.bioscan5m_root!r}")
        for name in ("use_environment", "global_conditioning", "rescale_zero_snr", "standardize_latents",
                     "alignment", "alignment_trains_conditioner", "ema"):
            if not isinstance(getattr(self, name), bool):
                raise ranges.RangeError(name, f"must be true or false, got {getattr(self, name)!r}")
