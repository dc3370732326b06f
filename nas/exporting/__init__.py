"""Exporting architectures (YAML, ONNX checked against torch, int8 QDQ, TorchScript), reports and plots."""

from nas.exporting.formats import FORMATS, ExportError, export_arch, parse_formats

__all__ = ["FORMATS", "ExportError", "export_arch", "parse_formats"]
