"""Raw sources, parsers and curated datasets."""
