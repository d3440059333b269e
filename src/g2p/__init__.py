"""g2p: a reproducible companion to GenePheno (AAAI-26) and G2PDiffusion (ICCV-25)."""

__version__ = "0.1.0"
