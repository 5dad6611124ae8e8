#include "lib/onnx/import/helpers.h"

#include <map>

#include "lib/errors.h"

namespace mopt::onnx_import {
namespace {

struct Helper {
  std::vector<std::string> dependencies;
  std::string source;
};

const std::map<std::string, Helper>& helpers() {
  static const std::map<std::string, Helper> table = {
      {"_ints", {{}, R"(
def _ints(self, t: Tensor) -> List[int]:
    values: List[int] = t.reshape([-1]).to(4).tolist()  # 4: torch.int64
    return values
)"}},
      {"_floats", {{}, R"(
def _floats(self, t: Tensor) -> List[float]:
    values: List[float] = t.reshape([-1]).to(7).tolist()  # 7: torch.float64
    return values
)"}},
      {"_shape_list", {{}, R"(
def _shape_list(self, x: Tensor, shape: List[int], allowzero: bool) -> List[int]:
    # ONNX Reshape: 0 copies the input's dim (unless allowzero), -1 is inferred.
    out: List[int] = []
    for i in range(len(shape)):
        d = shape[i]
        if d == 0 and not allowzero:
            d = x.size(i)
        out.append(d)
    return out
)"}},
      {"_broadcast_shape", {{}, R"(
def _broadcast_shape(self, a: List[int], b: List[int]) -> List[int]:
    n = max(len(a), len(b))
    out: List[int] = []
    for i in range(n):
        da = a[i - n + len(a)] if i - n + len(a) >= 0 else 1
        db = b[i - n + len(b)] if i - n + len(b) >= 0 else 1
        out.append(da if db == 1 else db)
    return out
)"}},
      {"_expand", {{"_broadcast_shape"}, R"(
def _expand(self, x: Tensor, shape: List[int]) -> Tensor:
    return x.expand(self._broadcast_shape(x.size(), shape))
)"}},
      {"_slice", {{}, R"(
def _slice(self, x: Tensor, starts: List[int], ends: List[int], axes: List[int], steps: List[int]) -> Tensor:
    # ONNX Slice: clamp starts/ends per axis; negative steps walk backwards (flip, then slice).
    for i in range(len(starts)):
        axis = axes[i]
        if axis < 0:
            axis += x.dim()
        n = x.size(axis)
        step = steps[i]
        start = starts[i]
        end = ends[i]
        if start < 0:
            start += n
        if end < 0:
            end += n
        if step > 0:
            start = min(max(start, 0), n)
            end = min(max(end, 0), n)
            if end < start:
                end = start
            x = x.slice(axis, start, end, step)
        else:
            start = max(min(start, n - 1), 0)
            end = min(max(end, -1), n - 1)
            if end > start:
                end = start
            # indices start, start+step, ... > end, counted on the flipped axis
            count = (start - end + (-step) - 1) // (-step)
            x = x.flip([axis]).slice(axis, n - 1 - start, n - 1 - start + count * (-step), -step)
    return x
)"}},
      {"_div", {{}, R"(
def _div(self, a: Tensor, b: Tensor) -> Tensor:
    if a.is_floating_point() or b.is_floating_point():
        return torch.div(a, b)
    return torch.div(a, b, rounding_mode='trunc')
)"}},
      {"_pad", {{}, R"(
def _pad(self, x: Tensor, pads: List[int], mode: str, value: float) -> Tensor:
    # ONNX pads are [x1_begin, x2_begin, ..., x1_end, x2_end, ...]; torch wants last dim first.
    n = len(pads) // 2
    torch_pads: List[int] = []
    for i in range(n - 1, -1, -1):
        torch_pads.append(pads[i])
        torch_pads.append(pads[i + n])
    # drop leading all-zero pairs (batch/channel dims), which reflect/replicate modes refuse
    while len(torch_pads) > 2 and torch_pads[-1] == 0 and torch_pads[-2] == 0:
        torch_pads = torch_pads[:-2]
    if mode == 'constant':
        return torch.constant_pad_nd(x, torch_pads, value)
    # reflect/edge/wrap kernels exist for 1-3 padded dims, on inputs with one or two dims more than
    # padded: fold other leading dims into one (or add one), and unfold after
    rank = x.dim()
    dims = len(torch_pads) // 2
    lead = rank - dims
    y = x if lead == 1 or lead == 2 else x.reshape([-1] + x.shape[lead:])
    if mode == 'wrap':  # opset 19
        y = torch._pad_circular(y, torch_pads)
    else:
        # reflect/edge kernels are floating-point only
        z = y if y.is_floating_point() else y.to(7)  # 7: torch.float64, exact for int32 and smaller
        reflect = mode == 'reflect'
        if dims == 1:
            z = torch.reflection_pad1d(z, torch_pads) if reflect else torch.replication_pad1d(z, torch_pads)
        elif dims == 2:
            z = torch.reflection_pad2d(z, torch_pads) if reflect else torch.replication_pad2d(z, torch_pads)
        else:
            z = torch.reflection_pad3d(z, torch_pads) if reflect else torch.replication_pad3d(z, torch_pads)
        y = z.to(x.dtype)
    if lead == 1 or lead == 2:
        return y
    return y.reshape(x.shape[:lead] + y.shape[y.dim() - dims:])
)"}},
      {"_center_crop_pad", {{}, R"(
def _center_crop_pad(self, x: Tensor, shape: List[int], axes: List[int]) -> Tensor:
    # CenterCropPad (opset 18): per axis, a centred window of a longer dim, zeros around a shorter one
    rank = x.dim()
    for i in range(len(axes)):
        axis = axes[i] if axes[i] >= 0 else axes[i] + rank
        size = x.size(axis)
        if size > shape[i]:
            x = x.narrow(axis, (size - shape[i]) // 2, shape[i])
        elif size < shape[i]:
            pads = [0] * (2 * (rank - axis))
            pads[2 * (rank - 1 - axis)] = (shape[i] - size) // 2
            pads[2 * (rank - 1 - axis) + 1] = shape[i] - size - (shape[i] - size) // 2
            x = torch.constant_pad_nd(x, pads, 0.0)
    return x
)"}},
      {"_col2im", {{}, R"(
def _col2im(self, x: Tensor, image: List[int], block: List[int], dilations: List[int], pads: List[int],
            strides: List[int]) -> Tensor:
    # Col2Im of any rank, pads as ONNX gives them (begins, then ends): each column entry is summed into
    # the image position its block and kernel offset name; entries that land in the padding are dropped
    rank = len(image)
    kernel = 1
    for size in block:
        kernel *= size
    counts: List[int] = []
    for d in range(rank):
        span = dilations[d] * (block[d] - 1) + 1
        counts.append((image[d] + pads[d] + pads[d + rank] - span) // strides[d] + 1)
    blocks = 1
    for n in counts:
        blocks *= n
    k = torch.arange(kernel).unsqueeze(1)
    b = torch.arange(blocks).unsqueeze(0)
    flat = torch.zeros([kernel, blocks], dtype=4)  # 4: torch.int64
    valid = torch.ones([kernel, blocks], dtype=11)  # 11: torch.bool
    place = 1
    for d in range(rank - 1, -1, -1):  # row-major: the last spatial dim varies fastest
        pos = (b % counts[d]) * strides[d] + (k % block[d]) * dilations[d] - pads[d]
        k = torch.div(k, block[d], rounding_mode='floor')
        b = torch.div(b, counts[d], rounding_mode='floor')
        valid = valid & (pos >= 0) & (pos < image[d])
        flat = flat + pos * place
        place *= image[d]
    flat = torch.where(valid, flat, torch.full_like(flat, place))  # one spare slot takes the padding
    channels = x.size(1) // kernel
    cols = x.reshape([x.size(0), channels, kernel * blocks])
    out = torch.zeros([x.size(0), channels, place + 1], dtype=x.dtype)
    out = out.index_add(2, flat.reshape([-1]), cols)
    shape = [x.size(0), channels]
    shape.extend(image)
    return out.narrow(2, 0, place).reshape(shape)
)"}},
      {"_dft", {{}, R"(
def _dft(self, x: Tensor, length: int, axis: int, inverse: bool, onesided: bool) -> Tensor:
    # ONNX DFT: the last dim holds a real value (1) or a (real, imaginary) pair (2); computed in
    # float64, as ONNX's reference does, then given back in the input's type
    wide = x.to(7)  # 7: torch.float64
    if x.size(-1) == 1:
        real = wide.squeeze(-1)
        signal = torch.complex(real, torch.zeros_like(real))
    else:
        signal = torch.view_as_complex(wide.contiguous())
    dim = axis if axis >= 0 else axis + x.dim()
    if inverse and onesided:  # a real inverse transform: half a spectrum in, a real signal (last dim 1) out
        n = length if length > 0 else 2 * (signal.size(dim) - 1)
        return torch.fft_irfft(signal, n, dim).unsqueeze(-1).to(x.dtype)
    n = length if length > 0 else signal.size(dim)
    if inverse:
        y = torch.fft_ifft(signal, n, dim)
    else:
        y = torch.fft_fft(signal, n, dim)
    if onesided:
        y = y.narrow(dim, 0, n // 2 + 1)
    return torch.view_as_real(y).to(x.dtype)
)"}},
      {"_stft", {{}, R"(
def _stft(self, x: Tensor, step: int, window: Optional[Tensor], length: int, onesided: bool) -> Tensor:
    # ONNX STFT: x [batch, samples, 1 (real) or 2 (real, imaginary)]; a frame of `length` samples every
    # `step` (no padding), times the window, through a DFT: [batch, frames, bins, 2]. float64 as _dft.
    # A 2-D x [batch, samples] is a real signal too: ONNX Runtime takes it (onnx-asr's feature extractors).
    wide = x.to(7)  # 7: torch.float64
    real = x.dim() == 2 or x.size(-1) == 1
    if real:
        signal = wide if x.dim() == 2 else wide.squeeze(-1)
    else:
        signal = torch.view_as_complex(wide.contiguous())
    frames = signal.unfold(1, length, step)
    if window is not None:
        frames = frames * window.to(7)
    if real and onesided:
        y = torch.fft_rfft(frames, length, -1)
    else:
        y = torch.fft_fft(frames, length, -1)
        if onesided:
            y = y.narrow(-1, 0, length // 2 + 1)
    return torch.view_as_real(y).to(x.dtype)
)"}},
      {"_string_broadcast", {{}, R"(
def _string_broadcast(self, a: List[int], b: List[int]) -> Tuple[List[int], List[int], List[int]]:
    # Two string tensors' shapes broadcast as NumPy's: for each result element, the position of
    # its string in a's and in b's row-major list, and the result's shape.
    na = 1
    for d in a:
        na *= d
    nb = 1
    for d in b:
        nb *= d
    grid = torch.broadcast_tensors(torch.arange(na).view(a), torch.arange(nb).view(b))
    ia: List[int] = grid[0].reshape(-1).tolist()
    ib: List[int] = grid[1].reshape(-1).tolist()
    return ia, ib, grid[0].size()
)"}},
      {"_string_equal", {{"_string_broadcast"}, R"(
def _string_equal(self, a: Tuple[List[str], List[int]], b: Tuple[List[str], List[int]]) -> Tensor:
    ia, ib, shape = self._string_broadcast(a[1], b[1])
    out: List[bool] = []
    for k in range(len(ia)):
        out.append(a[0][ia[k]] == b[0][ib[k]])
    return torch.tensor(out, dtype=11).view(shape)  # 11: torch.bool
)"}},
      {"_string_concat", {{"_string_broadcast"}, R"(
def _string_concat(self, a: Tuple[List[str], List[int]], b: Tuple[List[str], List[int]]) -> Tuple[List[str], List[int]]:
    ia, ib, shape = self._string_broadcast(a[1], b[1])
    out: List[str] = []
    for k in range(len(ia)):
        out.append(a[0][ia[k]] + b[0][ib[k]])
    return out, shape
)"}},
      {"_split_whitespace", {{}, R"(
def _split_whitespace(self, s: str, max_splits: int) -> List[str]:
    # Python's s.split(None, max_splits): runs of whitespace separate, none at either end; after
    # max_splits splits the rest is one part, its leading whitespace dropped (TorchScript's own
    # str.split ignores max_splits without a separator).
    parts: List[str] = []
    i = 0
    n = len(s)
    while i < n:
        while i < n and s[i].isspace():
            i += 1
        if i == n:
            break
        if max_splits >= 0 and len(parts) == max_splits:
            parts.append(s[i:])
            break
        j = i
        while j < n and not s[j].isspace():
            j += 1
        parts.append(s[i:j])
        i = j
    return parts
)"}},
      {"_string_split", {{"_split_whitespace"}, R"(
def _string_split(self, x: Tuple[List[str], List[int]], delimiter: Optional[str], max_splits: int) -> Tuple[Tuple[List[str], List[int]], Tensor]:
    # ONNX StringSplit: each string's parts, padded with "" to the longest count (the last dim of
    # the result), and the count of parts of each string.
    split: List[List[str]] = []
    counts: List[int] = []
    for s in x[0]:
        if delimiter is None:
            parts = self._split_whitespace(s, max_splits)
        else:
            parts = s.split(delimiter, max_splits)
        split.append(parts)
        counts.append(len(parts))
    width = 0
    for c in counts:
        width = max(width, c)
    out: List[str] = []
    for parts in split:
        out.extend(parts)
        for k in range(width - len(parts)):
            out.append("")
    return (out, x[1] + [width]), torch.tensor(counts, dtype=4).view(x[1])  # 4: torch.int64
)"}},
      {"_string_normalize", {{}, R"(
def _string_normalize(self, x: Tuple[List[str], List[int]], case_change: int, case_sensitive: bool, stopwords: List[str]) -> Tuple[List[str], List[int]]:
    # ONNX StringNormalizer: the strings equal to a stopword (in any case unless case_sensitive) are
    # dropped, the rest changed to lower (1) or upper (2) case (ASCII letters, as TorchScript's str
    # methods do); [C] or [1, C] in, [C'] or [1, C'] out, and [""] when nothing is left.
    stops: List[str] = []
    for w in stopwords:
        stops.append(w if case_sensitive else w.lower())
    out: List[str] = []
    for s in x[0]:
        key = s if case_sensitive else s.lower()
        if key in stops:
            continue
        if case_change == 1:
            s = s.lower()
        elif case_change == 2:
            s = s.upper()
        out.append(s)
    if len(out) == 0:
        out.append("")
    shape = [len(out)] if len(x[1]) == 1 else [1, len(out)]
    return out, shape
)"}},
      {"_pads_of_axes", {{}, R"(
def _pads_of_axes(self, x: Tensor, pads: List[int], axes: List[int]) -> List[int]:
    # Pad 18: pads name only the listed axes; every other axis gets none.
    rank = x.dim()
    n = len(axes)
    full = [0] * (2 * rank)
    for i in range(n):
        axis = axes[i] if axes[i] >= 0 else axes[i] + rank
        full[axis] = pads[i]
        full[axis + rank] = pads[i + n]
    return full
)"}},
      {"_prod", {{}, R"(
def _prod(self, x: Tensor, dims: List[int], keepdim: bool) -> Tensor:
    # torch.prod reduces one dim at a time: highest first, so lower indices stay valid.
    axes: List[int] = []
    for d in dims:
        axes.append(d if d >= 0 else d + x.dim())
    axes.sort()
    for i in range(len(axes) - 1, -1, -1):
        x = torch.prod(x, axes[i], keepdim)
    return x
)"}},
      {"_gates", {{}, R"(
def _gates(self, t: Tensor, order: List[int]) -> Tensor:
    # ONNX gate blocks -> LibTorch's order (recurrent weights given at run time)
    chunks = t.chunk(len(order), 0)
    return torch.cat([chunks[i] for i in order], 0)
)"}},
      {"_squeeze", {{}, R"(
def _squeeze(self, x: Tensor, axes: List[int]) -> Tensor:
    # run-time axes: squeeze the highest first so the others keep their index
    normalized: List[int] = []
    for a in axes:
        normalized.append(a + x.dim() if a < 0 else a)
    normalized.sort()
    for i in range(len(normalized) - 1, -1, -1):
        x = torch.squeeze(x, normalized[i])
    return x
)"}},
      {"_unsqueeze", {{}, R"(
def _unsqueeze(self, x: Tensor, axes: List[int]) -> Tensor:
    # run-time axes, relative to the output rank: insert the lowest first
    rank = x.dim() + len(axes)
    normalized: List[int] = []
    for a in axes:
        normalized.append(a + rank if a < 0 else a)
    normalized.sort()
    for a in normalized:
        x = torch.unsqueeze(x, a)
    return x
)"}},
      {"_resize_nearest", {{}, R"(
def _resize_nearest(self, x: Tensor, sizes: Optional[List[int]], scales: Optional[List[float]], transform: str, rounding: str) -> Tensor:
    # ONNX nearest Resize: per spatial dim, the source index of each output index, as the spec computes it.
    for d in range(2, x.dim()):
        n_in = x.size(d)
        if sizes is not None:
            n_out = sizes[d - 2]
            scale = float(n_out) / float(n_in)
        elif scales is not None:
            scale = scales[d - 2]
            n_out = int(float(n_in) * scale)
        else:
            n_out = n_in
            scale = 1.0
        i = torch.arange(n_out, dtype=7)  # 7: torch.float64
        if transform == 'half_pixel':
            src = (i + 0.5) / scale - 0.5
        elif transform == 'pytorch_half_pixel':
            src = (i + 0.5) / scale - 0.5 if n_out > 1 else torch.zeros_like(i)
        elif transform == 'align_corners':
            src = i * (n_in - 1) / (n_out - 1) if n_out > 1 else torch.zeros_like(i)
        elif transform == 'tf_half_pixel_for_nn':
            src = (i + 0.5) / scale
        else:
            src = i / scale
        if rounding == 'round_prefer_floor':
            index = torch.ceil(src - 0.5)
        elif rounding == 'round_prefer_ceil':
            index = torch.floor(src + 0.5)
        elif rounding == 'floor':
            index = torch.floor(src)
        else:
            index = torch.ceil(src)
        x = torch.index_select(x, d, torch.clamp(index, 0, n_in - 1).to(4))
    return x
)"}},
      {"_reduce_extreme", {{}, R"(
def _reduce_extreme(self, x: Tensor, dims: List[int], keep: bool, largest: bool) -> Tensor:
    # ONNX ReduceMax/ReduceMin (18+): an empty set reduces to the lowest (max) or highest (min) value of the type
    rank = x.dim()
    reduced: List[int] = []
    for d in dims:
        reduced.append(d + rank if d < 0 else d)
    empty = False
    for d in reduced:
        if x.size(d) == 0:
            empty = True
    if not empty:
        return torch.amax(x, reduced, keep) if largest else torch.amin(x, reduced, keep)
    shape: List[int] = []
    for d in range(rank):
        if d not in reduced:
            shape.append(x.size(d))
        elif keep:
            shape.append(1)
    if x.dtype == 11:  # torch.bool
        return torch.full(shape, not largest, dtype=11)
    if x.is_floating_point():
        return torch.full(shape, -float('inf') if largest else float('inf'), dtype=x.dtype)
    lowest = {0: 0, 1: -128, 2: -32768, 3: -2147483648, 4: -9223372036854775807 - 1}
    highest = {0: 255, 1: 127, 2: 32767, 3: 2147483647, 4: 9223372036854775807}
    return torch.full(shape, lowest[x.dtype] if largest else highest[x.dtype], dtype=x.dtype)
)"}},
      {"_resize_coefficients", {{}, R"(
def _resize_coefficients(self, ratio: Tensor, scale: float, mode: str, rounding: str, a: float, antialias: bool) -> Tensor:
    # [n_out] ratios in (0, 1] -> [n_out, taps] weights, as onnx.reference's Resize computes them
    if mode == 'nearest':
        whole = torch.eq(ratio, 1.0)  # the source coordinate is an integer: that pixel
        if rounding == 'round_prefer_floor':
            right = torch.gt(ratio, 0.5)
        elif rounding == 'round_prefer_ceil':
            right = torch.ge(ratio, 0.5)
        elif rounding == 'floor':
            right = torch.zeros_like(whole)
        else:
            right = torch.ones_like(whole)
        pick = torch.logical_or(right, whole).to(7)
        return torch.stack([1.0 - pick, pick], 1)
    if not antialias:
        if mode == 'linear':
            return torch.stack([1.0 - ratio, ratio], 1)
        r1 = ratio + 1.0
        q = 1.0 - ratio
        q1 = q + 1.0
        return torch.stack([((a * r1 - 5.0 * a) * r1 + 8.0 * a) * r1 - 4.0 * a,
                            ((a + 2.0) * ratio - (a + 3.0)) * ratio * ratio + 1.0,
                            ((a + 2.0) * q - (a + 3.0)) * q * q + 1.0,
                            ((a * q1 - 5.0 * a) * q1 + 8.0 * a) * q1 - 4.0 * a], 1)
    # antialias: the kernel stretched by 1/scale when shrinking, normalized
    s = min(scale, 1.0)
    reach = -1.0 / s if mode == 'linear' else -2.0 / s
    start = int(reach)  # floor of a negative number: int() truncates towards zero
    if float(start) > reach:
        start -= 1
    start += 1
    taps = 2 - 2 * start
    offsets = torch.arange(start, start + taps, dtype=7)
    d = torch.abs((offsets.unsqueeze(0) - ratio.unsqueeze(1)) * s)
    if mode == 'linear':
        w = torch.clamp(1.0 - d, 0.0, 1.0)
    else:
        near = ((a + 2.0) * d - (a + 3.0)) * d * d + 1.0
        far = ((a * d - 5.0 * a) * d + 8.0 * a) * d - 4.0 * a
        w = torch.where(torch.le(d, 1.0), near, torch.where(torch.lt(d, 2.0), far, torch.zeros_like(d)))
    return w / torch.sum(w, 1, keepdim=True)
)"}},
      {"_resize_axis", {{"_resize_coefficients"}, R"(
def _resize_axis(self, x: Tensor, axis: int, scale: float, n_out: int, roi_start: float, roi_end: float, mode: str,
                 transform: str, rounding: str, a: float, exclude_outside: bool, extrapolation: float, antialias: bool) -> Tensor:
    # one axis of onnx.reference's separable Resize: source coordinate, taps, gather, weighted sum
    n_in = x.size(axis)
    width = scale * float(n_in)
    y = torch.arange(n_out, dtype=7)
    extrapolated: Optional[Tensor] = None
    if transform == 'align_corners':
        src = torch.zeros_like(y) if width == 1.0 else y * float(n_in - 1) / (width - 1.0)
    elif transform == 'asymmetric':
        src = y / scale
    elif transform == 'tf_crop_and_resize':
        if width == 1.0:
            src = torch.full([n_out], (roi_end - roi_start) * float(n_in - 1) / 2.0, dtype=7)
        else:
            src = y * (roi_end - roi_start) * float(n_in - 1) / (width - 1.0)
        src = src + roi_start * float(n_in - 1)
        extrapolated = torch.logical_or(torch.lt(src, 0.0), torch.gt(src, float(n_in - 1)))
    elif transform == 'pytorch_half_pixel':
        src = torch.full([n_out], -0.5, dtype=7) if width == 1.0 else (y + 0.5) / scale - 0.5
    elif transform == 'half_pixel_symmetric':
        offset = float(n_in) / 2.0 * (1.0 - float(n_out) / width)
        src = offset + (y + 0.5) / scale - 0.5
    elif transform == 'tf_half_pixel_for_nn':
        src = (y + 0.5) / scale
    else:
        src = (y + 0.5) / scale - 0.5
    below = torch.floor(src)
    ratio = torch.where(torch.eq(src, below), torch.ones_like(src), src - below)
    w = self._resize_coefficients(ratio, scale, mode, rounding, a, antialias)
    taps = w.size(1)
    pad = (taps + 1) // 2
    padded = src + float(pad)
    p = torch.floor(padded)
    frac = padded - p
    if taps % 2 == 0:
        start = torch.where(torch.eq(frac, 0.0), p - float(taps // 2), p - float(taps // 2) + 1.0)
    else:
        base = float(-((taps - 1) // 2))
        start = torch.where(torch.le(frac, 0.5), p + base, p + base + 1.0)
    index = start.to(4).unsqueeze(1) + torch.arange(taps, dtype=4).unsqueeze(0) - pad
    if exclude_outside:
        w = w * torch.logical_and(torch.ge(index, 0), torch.lt(index, n_in)).to(7)
        total = torch.sum(w, 1, keepdim=True)
        w = w / torch.where(torch.eq(total, 0.0), torch.ones_like(total), total)
    index = torch.clamp(index, 0, n_in - 1)
    sizes = x.size()
    gathered = torch.index_select(x, axis, index.reshape([-1])).reshape(sizes[:axis] + [n_out, taps] + sizes[axis + 1:])
    result = torch.sum(gathered * w.reshape([1] * axis + [n_out, taps] + [1] * (x.dim() - axis - 1)), axis + 1)
    if extrapolated is not None:
        mask = extrapolated.reshape([1] * axis + [n_out] + [1] * (x.dim() - axis - 1))
        result = torch.where(mask, torch.full_like(result, extrapolation), result)
    return result
)"}},
      {"_resize_reference", {{"_resize_axis"}, R"(
def _resize_reference(self, x: Tensor, sizes: Optional[List[int]], scales: Optional[List[float]], axes: List[int],
                      roi: Optional[List[float]], mode: str, transform: str, rounding: str, a: float,
                      exclude_outside: bool, extrapolation: float, antialias: bool, policy: str) -> Tensor:
    # ONNX Resize as onnx.reference computes it: one axis at a time, in float64
    rank = x.dim()
    resized: List[int] = []
    if len(axes) == 0:
        for d in range(rank):
            resized.append(d)
    else:
        for d in axes:
            resized.append(d + rank if d < 0 else d)
    factor: List[float] = [1.0] * rank
    out: List[int] = []
    for d in range(rank):
        out.append(x.size(d))
    if sizes is not None:
        for i, d in enumerate(resized):
            out[d] = sizes[i]
        for d in range(rank):
            factor[d] = float(out[d]) / float(x.size(d))
        if policy != 'stretch':
            pick = factor[resized[0]]
            for d in resized:
                pick = min(pick, factor[d]) if policy == 'not_larger' else max(pick, factor[d])
            for d in resized:
                factor[d] = pick
                out[d] = int(pick * float(x.size(d)) + 0.5)
    elif scales is not None:
        for i, d in enumerate(resized):
            factor[d] = scales[i]
            out[d] = int(scales[i] * float(x.size(d)))
    starts: List[float] = [0.0] * rank
    ends: List[float] = [1.0] * rank
    if roi is not None and len(roi) > 0:
        for i, d in enumerate(resized):
            starts[d] = roi[i]
            ends[d] = roi[len(resized) + i]
    result = x.to(7)
    for d in resized:
        if abs(factor[d] - 1.0) < 1e-9 and out[d] == result.size(d) and starts[d] == 0.0 and ends[d] == 1.0:
            continue
        result = self._resize_axis(result, d, factor[d], out[d], starts[d], ends[d], mode, transform, rounding, a,
                                   exclude_outside, extrapolation, antialias)
    return result.to(x.dtype)
)"}},
      {"_nd_offsets", {{}, R"(
def _nd_offsets(self, indices: Tensor, dims: List[int]) -> Tensor:
    # rows of indices.shape[-1] coordinates into `dims` -> row-major linear offsets (negatives wrap)
    k = len(dims)
    idx = indices.reshape([-1, k]).to(4)  # 4: torch.int64
    linear = torch.zeros([idx.size(0)], dtype=4)
    for i in range(k):
        column = idx.select(1, i)
        column = torch.where(torch.lt(column, 0), torch.add(column, dims[i]), column)
        linear = torch.add(torch.mul(linear, dims[i]), column)
    return linear
)"}},
      {"_scatter_nd", {{"_nd_offsets"}, R"(
def _scatter_nd(self, data: Tensor, indices: Tensor, updates: Tensor, reduction: str) -> Tensor:
    # ONNX ScatterND: data's first k dims flattened into one, each index row addresses one slice
    k = indices.size(-1)
    shape = data.size()
    n = 1
    for i in range(k):
        n *= shape[i]
    linear = self._nd_offsets(indices, shape[:k])
    flat = data.reshape([n] + shape[k:])
    source = updates.reshape([linear.size(0)] + shape[k:])
    if reduction == 'add':
        flat = torch.index_add(flat, 0, linear, source)
    elif reduction == 'mul':
        flat = torch.index_reduce(flat, 0, linear, source, 'prod')
    elif reduction == 'max' or reduction == 'min':
        flat = torch.index_reduce(flat, 0, linear, source, 'a' + reduction)
    else:
        flat = torch.index_copy(flat, 0, linear, source)
    return flat.reshape(shape)
)"}},
      {"_gather_nd", {{"_nd_offsets"}, R"(
def _gather_nd(self, data: Tensor, indices: Tensor, batch_dims: int) -> Tensor:
    # ONNX GatherND: per batch entry, each index row picks a slice of the next k dims
    k = indices.size(-1)
    shape = data.size()
    b = 1
    for i in range(batch_dims):
        b *= shape[i]
    n = 1
    for i in range(batch_dims, batch_dims + k):
        n *= shape[i]
    rest = shape[batch_dims + k:]
    linear = self._nd_offsets(indices, shape[batch_dims:batch_dims + k]).reshape([b, -1])
    linear = torch.add(linear, torch.mul(torch.arange(b, dtype=4).unsqueeze(1), n))
    out = torch.index_select(data.reshape([b * n] + rest), 0, linear.reshape([-1]))
    return out.reshape(indices.size()[:-1] + rest)
)"}},
      {"_reverse_sequence", {{}, R"(
def _reverse_sequence(self, x: Tensor, lengths: Tensor, time_axis: int, batch_axis: int) -> Tensor:
    # ONNX ReverseSequence: the first lengths[b] steps of batch entry b reversed, the rest kept
    t = torch.arange(x.size(time_axis), dtype=4).unsqueeze(1)
    n = lengths.to(4).unsqueeze(0)
    index = torch.where(torch.lt(t, n), torch.sub(torch.sub(n, 1), t), t)  # [time, batch]
    if time_axis > batch_axis:
        index = index.t()
    shape: List[int] = index.size()
    for _ in range(x.dim() - 2):
        shape.append(1)
    return torch.gather(x, time_axis, index.reshape(shape).expand(x.size()))
)"}},
      {"_unique", {{}, R"(
def _unique(self, x: Tensor, axis: Optional[int], ascending: bool) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    # ONNX Unique: values (sorted, or in order of first occurrence), first indices, inverse, counts
    dim = 0
    if axis is None:
        flat = x.reshape([-1])
        values, inverse, counts = torch._unique2(flat, True, True, True)
    else:
        dim = axis + x.dim() if axis < 0 else axis
        values, inverse, counts = torch.unique_dim(x, dim, True, True, True)
    # first occurrence of each value: positions grouped by value (stable sort keeps them ascending)
    positions = torch.sort(inverse.reshape([-1]), stable=True)[1]
    first = torch.index_select(positions, 0, torch.sub(torch.cumsum(counts, 0), counts))
    if not ascending:
        order = torch.argsort(first)
        rank = torch.empty_like(order).scatter(0, order, torch.arange(order.size(0), dtype=4))
        values = torch.index_select(values, dim, order)
        first = torch.index_select(first, 0, order)
        counts = torch.index_select(counts, 0, order)
        inverse = torch.index_select(rank, 0, inverse.reshape([-1]))
    return values, first, inverse.reshape([-1]), counts
)"}},
      {"_along_axis", {{}, R"(
def _along_axis(self, t: Tensor, x: Tensor, axis: int) -> Tensor:
    # a per-axis (1-D) quantization parameter shaped to broadcast along `axis` of x
    if t.dim() != 1 or x.dim() == 0 or t.numel() == 1:
        return t
    shape = [1 for _ in range(x.dim())]
    shape[axis + x.dim() if axis < 0 else axis] = -1
    return t.reshape(shape)
)"}},
      {"_window", {{}, R"(
def _window(self, size: int, periodic: bool, a0: float, a1: float, a2: float) -> Tensor:
    # float32 throughout, as the ONNX window functions' bodies compute
    n = float(size) if periodic else float(size) - 1.0
    increment = torch.div(torch.tensor(6.2831854820251465, dtype=6), n)  # 6: torch.float32; tau
    angle = torch.mul(torch.arange(0, size, dtype=6), increment)
    a1_part = torch.mul(torch.cos(angle), torch.tensor(a1, dtype=6))
    a2_part = torch.mul(torch.cos(torch.mul(angle, 2.0)), torch.tensor(a2, dtype=6))
    return torch.add(torch.sub(torch.tensor(a0, dtype=6), a1_part), a2_part)
)"}},
      {"_lrn", {{}, R"(
def _lrn(self, x: Tensor, size: int, alpha: float, beta: float, k: float) -> Tensor:
    # ONNX LRN: x / (k + alpha / size * sum of squares over `size` neighbouring channels) ** beta
    squares = torch.mul(x, x).reshape([x.size(0), 1, x.size(1), -1])
    squares = torch.constant_pad_nd(squares, [0, 0, size // 2, (size - 1) // 2])
    mean = torch.avg_pool2d(squares, [size, 1], [1, 1]).reshape(x.size())
    return torch.div(x, torch.pow(torch.add(torch.mul(mean, alpha), k), beta))
)"}},
  };
  return table;
}

const Helper& find(const std::string& name) {
  auto it = helpers().find(name);
  if (it == helpers().end()) throw runtime_failure("internal error: unknown import helper " + name);
  return it->second;
}

}  // namespace

const std::string& helper_source(const std::string& name) { return find(name).source; }

std::vector<std::string> helper_dependencies(const std::string& name) { return find(name).dependencies; }

std::vector<std::string> helper_names() {
  std::vector<std::string> names;
  for (const auto& [name, helper] : helpers()) names.push_back(name);
  return names;
}

}  // namespace mopt::onnx_import
