"""A route measured for issue 14, section 2, and dropped: LibTorch 1.13's mkldnn_prepacked convolution.

mkldnn_prepacked::conv2d_prepack/conv2d_run pack the weights once, take plain NHWC (channels-last)
activations and can fuse a ReLU. This times (1) single convolutions of MobileNetV2/ResNet shapes,
prepacked on NHWC input against the blocked oneDNN form mopt's compiled files use (input already in
the blocked layout a preceding oneDNN conv leaves), and (2) torchvision ResNet-18 (random weights,
BatchNorm folded) with every conv prepacked (ReLU fused) against PyTorch's in-memory
optimize_for_inference. 1 thread, one python3 process, alternating blocks; medians.
It also tries to save and reload a prepacked op context (Debian's LibTorch 1.13 cannot reload it).
Usage: /usr/bin/python3 scripts/bench/prepacked_conv_route.py
"""
import io
import os
import statistics
import time

os.environ["OPENBLAS_NUM_THREADS"] = "1"
import torch  # noqa: E402
import torchvision  # noqa: E402
from torch.nn.utils.fusion import fuse_conv_bn_eval  # noqa: E402

prepack = torch.ops.mkldnn_prepacked.conv2d_prepack
run = torch.ops.mkldnn_prepacked.conv2d_run


def median_us(f, x, calls=300):
    for _ in range(20):
        f(x)
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        f(x)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def single_convolutions():
    total_blocked = total_prepacked = 0.0
    # (in, out, kernel, stride, groups, size)
    for cin, cout, k, s, g, hw in [(32, 32, 3, 1, 32, 112), (16, 96, 1, 1, 1, 112), (96, 96, 3, 2, 96, 112),
                                   (96, 24, 1, 1, 1, 56), (144, 144, 3, 1, 144, 56), (64, 64, 3, 1, 1, 56),
                                   (384, 64, 1, 1, 1, 14), (960, 160, 1, 1, 1, 7), (160, 960, 1, 1, 1, 7)]:
        w, b = torch.randn(cout, cin // g, k, k), torch.randn(cout)
        pad, stride, dil = [k // 2] * 2, [s, s], [1, 1]
        context = prepack(w, b, stride, pad, dil, g, [1, cin, hw, hw], "none")
        x = torch.randn(1, cin, hw, hw)
        identity = torch._C._nn.mkldnn_reorder_conv2d_weight(torch.eye(cin).reshape(cin, cin, 1, 1).to_mkldnn(),
                                                             [0, 0], [1, 1], [1, 1], 1)
        blocked_x = torch.mkldnn_convolution(x.to_mkldnn(), identity, None, [0, 0], [1, 1], [1, 1], 1)
        wm = torch._C._nn.mkldnn_reorder_conv2d_weight(w.to_mkldnn(), pad, stride, dil, g)
        bm = b.to_mkldnn()
        blocked = median_us(lambda t: torch.mkldnn_convolution(t, wm, bm, pad, stride, dil, g), blocked_x)
        prepacked = median_us(lambda t: run(t, context), x.contiguous(memory_format=torch.channels_last))
        total_blocked += blocked
        total_prepacked += prepacked
        print(f"conv {cin}->{cout} k{k} s{s} groups {g} at {hw}x{hw}: blocked oneDNN {blocked:.0f} us, "
              f"prepacked NHWC {prepacked:.0f} us")
    print(f"sum: blocked {total_blocked:.0f} us, prepacked {total_prepacked:.0f} us "
          f"(prepacked / blocked {total_prepacked / total_blocked:.2f})")


class Prepacked(torch.nn.Module):
    def __init__(self, conv, bn, relu, size):
        super().__init__()
        f = fuse_conv_bn_eval(conv, bn)
        self.context = prepack(f.weight.detach(), f.bias.detach(), list(conv.stride), list(conv.padding),
                               list(conv.dilation), conv.groups, [1, conv.in_channels, size, size],
                               "relu" if relu else "none")

    def forward(self, x):
        return run(x, self.context)


class Block(torch.nn.Module):
    def __init__(self, block, size):
        super().__init__()
        self.c1 = Prepacked(block.conv1, block.bn1, True, size)
        self.c2 = Prepacked(block.conv2, block.bn2, False, size // block.conv1.stride[0])
        self.down = Prepacked(block.downsample[0], block.downsample[1], False, size) if block.downsample else None

    def forward(self, x):
        identity = self.down(x) if self.down is not None else x
        return torch.relu_(self.c2(self.c1(x)).add_(identity))


class PrepackedResNet(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.stem, self.pool, self.fc = Prepacked(m.conv1, m.bn1, True, 224), m.maxpool, m.fc
        blocks, size = [], 56
        for layer in [m.layer1, m.layer2, m.layer3, m.layer4]:
            for block in layer:
                blocks.append(Block(block, size))
                size //= block.conv1.stride[0]
        self.blocks = torch.nn.Sequential(*blocks)

    def forward(self, x):
        x = self.blocks(self.pool(self.stem(x.contiguous(memory_format=torch.channels_last))))
        return self.fc(torch.flatten(torch.nn.functional.adaptive_avg_pool2d(x, 1), 1))


def resnet18():
    m = torchvision.models.resnet18(weights=None).eval()
    models = {"optimize_for_inference": torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.script(m).eval())),
              "prepacked": torch.jit.script(PrepackedResNet(m)).eval()}
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        print(f"ResNet-18 prepacked vs eager: max abs diff {(models['prepacked'](x) - m(x)).abs().max().item():.2e}")
        blocks = {name: [] for name in models}
        for model in models.values():
            for _ in range(20):
                model(x)
        for _ in range(10):
            for name, model in models.items():
                blocks[name].append(median_us(model, x, calls=10) / 1e3)
    print("ResNet-18: " + ", ".join(f"{name} {statistics.median(v):.2f} ms" for name, v in blocks.items()))
    return models["prepacked"]


def reload(model):
    buffer = io.BytesIO()
    torch.jit.save(model, buffer)
    buffer.seek(0)
    try:
        torch.jit.load(buffer)
        print("the prepacked model saves and reloads")
    except RuntimeError as e:
        print(f"the prepacked model saves but does not reload: {str(e).splitlines()[0]}")


if __name__ == "__main__":
    torch.set_num_threads(1)
    single_convolutions()
    reload(resnet18())
