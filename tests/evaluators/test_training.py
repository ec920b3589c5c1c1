"""Short training and the in-memory ImageFolder it reads."""

from __future__ import annotations

import pytest
import torch

import gas
from evaluators import EvalContext, get_evaluator, train_and_evaluate
from evaluators.augment import crop_flip
from evaluators.data import balanced_subset, load_image_folder
from evaluators.recipes import TrainConfig, get_recipe
from evaluators.training import Trainer, _optimizer_and_schedule
from gas_kernel.errors import GasError

HIERA = gas.get_space("hiera")  # builds any hiera blueprint, whatever its size


def _tiny_blueprint(img_size: int = 32, num_classes: int = 3):
    space = gas.get_space("hiera", img_size=img_size, num_classes=num_classes)
    return next(bp for bp in map(space.random, range(100)) if space.cost(bp).macs < 3e6)


def test_data_is_decoded_once_into_uint8_tensors(image_folder):
    data = load_image_folder(image_folder)
    assert data.train_x.dtype == torch.uint8 and data.train_x.shape == (18, 3, 32, 32)
    assert data.val_x.shape == (9, 3, 32, 32) and data.classes == ("class0", "class1", "class2")
    assert load_image_folder(image_folder) is data


def test_training_reports_every_epoch_and_returns_top1(image_folder):
    reports = []
    data = load_image_folder(image_folder)
    result = train_and_evaluate(_tiny_blueprint(), data, space=HIERA, epochs=2, report=reports.append,
                                config=_small_batches())
    assert [r["epoch"] for r in reports] == [1.0, 2.0]
    assert all(0.0 <= r["val_top1"] <= 1.0 for r in reports)
    assert result.val_top1 == reports[-1]["val_top1"] and result.epochs == 2.0 and result.steps == 4


def test_max_steps_and_time_limit_stop_training_early(image_folder):
    data = load_image_folder(image_folder)
    assert train_and_evaluate(_tiny_blueprint(), data, space=HIERA, epochs=3, max_steps=1, config=_small_batches()).steps == 1
    result = train_and_evaluate(_tiny_blueprint(), data, space=HIERA, epochs=3, time_limit_s=0.0, config=_small_batches())
    assert result.steps == 1 and result.epochs == 0.5


def test_training_is_deterministic_for_a_seed(image_folder):
    data = load_image_folder(image_folder)
    runs = [train_and_evaluate(_tiny_blueprint(), data, space=HIERA, max_steps=2, seed=4, config=_small_batches())
            for _ in range(2)]
    assert [_untimed(h) for h in runs[0].history] == [_untimed(h) for h in runs[1].history]


def test_train_evaluator_passes_reports_through(image_folder):
    reports = []
    ctx = EvalContext(data=str(image_folder), epochs=1, max_steps=1, report=reports.append, space=HIERA)
    metrics = get_evaluator("train").evaluate(None, _tiny_blueprint(), ctx)
    assert set(metrics) == {"val_top1", "epochs", "train_s"} and len(reports) == 1


def test_balanced_subset_takes_as_many_of_each_class_the_same_way_every_time(image_folder):
    data = load_image_folder(image_folder)  # 3 classes x 6 training images
    subset = balanced_subset(data, 7)  # 2 of each class; the remainder is dropped, not skewed
    assert torch.bincount(subset.train_y).tolist() == [2, 2, 2]
    assert torch.equal(subset.train_x, balanced_subset(data, 7).train_x)  # the same images, whatever trains on them
    assert not torch.equal(subset.train_x, balanced_subset(data, 7, seed=1).train_x)
    assert torch.equal(subset.val_x, data.val_x)  # validation stays whole
    for images in (2, 19):
        with pytest.raises(GasError, match=f"a training subset of {images} images needs 1..18 images"):
            balanced_subset(data, images)


def test_train_evaluator_trains_on_the_search_subset(image_folder, monkeypatch):
    seen = []
    monkeypatch.setattr("evaluators.builtin.train_and_evaluate",
                        lambda *args, config, **kwargs: seen.append(config) or _Result())
    for images in (0, 6):
        ctx = EvalContext(data=str(image_folder), train_images=images, space=HIERA)
        get_evaluator("train").evaluate(None, _tiny_blueprint(), ctx)
    assert [c.train_images for c in seen] == [0, 6] and {c.name for c in seen} == {"short"}


class _Result:
    def metrics(self) -> dict[str, float]:
        return {"val_top1": 0.5}


def test_blueprint_of_another_image_size_is_a_user_error(image_folder):
    with pytest.raises(GasError, match="sample it with img_size=32"):
        train_and_evaluate(gas.get_space("hiera", img_size=64, num_classes=3).random(0), image_folder, space=HIERA)
    with pytest.raises(GasError, match="num_classes=3"):
        train_and_evaluate(_tiny_blueprint(num_classes=10), image_folder, space=HIERA)


def test_a_blueprint_without_its_space_is_a_user_error(image_folder):
    with pytest.raises(GasError, match="needs its search space"):
        train_and_evaluate(_tiny_blueprint(), image_folder)


def test_missing_and_empty_folders_are_user_errors(tmp_path):
    with pytest.raises(GasError, match="does not exist"):
        load_image_folder(tmp_path / "nowhere")
    (tmp_path / "empty" / "train" / "cat").mkdir(parents=True)
    (tmp_path / "empty" / "val" / "cat").mkdir(parents=True)
    with pytest.raises(GasError, match="no valid file"):
        load_image_folder(tmp_path / "empty")


def test_augmentation_keeps_shape_and_pixels():
    images = torch.arange(2 * 3 * 8 * 8, dtype=torch.uint8).view(2, 3, 8, 8)  # [B, C, H, W]
    out = crop_flip(images, padding=0, flip=True, generator=torch.Generator().manual_seed(0))
    assert out.shape == images.shape
    assert all(torch.equal(o, i) or torch.equal(o, i.flip(-1)) for o, i in zip(out, images))


def test_augmentation_crops_are_shifted_windows_of_the_padded_image():
    images = torch.randint(1, 255, (16, 2, 6, 6), dtype=torch.uint8)  # [B, C, H, W], no zero pixels
    out = crop_flip(images, padding=2, flip=False, generator=torch.Generator().manual_seed(1))
    padded = torch.nn.functional.pad(images, (2, 2, 2, 2))
    for o, p in zip(out, padded):
        windows = [p[:, dy:dy + 6, dx:dx + 6] for dy in range(5) for dx in range(5)]
        assert any(torch.equal(o, w) for w in windows)
    assert not all(torch.equal(o, i) for o, i in zip(out, images))  # some image moved


def test_warmup_then_cosine_schedule():
    model = torch.nn.Linear(2, 2)
    optimizer, schedule = _optimizer_and_schedule(model, TrainConfig(lr=1.0, warmup_fraction=0.1), total_steps=20)
    lrs = []
    for step in range(21):
        schedule.step_update(step)
        lrs.append(optimizer.param_groups[0]["lr"])
    assert lrs[0] == pytest.approx(0.5) and lrs[2] == pytest.approx(1.0)  # two warm-up steps
    assert lrs[11] == pytest.approx(0.5) and lrs[20] == pytest.approx(0.0)  # cosine over the other 18


def test_unknown_recipe_and_setting_are_user_errors():
    assert get_recipe("reference", mixup=0.8).mixup == 0.8
    with pytest.raises(GasError, match="unknown recipe 'fast'"):
        get_recipe("fast")
    with pytest.raises(GasError, match="unknown recipe setting"):
        get_recipe("short", momentum=0.9)


def test_resumed_trainer_continues_exactly(image_folder):
    data = load_image_folder(image_folder)
    recipe = TrainConfig(batch_size=8, mixup=0.2, ema_decay=0.9)
    bp = _tiny_blueprint()

    def trainer():
        from evaluators.training import build_model
        return Trainer(build_model(HIERA, bp, seed=1), data, recipe, epochs=3, seed=5)

    straight = trainer()
    for _ in range(3):
        straight.train_epoch()
    first = trainer()
    first.train_epoch()
    resumed = trainer()
    resumed.load_state_dict(first.state_dict())
    resumed.train_epoch(), resumed.train_epoch()
    strip = [_untimed(h) for h in straight.history]
    assert [_untimed(h) for h in resumed.history] == strip
    assert "val_top1_ema" in strip[-1] and resumed.step == straight.step == 6


def test_real_cifar_subset_loads_and_trains_a_few_steps(cifar_mini):
    data = load_image_folder(cifar_mini)
    assert (len(data.train_y), len(data.val_y), data.num_classes, data.img_size) == (4660, 932, 10, 32)
    result = train_and_evaluate(_tiny_blueprint(num_classes=10), data, space=HIERA, max_steps=2)
    assert 0.0 <= result.val_top1 <= 1.0


def _small_batches():
    return TrainConfig(batch_size=8)


def _untimed(record: dict) -> dict:
    """A history record without its wall-clock fields (the only ones that may differ between runs)."""
    return {k: v for k, v in record.items() if not k.endswith("_s")}


class _AlwaysClass(torch.nn.Module):
    """Logits that pick class `label` for every image."""

    def __init__(self, label: int, classes: int = 3):
        super().__init__()
        self.logits = torch.nn.functional.one_hot(torch.tensor(label), classes).float()

    def forward(self, x):
        return self.logits.expand(x.shape[0], -1)


def test_top1_hits_mark_each_right_image_and_average_to_top1(image_folder):
    from evaluators.training import evaluate_top1, top1_hits

    data = load_image_folder(image_folder)
    for label in range(3):
        hits = top1_hits(_AlwaysClass(label), data, batch_size=4)  # 9 images in batches of 4, 4, 1
        assert hits.dtype == torch.bool and torch.equal(hits, data.val_y == label)
    model = HIERA.build(_tiny_blueprint())
    assert top1_hits(model, data).float().mean().item() == pytest.approx(evaluate_top1(model, data))
