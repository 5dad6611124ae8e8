"""A small EfficientNet-style Fashion-MNIST CNN, trained, for measuring INT8 accuracy with SiLU.

Depthwise convolutions, 7 SiLU (5 nn.SiLU(inplace=True), 2 F.silu inside squeeze-excite blocks),
2 squeeze-excite blocks; 2 epochs of Adam on the train split (seed 0, 2 threads, ~2 min here),
test top-1 printed. Writes OUT (scripted, eval mode, not frozen). Then, for the figures in docs/benchmarks.md:
  mopt quantize OUT -o q.pt --calib DATA --calib-samples 512 --eval-data DATA \
    --normalize 0.2860,0.3530 --threads 1 --iterations 100      (DATA=/usr/share/datasets/fashion-mnist)
Usage: /usr/bin/python3 scripts/bench/silu_fashion_model.py OUT.pt
"""
import gzip
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
from inference_branch_fixtures import SqueezeExcite  # noqa: E402  torchvision's block, as in the silu_se fixture

DATA = "/usr/share/datasets/fashion-mnist/"
MEAN, STD = 0.2860, 0.3530


def idx(name, offset):
    with gzip.open(DATA + name) as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def images(name):
    x = torch.from_numpy(idx(name, 16).reshape(-1, 1, 28, 28).astype(np.float32) / 255)
    return (x - MEAN) / STD


def conv_bn_silu(cin, cout, k, stride=1, groups=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout),
                         nn.SiLU(inplace=True))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(conv_bn_silu(1, 32, 3), conv_bn_silu(32, 32, 3, 2, 32), SqueezeExcite(32, 8),
                                      conv_bn_silu(32, 64, 1), conv_bn_silu(64, 64, 3, 2, 64), SqueezeExcite(64, 16),
                                      conv_bn_silu(64, 128, 1))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


def main(out):
    torch.manual_seed(0)
    torch.set_num_threads(2)
    x, y = images("train-images-idx3-ubyte.gz"), torch.from_numpy(idx("train-labels-idx1-ubyte.gz", 8).astype(np.int64))
    xt, yt = images("t10k-images-idx3-ubyte.gz"), torch.from_numpy(idx("t10k-labels-idx1-ubyte.gz", 8).astype(np.int64))
    model, start = Net(), time.time()
    optimizer = torch.optim.Adam(model.parameters(), 2e-3)
    for _ in range(2):
        order = torch.randperm(len(x))
        for i in range(0, len(x), 128):
            batch = order[i:i + 128]
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x[batch]), y[batch]).backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        predicted = torch.cat([model(xt[i:i + 1000]).argmax(1) for i in range(0, len(xt), 1000)])
    print(f"trained in {time.time() - start:.0f}s, test top-1 {100 * (predicted == yt).float().mean():.2f}%")
    torch.jit.script(model).save(out)


if __name__ == "__main__":
    main(*sys.argv[1:])
