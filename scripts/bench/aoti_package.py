#!/usr/bin/env python3
"""PyTorch's own compiled answer for a TorchScript file: an AOTInductor package (.pt2) at the same version.

Usage: .venv/bin/python scripts/bench/aoti_package.py MODEL.pt SHAPE OUT.pt2
Converts MODEL (TorchScript, scripted or traced) to an ExportedProgram with torch._export.converter's
TS2EPConverter on a random input of SHAPE (e.g. 1x3x224x224; the package is compiled for that shape), then
compiles it with torch._inductor.aoti_compile_and_package (1 to 3 minutes for a ResNet-50 on 2 cores).
`mopt bench OUT.pt2 --input-shape x:SHAPE` times it like any artifact.
"""
import sys
import warnings

import torch
from torch._export.converter import TS2EPConverter

warnings.filterwarnings("ignore")


def main(path, shape, out):
    model = torch.jit.load(path).eval()
    x = torch.randn(*map(int, shape.split("x")))
    with torch.no_grad():
        exported = TS2EPConverter(model, (x,)).convert()
        # freezing: weights become constants Inductor can pre-pack for oneDNN (its CPU inference setting).
        torch._inductor.aoti_compile_and_package(exported, package_path=out, inductor_configs={"freezing": True})


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
