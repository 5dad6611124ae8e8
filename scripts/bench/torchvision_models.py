"""Scripted torchvision models for the benchmarks: OUT_DIR/NAME.pt for each NAME.

Random weights (seed 0), but BatchNorm statistics gathered from 4 random batches, so activations
have the scale a trained model's have: torchvision's fresh MobileNetV2 computes outputs of ~3e-9,
where rounding that does not matter in a trained model decides the result (and compile's
--keep-if-faster drops a pass whose outputs stop agreeing).
Usage: /usr/bin/python3 scripts/bench/torchvision_models.py OUT_DIR NAME...
"""
import sys

import torch
import torchvision


def main(out_dir, *names):
    torch.manual_seed(0)
    for name in names:
        model = getattr(torchvision.models, name)(weights=None).train()
        for bn in model.modules():
            if isinstance(bn, torch.nn.modules.batchnorm._BatchNorm):
                bn.momentum = None  # a plain average over the batches below
        with torch.no_grad():
            for _ in range(4):
                model(torch.randn(8, 3, 224, 224))
        torch.jit.script(model.eval()).save(f"{out_dir}/{name}.pt")


if __name__ == "__main__":
    main(*sys.argv[1:])
