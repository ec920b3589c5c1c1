"""Published ImageNet-1k top-1 of the peers, with the source of every figure.

Nothing here is measured: gas cannot download pretrained weights or ImageNet on the benchmark
machine, so accuracy comes from the papers' tables (single-crop top-1 at the listed resolution,
the training recipe of the weights timm ships by default where the paper has several). Models gas
generated itself have not been trained on ImageNet and say so.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["NOT_TRAINED", "PublishedTop1", "published_top1"]

NOT_TRAINED = "not trained"


@dataclass(frozen=True)
class PublishedTop1:
    """An ImageNet-1k top-1 figure (percent) and where it was published."""

    top1: float | None
    source: str


_TABLE: dict[str, PublishedTop1] = {
    "turbovit_paper": PublishedTop1(82.1, "TurboViT, arXiv 2308.11421, Table 1"),
    "faster_vit_0_224": PublishedTop1(82.1, "FasterViT, arXiv 2306.06189, Table 1"),
    "hiera_tiny_224": PublishedTop1(82.8, "Hiera, arXiv 2306.00989, Table (MAE pre-train + IN-1k ft)"),
    "mobilevitv2_150": PublishedTop1(80.4, "MobileViTv2, arXiv 2206.02680, Table (256 px)"),
    "mobilevitv2_175": PublishedTop1(80.8, "MobileViTv2, arXiv 2206.02680, Table (256 px)"),
    "mobilevitv2_200": PublishedTop1(81.2, "MobileViTv2, arXiv 2206.02680, Table (256 px)"),
    "efficientvit_b1": PublishedTop1(79.4, "EfficientViT (MIT), arXiv 2205.14756, Table (r224)"),
    "efficientvit_m5": PublishedTop1(77.1, "EfficientViT (MSRA), arXiv 2305.07027, Table 2"),
    "fastvit_t8": PublishedTop1(75.6, "FastViT, arXiv 2303.14189, Table 3 (256 px)"),
    "fastvit_sa12": PublishedTop1(80.6, "FastViT, arXiv 2303.14189, Table 3 (256 px)"),
    "levit_128s": PublishedTop1(76.6, "LeViT, arXiv 2104.01136, Table 3 (distilled)"),
    "levit_256": PublishedTop1(81.6, "LeViT, arXiv 2104.01136, Table 3 (distilled)"),
    "efficientformerv2_s1": PublishedTop1(79.0, "EfficientFormerV2, arXiv 2212.08059, Table 1 (distilled)"),
    "tiny_vit_5m_224": PublishedTop1(79.1, "TinyViT, arXiv 2207.10666, Table (IN-1k distillation)"),
    "repvit_m1_1": PublishedTop1(80.7, "RepViT, arXiv 2307.09283, Table 1 (300 epochs, distilled)"),
    "edgenext_small": PublishedTop1(79.4, "EdgeNeXt, arXiv 2206.10589, Table 2 (256 px)"),
}

def published_top1(name: str, *, made_by_gas: bool = False) -> PublishedTop1:
    """The published top-1 of `name`; gas's own models (presets, exports) are 'not trained', unknown
    ones 'unknown'."""
    if made_by_gas:
        return PublishedTop1(None, NOT_TRAINED)
    return _TABLE.get(name, PublishedTop1(None, "unknown"))
