"""The data layer: skeletons and body parts, BVH and dataset importers, Arrow datasets,
per-part motion features, mirroring, batching, stick-figure rendering, and the small
kitml-cmu sample shipped in ``sample/`` (used by ``lexmotion demo``). Imports nothing above it.
"""
from pathlib import Path

SAMPLE_DIR = Path(__file__).parent / "sample"
