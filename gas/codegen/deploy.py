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

__all__ = ["DEPLOY_HINT", "OPSET", "export_onnx", "require_deploy"]

OPSET = 17
DEPLOY_HINT = 'pip install -e ".[deploy]"'  # the extra that brings onnx and onnxruntime


def require_deploy() -> None:
    """GasError naming the deploy extra when onnx or onnxruntime cannot be imported.

    Called before anything is written, so `gas export ... --onnx` without the extra leaves no file.
    """
    missing = []
    for module in ("onnx", "onnxruntime"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise GasError(f"ONNX export needs {' and '.join(missing)}, from the deploy extra: {DEPLOY_HINT}")


def export_onnx(
    model: torch.nn.Module, path: Path, img_size: int, in_chans: int = 3, check: bool = True
) -> float | None:
    """Write `model` (put in eval mode) to `path`; with `check`, onnxruntime's max abs difference."""
    require_deploy()
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
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (logits,) = session.run(["logits"], {"pixels": pixels.numpy()})
    with torch.no_grad():
        expected = model(pixels)
    return float((torch.from_numpy(logits) - expected).abs().max())
