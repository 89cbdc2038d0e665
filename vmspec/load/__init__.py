"""Loading: YAML files and directories into documents that remember where every value came from."""

from vmspec.load.source import SourceDocument
from vmspec.load.yaml_loader import load_paths, load_text

__all__ = ["SourceDocument", "load_paths", "load_text"]
