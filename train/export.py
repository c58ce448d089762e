"""Export the encoders of a training checkpoint (e.g. of a run still going, or killed):

    python -m train.export RUN/checkpoints/last.safetensors OUT_DIR

writes ``OUT_DIR/audio_encoder.safetensors`` (and ``video_encoder.safetensors`` for
``soundtrack``), exactly as the run itself would at that step.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from train.checkpoint import load_checkpoint
from train.config import TrainConfig
from train.fit import build_objective


def export(checkpoint: Path, out: Path) -> list[Path]:
    """The encoders of ``checkpoint`` (its stored config rebuilds the models) saved under ``out``."""
    from safetensors.torch import safe_open

    with safe_open(str(checkpoint), framework="pt") as f:
        config = json.loads((f.metadata() or {})["config"])
    train = TrainConfig.from_dict(config["train"])
    objective = build_objective(config, train, torch.device("cpu"))
    step = load_checkpoint(checkpoint, objective.modules, None)
    out.mkdir(parents=True, exist_ok=True)
    return objective.export(out, step)


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    for path in export(Path(sys.argv[1]), Path(sys.argv[2])):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
