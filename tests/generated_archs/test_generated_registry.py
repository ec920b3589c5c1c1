"""The checked-in exported models: importable, registered with timm, and up to date with the code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import generated_archs
from gas.codegen import ExportRecord, render_model_file

PACKAGE = Path(generated_archs.__file__).parent


def test_the_package_has_the_reference_model():
    assert "turbovit_ref" in generated_archs.list_models()
    assert "turbovit_ref" in [p.stem for p in PACKAGE.glob("*.py")]


def test_timm_creates_every_exported_model_by_name():
    timm = pytest.importorskip("timm")
    for name in generated_archs.list_models():
        assert name in timm.list_models(), name
        model = timm.create_model(name, img_size=64, num_classes=7).eval()
        with torch.no_grad():
            assert model(torch.zeros(1, 3, 64, 64)).shape == (1, 7), name


def test_timm_builds_turbovit_ref_with_its_blueprint():
    timm = pytest.importorskip("timm")
    model = timm.create_model("turbovit_ref")
    record = json.loads((PACKAGE / "turbovit_ref.json").read_text())
    assert sum(p.numel() for p in model.parameters()) == record["cost"]["params"]
    assert generated_archs.get_model("turbovit_ref") is timm.models.model_entrypoint("turbovit_ref")


def test_unknown_models_are_named_in_the_error():
    with pytest.raises(KeyError, match="turbovit_ref"):
        generated_archs.get_model("nope")


@pytest.mark.parametrize("name", generated_archs.list_models())
def test_checked_in_files_match_their_records(name):
    """The file is what the exporter writes today; after a model code change run `gas export refresh`."""
    record = ExportRecord.from_dict(json.loads((PACKAGE / f"{name}.json").read_text()))
    assert (PACKAGE / f"{name}.py").read_text() == render_model_file(record), (
        f"generated_archs/{name}.py is stale: run `gas export refresh {name}`"
    )
