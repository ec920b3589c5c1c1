"""Deployment check: export a model to ONNX and compare onnxruntime's outputs with torch's.

Optional: needs the `deploy` extra (onnx, onnxruntime). Uses torch's TorchScript-based exporter
(`dynamo=False`), which handles the model's reshapes and SDPA without extra packages; opset 17,
dynamic batch axis, input "pixels" and output "logits".
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from gas_kernel.errors import GasError

__all__ = ["OPSET", "export_onnx"]

OPSET = 17


def export_onnx(
    model: torch.nn.Module, path: Path, img_size: int, in_chans: int = 3, check: bool = True
) -> float | None:
    """Write `model` (put in eval mode) to `path`; with `check`, onnxruntime's max abs difference."""
    model = model.eval()
    pixels = torch.randn(2, in_chans, img_size, img_size, generator=torch.Generator().manual_seed(0))
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript exporter is "legacy"
        torch.onnx.export(
            model,
            (pixels,),
            str(path),
            dynamo=False,
            opset_version=OPSET,
            input_names=["pixels"],
            output_names=["logits"],
            dynamic_axes={"pixels": {0: "batch"}, "logits": {0: "batch"}},
        )
    return _max_difference(model, path, pixels) if check else None


def _max_difference(model: torch.nn.Module, path: Path, pixels: torch.Tensor) -> float:
    try:
        import onnxruntime
    except ImportError as error:
        raise GasError("checking an ONNX export needs onnxruntime: pip install 'gas-nas[deploy]'") from error
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (logits,) = session.run(["logits"], {"pixels": pixels.numpy()})
    with torch.no_grad():
        expected = model(pixels)
    return float((torch.from_numpy(logits) - expected).abs().max())
