"""People detection: OpenCV's HOG people detector (in torch) finds the pedestrians of OpenCV's
street sample and nobody in empty scenes; Mask R-CNN loads a local state dict (never a
download), runs and fails clearly on a bad file; the config and the per-shot score."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from videothat.core.errors import ParameterError
from videothat.vision import hog
from videothat.vision.people import (
    Detections,
    PersonConfig,
    detect_people,
    load_maskrcnn,
    people_score,
    people_scores,
)

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def street() -> np.ndarray:
    """768x576 RGB: a static street camera, two pedestrians walking in the foreground."""
    return cv2.cvtColor(cv2.imread(str(DATA / "pedestrians_vtest.jpg")), cv2.COLOR_BGR2RGB)


def _empty_scenes() -> np.ndarray:
    """A smooth diagonal gradient and a flat grey, 480x640."""
    y, x = np.mgrid[0:480, 0:640]
    gradient = np.stack([x * 255 // 639, y * 255 // 479, (x + y) * 255 // 1118], -1).astype(np.uint8)
    return np.stack([gradient, np.full_like(gradient, 128)])


def test_opencv_finds_the_pedestrians(street, device):
    (found,) = detect_people(street[None], PersonConfig(), device)
    assert len(found) >= 1 and found.masks is None and found.size == (576, 768)
    assert found.boxes.dtype == np.float32 and found.boxes.shape == (len(found), 4)
    assert (found.boxes[:, 2:] > found.boxes[:, :2]).all() and (found.boxes >= 0).all()
    assert (found.boxes[:, [0, 2]] <= 768).all() and (found.boxes[:, [1, 3]] <= 576).all()
    assert (found.scores >= 0.5).all() and (np.diff(found.scores) <= 0).all()
    # the nearer walker (x ~ 230-300, y ~ 190-330 pixels) is among them, person-shaped (taller than wide)
    centres = (found.boxes[:, :2] + found.boxes[:, 2:]) / 2
    assert (np.abs(centres - [267, 262]).max(axis=1) < 30).any(), found.boxes
    assert ((found.boxes[:, 3] - found.boxes[:, 1]) > 1.5 * (found.boxes[:, 2] - found.boxes[:, 0])).all()
    assert people_score([found]) > 0.02


def test_opencv_finds_nobody_in_empty_scenes():
    for found in detect_people(_empty_scenes(), PersonConfig()):
        assert len(found) == 0 and found.boxes.shape == (0, 4) and people_score([found]) == 0.0


def test_a_stricter_score_keeps_fewer(street):
    loose, strict = (detect_people(street[None], PersonConfig(min_score=s))[0] for s in (0.5, 0.8))
    assert len(strict) <= len(loose) and (strict.scores >= 0.8).all()


def test_batched_equals_per_frame(street):
    gradient = cv2.resize(_empty_scenes()[0], (768, 576))
    frames = np.stack([street, street[:, ::-1], gradient])
    together = detect_people(frames, PersonConfig())
    for i, found in enumerate(together):
        (alone,) = detect_people(frames[i : i + 1], PersonConfig())
        np.testing.assert_allclose(found.boxes, alone.boxes, atol=1e-3)
        np.testing.assert_allclose(found.scores, alone.scores, atol=1e-5)
    mirrored = together[1].boxes[:, [2, 1, 0, 3]] * [-1, 1, -1, 1] + [768, 0, 768, 0]
    assert len(together[1]) >= 1 and np.abs(mirrored[:, None] - together[0].boxes[None]).max(-1).min() < 24


def test_small_frames_are_upscaled_and_people_found_at_the_source_scale(street):
    half = cv2.resize(street, (384, 288), interpolation=cv2.INTER_AREA)  # people ~70 pixels: under HOG's window
    (found,) = detect_people(half[None], PersonConfig())
    assert len(found) >= 1 and found.size == (288, 384)
    assert (found.boxes[:, [0, 2]] <= 384).all() and (found.boxes[:, [1, 3]] <= 288).all()
    assert detect_people(np.zeros((2, 24, 32, 3), np.uint8), PersonConfig())[0].boxes.shape == (0, 4)


@pytest.mark.skipif(not hasattr(cv2, "HOGDescriptor"), reason="this OpenCV has no HOGDescriptor (OpenCV 5)")
def test_hog_features_and_scores_are_opencvs(street):
    patch = np.ascontiguousarray(street[150:278, 220:284])
    want = cv2.HOGDescriptor().compute(patch).ravel()
    ours = hog.block_features(torch.from_numpy(patch).permute(2, 0, 1)[None].float())[0]
    np.testing.assert_allclose(ours.reshape(9, 4, 15, 7).permute(3, 2, 1, 0).reshape(-1).numpy(), want, atol=1e-3)
    detector = cv2.HOGDescriptor()
    detector.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
    rects, _ = detector.detectMultiScale(street, winStride=(8, 8), scale=1.05)
    boxes, _ = hog.detect(torch.from_numpy(street)[None])[0]
    want_boxes = np.array([[x, y, x + w, y + h] for x, y, w, h in rects], np.float32)
    assert len(boxes) == len(want_boxes)
    assert np.abs(boxes.numpy()[:, None] - want_boxes[None]).max(-1).min(1).max() <= 2


def test_group_windows_merges_chains_and_drops_lonely_windows():
    base = torch.tensor([10.0, 10.0, 74.0, 138.0])
    near = torch.stack([base, base + 2, base - 2, base + 4])  # one person, four windows
    lonely = torch.tensor([[300.0, 10.0, 364.0, 138.0], [302.0, 12.0, 366.0, 140.0]])  # two windows only
    boxes, scores = hog.group_windows(torch.cat([near, lonely]), torch.tensor([1.0, 2.0, 0.5, 0.2, 3.0, 3.0]))
    assert boxes.shape == (1, 4) and scores.tolist() == [2.0]
    torch.testing.assert_close(boxes[0], near.mean(0))


def test_people_score_is_the_mean_largest_person_fraction():
    def det(*boxes):
        arr = np.array(boxes, np.float32).reshape(-1, 4)
        return Detections(arr, np.full(len(arr), 0.9, np.float32), None, (100, 200))

    quarter = det([0, 0, 100, 50], [0, 0, 10, 10])  # 5000 of 20000 pixels, and a small one
    assert people_score([quarter]) == pytest.approx(0.25)
    assert people_score([quarter, det(), det()]) == pytest.approx(0.25 / 3)
    assert people_score([]) == 0.0


def test_people_scores_of_shots_in_one_batch(street):
    empty = np.stack([cv2.resize(e, (640, 576)) for e in _empty_scenes()])
    street_crop = np.ascontiguousarray(street[:, :640])
    scores = people_scores([street_crop[None], np.stack([empty[0], street_crop]), empty[:1]], PersonConfig())
    assert scores.shape == (3,) and scores[0] > 0 and scores[1] == pytest.approx(scores[0] / 2) and scores[2] == 0


@pytest.mark.parametrize(("kwargs", "word"), [
    ({"detector": "yolo"}, "detector='yolo'"),
    ({"detector": "maskrcnn"}, "needs weights"),
    ({"weights": "coco.pt"}, "weights='coco.pt' is for detector='maskrcnn'"),
    ({"min_score": 0.0}, "min_score=0.0"),
    ({"frames": 0}, "frames=0"),
    ({"size": 16}, "size=16"),
])
def test_config_names_the_bad_value(kwargs, word):
    with pytest.raises(ParameterError, match=word):
        PersonConfig(**kwargs)


# -- Mask R-CNN from a local file ------------------------------------------------------------------

@pytest.fixture(scope="module")
def maskrcnn_weights(tmp_path_factory) -> Path:
    """A randomly initialised maskrcnn_resnet50_fpn (91 classes) whose box head favours "person"
    (so it finds some), saved as a plain state dict."""
    from torchvision.models.detection import maskrcnn_resnet50_fpn

    torch.manual_seed(0)
    model = maskrcnn_resnet50_fpn(weights=None, weights_backbone=None, num_classes=91)
    state = model.state_dict()
    state["roi_heads.box_predictor.cls_score.bias"][1] = 12.0  # every proposal: person, p ~ 1
    path = tmp_path_factory.mktemp("maskrcnn") / "random_coco.pt"
    torch.save(state, path)
    return path


def test_maskrcnn_loads_local_weights_and_returns_masks(maskrcnn_weights, device):
    config = PersonConfig(detector="maskrcnn", weights=str(maskrcnn_weights), size=128, min_score=0.6)
    frames = np.random.default_rng(0).integers(0, 256, (2, 128, 96, 3), dtype=np.uint8)
    found = detect_people(frames, config, device)
    assert len(found) == 2
    for d in found:
        assert len(d) >= 1 and d.size == (128, 96)
        assert d.boxes.shape == (len(d), 4) and d.scores.shape == (len(d),) and (d.scores >= 0.6).all()
        assert d.masks is not None and d.masks.shape == (len(d), 128, 96) and d.masks.dtype == bool
        assert (d.boxes[:, [0, 2]] <= 96 + 1e-3).all() and (d.boxes[:, [1, 3]] <= 128 + 1e-3).all()
    assert next(load_maskrcnn(maskrcnn_weights, device, size=128).parameters()).device.type == device


def test_maskrcnn_reads_safetensors_and_checkpoints(maskrcnn_weights, tmp_path):
    from safetensors.torch import save_file

    state = torch.load(maskrcnn_weights, weights_only=True)
    save_file({k: v.contiguous() for k, v in state.items()}, str(tmp_path / "w.safetensors"))
    torch.save({"model": state, "epoch": 3}, tmp_path / "checkpoint.pth")
    for path in (tmp_path / "w.safetensors", tmp_path / "checkpoint.pth"):
        model = load_maskrcnn(path, size=128)
        torch.testing.assert_close(model.state_dict()["roi_heads.box_predictor.cls_score.bias"],
                                   state["roi_heads.box_predictor.cls_score.bias"])


def test_maskrcnn_errors_name_the_file(maskrcnn_weights, tmp_path):
    with pytest.raises(ParameterError, match="missing.pt: no such file.*never downloads"):
        load_maskrcnn(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a torch file")
    with pytest.raises(ParameterError, match="junk.pt: not a readable state dict"):
        load_maskrcnn(tmp_path / "junk.pt")
    torch.save([1, 2, 3], tmp_path / "list.pt")
    with pytest.raises(ParameterError, match="list.pt: holds a list, not a state dict"):
        load_maskrcnn(tmp_path / "list.pt")
    torch.save({"fc.weight": torch.zeros(2, 2)}, tmp_path / "other.pt")
    with pytest.raises(ParameterError, match="other.pt: not a maskrcnn_resnet50_fpn state dict.*missing"):
        load_maskrcnn(tmp_path / "other.pt")
    state = torch.load(maskrcnn_weights, weights_only=True)
    state["roi_heads.box_predictor.cls_score.weight"] = torch.zeros(2, 1024)  # a 2-class head
    torch.save(state, tmp_path / "two_classes.pt")
    with pytest.raises(ParameterError, match="two_classes.pt: tensors do not fit"):
        load_maskrcnn(tmp_path / "two_classes.pt")
