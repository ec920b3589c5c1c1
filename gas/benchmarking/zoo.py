"""The models a benchmark can name, built the same way for every run.

A name resolves, in this order, to
  * a preset of a gas search space (`turbovit_ref`, `hiera_tiny`, ...), built by `space.build`;
  * a model exported to `generated_archs` (`turbovit`, the search winner the paper's claims are
    checked on, `turbovit_12m`, ...; `turbovit` is named even before it has been exported);
  * a FasterViT (`faster_vit_*`) from the optional `fastervit` package (`pip install 'gas-nas[bench]'`);
  * any timm model, `pretrained=False`, ImageNet-1k head, at its pretrained_cfg input size.
timm models are put in inference form with `timm.utils.reparameterize_model` (FastViT/RepViT
branch merging, BN fusion in LeViT/EfficientViT-M/TinyViT) because that is how they are deployed
and how their papers time them. A model that cannot be built here (package absent, not exported)
comes back as `Unavailable` with the reason, so a comparison can skip it with a note.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from gas_kernel.errors import GasError

__all__ = ["ALL_MODELS", "GAS_EXPORTED", "QUICK_MODELS", "Candidate", "Unavailable", "build_candidate", "resolve"]

GAS_EXPORTED = "turbovit"
GAS_EXPORTED_12M = "turbovit_12m"  # the paper-size (12.7M params) export, beside the latency-budget winner
FASTERVIT_0 = "faster_vit_0_224"
MOBILEVITV2_200 = "mobilevitv2_200"
# `gas bench` with no names: "how does my TurboViT compare", in about a minute on 2 CPU threads
# (the paper's baseline FasterViT-0 and three fast, accurate peers; MobileViTv2 and Hiera-T alone
# take longer than all of these together at batch 32)
QUICK_MODELS: tuple[str, ...] = (GAS_EXPORTED, FASTERVIT_0, "levit_128s", "efficientvit_b1", "repvit_m1_1")
# `gas bench --all` and benchmarks/peers.py: the full table of the README
ALL_MODELS: tuple[str, ...] = (
    GAS_EXPORTED,
    GAS_EXPORTED_12M,
    "turbovit_ref",
    FASTERVIT_0,
    "hiera_tiny_224",
    "mobilevitv2_150",
    "mobilevitv2_175",
    MOBILEVITV2_200,
    "efficientvit_b1",
    "efficientvit_m5",
    "fastvit_t8",
    "fastvit_sa12",
    "levit_128s",
    "levit_256",
    "efficientformerv2_s1",
    "tiny_vit_5m_224",
    "repvit_m1_1",
    "edgenext_small",
)


@dataclass
class Candidate:
    """A built model ready to time: eval mode, CPU, fp32, with the input it expects."""

    name: str
    model: nn.Module
    input_size: tuple[int, int, int]
    origin: str
    note: str = ""
    cost: tuple[int, int] | None = None  # (params, MACs at batch 1), filled in by the first benchmark
    warmed: object = None  # the settings this model was last warmed up under at the throughput batch


@dataclass(frozen=True)
class Unavailable:
    """A model that cannot be built on this machine, and why."""

    name: str
    reason: str


def resolve(names: list[str], progress: Callable[[str], None] | None = None) -> tuple[list[Candidate], list[Unavailable]]:
    """Build every named model; unknown names raise GasError before anything is built (or said)."""
    for name in names:
        _check_known(name)
    if progress is not None:
        progress(f"building {len(names)} models: {' '.join(names)}")
    built = [build_candidate(name) for name in names]
    return [b for b in built if isinstance(b, Candidate)], [b for b in built if isinstance(b, Unavailable)]


def build_candidate(name: str) -> Candidate | Unavailable:
    """One model by name (see the module docstring for the resolution order)."""
    _check_known(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name in _gas_presets():
            return _gas_preset(name)
        if name == GAS_EXPORTED or name in _exported_names():
            return _gas_exported(name)
        if name.startswith("faster_vit"):
            return _fastervit(name)
        return _timm(name)


def _exported_names() -> list[str]:
    """Models in `generated_archs` (none when the package cannot be imported)."""
    try:
        import generated_archs
    except Exception:  # noqa: BLE001 - a broken generated module is reported when the model is built
        return []
    return generated_archs.list_models()


def _check_known(name: str) -> None:
    import timm

    if (name in _gas_presets() or name == GAS_EXPORTED or name in _exported_names() or name.startswith("faster_vit")
            or timm.is_model(name)):
        return
    raise GasError(
        f"unknown model {name!r}: use a gas preset ({', '.join(_gas_presets())}), an exported model "
        f"({', '.join(_exported_names()) or GAS_EXPORTED!r}), "
        f"a FasterViT name like {FASTERVIT_0!r}, or a timm model name (timm.list_models())"
    )


def _gas_presets() -> dict[str, str]:
    """Preset name -> the search space that has it."""
    from search_spaces import list_presets

    return list_presets()


def _gas_preset(name: str) -> Candidate:
    from search_spaces import get_space

    space = get_space(_gas_presets()[name])
    blueprint = space.preset(name)
    model = space.build(blueprint).eval()
    size = (blueprint.in_chans, blueprint.img_size, blueprint.img_size)
    return Candidate(name, model, size, "gas preset", f"arch {blueprint.arch_id}")


def _gas_exported(name: str) -> Candidate | Unavailable:
    try:
        import generated_archs
    except Exception as error:  # noqa: BLE001 - a broken generated module must not sink the comparison
        return Unavailable(name, f"generated_archs failed to import: {error}")
    if name not in generated_archs.list_models():
        return Unavailable(name, f"not yet exported (no generated_archs/{name}.py; export the search winner first)")
    import timm

    model = timm.create_model(name, pretrained=False).eval()
    return Candidate(name, model, _exported_input_size(name), "gas export")


def _exported_input_size(name: str) -> tuple[int, int, int]:
    """The input an exported model was made for, from its MODEL_ARGS (an export of a 32 px search is
    32 px; timm's default pretrained_cfg would say 224)."""
    import importlib

    args = importlib.import_module(f"generated_archs.{name}").MODEL_ARGS
    return (args["in_chans"], args["img_size"], args["img_size"])


def _fastervit(name: str) -> Candidate | Unavailable:
    try:
        from fastervit import create_model
    except ImportError:
        return Unavailable(name, "fastervit not installed (pip install 'gas-nas[bench]')")
    model = create_model(name, pretrained=False).eval()
    return Candidate(name, model, _timm_input_size(model), "fastervit")


def _timm(name: str) -> Candidate:
    import timm
    from timm.utils import reparameterize_model

    model = timm.create_model(name, pretrained=False, num_classes=1000).eval()
    size = _timm_input_size(model)
    modules = sum(1 for _ in model.modules())
    model = reparameterize_model(model)
    fused = sum(1 for _ in model.modules()) != modules
    return Candidate(name, model, size, "timm", "reparameterized" if fused else "")


def _timm_input_size(model: nn.Module) -> tuple[int, int, int]:
    """The model's default (pretrained_cfg) input size, 224 px when it declares none."""
    cfg = getattr(model, "pretrained_cfg", None) or getattr(model, "default_cfg", None) or {}
    return tuple(cfg.get("input_size", (3, 224, 224)))  # type: ignore[return-value]
