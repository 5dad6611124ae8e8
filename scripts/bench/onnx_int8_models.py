#!/usr/bin/env python3
"""Larger models for scripts/bench/onnx_int8.sh, exported exactly like the ONNX import fixtures
(scripts/fixtures/onnx_import_fixtures.py: NAME.onnx, its TorchScript twin NAME.pt, NAME.input.npy):
ResNet-50, a 2-layer LSTM with 256 hidden units (the issue's LibTorch-vs-ORT LSTM case) and a
BERT-mini-sized encoder (4 layers, d=256, 4 heads, ff 1024, 128 tokens): the transformer fixture
(d=64, 16 tokens) is too small for dynamic INT8 to show what it does on a real encoder.

Usage: /usr/bin/python3 scripts/bench/onnx_int8_models.py OUT_DIR
"""
import os
import sys

import torch
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "fixtures"))
from onnx_import_fixtures import SequenceOutput, export  # noqa: E402


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(0)
    export("resnet50", torchvision.models.resnet50(), (2, 3, 224, 224), 13, {0: "N"}, out_dir)
    lstm = SequenceOutput(torch.nn.LSTM(128, 256, num_layers=2, batch_first=True))
    export("lstm256", lstm, (2, 32, 128), 13, {0: "N", 1: "T"}, out_dir)
    layer = torch.nn.TransformerEncoderLayer(256, 4, 1024, batch_first=True)
    export("bert_mini", torch.nn.TransformerEncoder(layer, 4), (2, 128, 256), 14, {0: "N", 1: "T"}, out_dir)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
