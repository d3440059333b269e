"""g2p: a reproducible companion to GenePheno (AAAI-26) and G2PDiffusion (ICCV-25)."""

from g2p import vision_compat as _vision_compat

__version__ = "0.1.0"

# before transformers, diffusers or bioscan-dataset import torchvision (see g2p.vision_compat)
_vision_compat.install()
