"""The blueprint contract: what the kernel promises about every space's blueprint."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from gas_kernel.blueprint import Blueprint


class Tiny(Blueprint):
    """The smallest blueprint a space could have: one width."""

    width: int = 8

    def model_kwargs(self) -> dict[str, Any]:
        return {"width": self.width, "classes": self.num_classes}

    def describe(self) -> str:
        return f"{self.img_size}px w{self.width}"


def test_the_contract_cannot_be_made_without_a_space():
    with pytest.raises(TypeError, match="abstract"):
        Blueprint()


def test_every_blueprint_has_the_image_fields_first_then_its_own():
    assert list(Tiny.model_fields) == ["img_size", "in_chans", "num_classes", "width"]
    assert Tiny().model_dump() == {"img_size": 224, "in_chans": 3, "num_classes": 1000, "width": 8}


def test_canonical_json_and_arch_id_depend_on_every_field_and_nothing_else():
    assert Tiny(width=8).canonical_json() == '{"img_size":224,"in_chans":3,"num_classes":1000,"width":8}'
    assert Tiny(width=8).arch_id == Tiny(width=8).arch_id and len(Tiny().arch_id) == 12
    assert len({Tiny().arch_id, Tiny(width=9).arch_id, Tiny(num_classes=10).arch_id}) == 3


def test_blueprints_are_frozen_and_refuse_unknown_or_bad_fields():
    with pytest.raises(ValidationError):
        Tiny().width = 9
    with pytest.raises(ValidationError, match="depth"):
        Tiny(depth=3)
    with pytest.raises(ValidationError, match="img_size"):
        Tiny(img_size=4)
