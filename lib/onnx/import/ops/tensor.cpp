// Tensor selection and assembly: Concat, Split, Slice, Gather (a constant 2-D float table read by
// run-time indices becomes an Embedding layer), GatherElements, Pad, TopK, ArgMax/ArgMin, CumSum,
// NonZero, DepthToSpace, SpaceToDepth, Trilu, OneHot, EyeLike, ScatterElements (and Scatter), ScatterND,
// GatherND, Compress, ReverseSequence, Unique.
#include <fmt/format.h>

#include <algorithm>

#include "lib/onnx/import/converter_table.h"

namespace mopt::onnx_import {
namespace {

void convert_concat(NodeContext& c) {
  // Shape lists join as TorchScript lists.
  std::vector<std::string> lists;
  bool all_ints = c.attr_int("axis", 0) == 0;
  for (int i = 0; i < c.input_count() && all_ints; ++i) {
    auto form = c.ints_form(i);
    all_ints = form.has_value();
    if (form) lists.push_back(*form);
  }
  bool any_runtime = false;
  for (int i = 0; i < c.input_count(); ++i) any_runtime |= !c.constant(i);
  if (all_ints && any_runtime && !lists.empty()) {
    c.assign_ints(0, fmt::format("{}", fmt::join(lists, " + ")));
    return;
  }
  std::vector<std::string> parts;
  for (int i = 0; i < c.input_count(); ++i) {
    if (c.has_input(i)) parts.push_back(c.input(i));
  }
  c.assign(0, fmt::format("torch.cat([{}], {})", fmt::join(parts, ", "), c.attr_int("axis", 0)));
}

void convert_split(NodeContext& c) {
  auto x = c.input(0);
  auto axis = c.attr_int("axis", 0);
  std::optional<std::vector<int64_t>> sizes;
  if (c.opset() >= 13) {
    if (c.has_input(1)) sizes = c.constant_ints(1);
  } else {
    sizes = c.attr_ints("split");
  }
  auto parts = c.temp();
  if (c.opset() >= 13 && c.has_input(1) && !sizes) {
    c.emit(fmt::format("{} = torch.split({}, {}, {})", parts, x, c.int_list_input(1), axis));  // run-time sizes
  } else if (sizes && !sizes->empty()) {
    c.emit(fmt::format("{} = torch.split({}, {}, {})", parts, x, int_list_literal(*sizes), axis));
  } else if (c.opset() >= 18) {
    // num_outputs parts of ceil(n / num_outputs), the last one smaller when n does not divide.
    auto count = c.attr_int("num_outputs", c.output_count());
    c.emit(fmt::format("{0} = torch.split({1}, ({1}.size({2}) + {3} - 1) // {3}, {2})", parts, x, axis, count));
  } else {
    c.emit(fmt::format("{} = torch.tensor_split({}, {}, {})", parts, x, c.output_count(), axis));
  }
  for (int i = 0; i < c.output_count(); ++i) {
    if (c.output_used(i)) c.assign(i, fmt::format("{}[{}]", parts, i));
  }
}

// A unit-step slice of a shape list along its only axis, as a list slice (which clamps like ONNX).
bool slice_of_ints(NodeContext& c) {
  auto list = c.ints_form(0);
  if (!list || c.constant(0) || c.opset() < 10) return false;
  auto starts = c.constant_ints(1), ends = c.constant_ints(2);
  auto axes = c.has_input(3) ? c.constant_ints(3) : std::optional<std::vector<int64_t>>(std::vector<int64_t>{0});
  auto steps = c.has_input(4) ? c.constant_ints(4) : std::optional<std::vector<int64_t>>(std::vector<int64_t>{1});
  if (!starts || !ends || !axes || !steps || starts->size() != 1 || ends->size() != 1) return false;
  if ((*axes)[0] != 0 && (*axes)[0] != -1) return false;
  if ((*steps)[0] != 1) return false;
  c.assign_ints(0, fmt::format("{}[{}:{}]", *list, (*starts)[0], std::min<int64_t>((*ends)[0], int64_t{1} << 40)));
  return true;
}

void convert_slice(NodeContext& c) {
  if (slice_of_ints(c)) return;
  auto x = c.input(0);
  if (c.opset() < 10) {
    auto starts = c.attr_ints("starts").value_or(std::vector<int64_t>{});
    auto ends = c.attr_ints("ends").value_or(std::vector<int64_t>{});
    auto axes = c.attr_ints("axes");
    if (!axes) {
      axes = std::vector<int64_t>();
      for (size_t i = 0; i < starts.size(); ++i) axes->push_back(static_cast<int64_t>(i));
    }
    c.assign(0, fmt::format("{}({}, {}, {}, {}, {})", c.helper("_slice"), x, int_list_literal(starts), int_list_literal(ends),
                            int_list_literal(*axes), int_list_literal(std::vector<int64_t>(starts.size(), 1))));
    return;
  }
  auto starts = c.int_list_input(1);
  auto ends = c.int_list_input(2);
  // Known axes and positive steps: chained aten::slice, which wraps negative bounds once and clamps
  // to [0, n] exactly as ONNX Slice does. Bounds may be run-time ints.
  std::optional<std::vector<int64_t>> known_axes, known_steps;
  auto known_starts = c.constant_ints(1);
  if (c.has_input(3)) known_axes = c.constant_ints(3);
  if (c.has_input(4)) known_steps = c.constant_ints(4);
  size_t count = known_axes ? known_axes->size() : known_starts ? known_starts->size() : 0;
  if (auto dims = c.input_dims(1); !count && dims && dims->size() == 1 && (*dims)[0] > 0) {
    count = static_cast<size_t>((*dims)[0]);  // run-time starts of a declared length
  }
  if (!c.has_input(3) && count) {
    known_axes = std::vector<int64_t>();
    for (size_t i = 0; i < count; ++i) known_axes->push_back(static_cast<int64_t>(i));
  }
  if (!c.has_input(4) && count) known_steps = std::vector<int64_t>(count, 1);
  if (known_axes && known_steps && known_steps->size() == count &&
      std::all_of(known_steps->begin(), known_steps->end(), [](int64_t step) { return step > 0; })) {
    auto known_ends = c.constant_ints(2);
    auto bound = [](const std::optional<std::vector<int64_t>>& known, const std::string& list, size_t i) {
      return known ? std::to_string((*known)[i]) : fmt::format("{}[{}]", list, i);
    };
    auto expression = x;
    for (size_t i = 0; i < count; ++i) {
      expression = fmt::format("torch.slice({}, {}, {}, {}, {})", expression, (*known_axes)[i], bound(known_starts, starts, i),
                               bound(known_ends, ends, i), (*known_steps)[i]);
    }
    c.assign(0, expression);
    return;
  }
  std::string axes = c.has_input(3) ? c.int_list_input(3)
                     : known_axes ? int_list_literal(*known_axes) : fmt::format("list(range(len({})))", starts);
  std::string steps = c.has_input(4) ? c.int_list_input(4)
                      : known_steps ? int_list_literal(*known_steps) : fmt::format("[1 for _ in range(len({}))]", starts);
  c.assign(0, fmt::format("{}({}, {}, {}, {}, {})", c.helper("_slice"), x, starts, ends, axes, steps));
}

void convert_gather(NodeContext& c) {
  auto axis = c.attr_int("axis", 0);
  auto* table = c.constant(0);
  auto* indices = c.constant(1);
  if (auto list = c.ints_form(0); list && !table && indices && axis == 0) {
    // Picking dims out of a shape list.
    auto picks = *c.constant_ints(1);
    if (indices->dim() == 0) {
      c.assign_int(0, fmt::format("{}[{}]", *list, picks[0]));
    } else if (indices->dim() == 1) {
      std::vector<std::string> items;
      for (auto i : picks) items.push_back(fmt::format("{}[{}]", *list, i));
      c.assign_ints(0, fmt::format("[{}]", fmt::join(items, ", ")));
    }
    if (indices->dim() <= 1) return;
  }
  if (table && !indices && axis == 0 && table->dim() == 2 && table->is_floating_point()) {
    LayerSpec layer;
    layer.type_name = "torch.nn.modules.sparse.Embedding";
    layer.name_hint = c.node().input(0);
    layer.tensors.push_back({"weight", *table, c.node().input(0)});
    layer.forward_source =
        "def forward(self, input: Tensor) -> Tensor:\n    return torch.embedding(self.weight, input, -1, False, False)\n";
    c.assign(0, fmt::format("{}({})", c.add_layer(std::move(layer)), c.input(1)));
    return;
  }
  auto x = c.input(0);
  if (indices && indices->dim() == 0) {
    c.assign(0, fmt::format("torch.select({}, {}, {})", x, axis, indices->item<int64_t>()));
    return;
  }
  auto index = c.input(1);
  auto normalized = c.temp();
  c.emit(fmt::format("{0} = torch.where(torch.lt({1}, 0), torch.add({1}, {2}.size({3})), {1}).to({4})", normalized,
                     index, x, axis, dtype_code(at::kLong)));
  auto rank = c.input_rank(0);
  c.require(axis >= 0 || rank.has_value(), "Gather with a negative axis on an input of unknown rank");
  if (axis < 0) axis += *rank;
  c.assign(0, fmt::format("torch.index_select({0}, {1}, {2}.reshape([-1])).reshape({0}.size()[:{1}] + {2}.size() + "
                          "{0}.size()[{1} + 1:])",
                          x, axis, normalized));
}

void convert_gather_elements(NodeContext& c) {
  auto x = c.input(0), index = c.input(1);
  auto axis = c.attr_int("axis", 0);
  c.assign(0, fmt::format("torch.gather({0}, {2}, torch.where(torch.lt({1}, 0), torch.add({1}, {0}.size({2})), {1}))", x,
                          index, axis));
}

void convert_pad(NodeContext& c) {
  auto mode = c.attr_string("mode", "constant");
  c.require(mode == "constant" || mode == "reflect" || mode == "edge" || (mode == "wrap" && c.opset() >= 19),
            "Pad mode " + mode);
  std::string pads, value = "0.0";
  if (c.opset() < 11) {
    pads = int_list_literal(c.attr_ints("pads").value_or(std::vector<int64_t>{}));
    value = float_literal(c.attr_float("value", 0.0));
  } else {
    pads = c.int_list_input(1);
    if (c.has_input(2)) {
      auto* constant = c.constant(2);
      value = constant ? float_literal(constant->item<double>()) : fmt::format("float({})", c.input(2));
    }
    if (c.opset() >= 18 && c.has_input(3)) {  // pads for the listed axes only
      pads = fmt::format("{}({}, {}, {})", c.helper("_pads_of_axes"), c.input(0), pads, c.int_list_input(3));
    }
  }
  c.assign(0, fmt::format("{}({}, {}, '{}', {})", c.helper("_pad"), c.input(0), pads, mode, value));
}

void convert_topk(NodeContext& c) {
  auto k = c.opset() < 10 ? std::to_string(c.attr_int("k", 1)) : fmt::format("int({})", c.input(1));
  auto result = c.temp();
  c.emit(fmt::format("{} = torch.topk({}, {}, {}, {}, {})", result, c.input(0), k, c.attr_int("axis", -1),
                     c.attr_int("largest", 1) ? "True" : "False", c.attr_int("sorted", 1) ? "True" : "False"));
  c.assign(0, fmt::format("{}[0]", result));
  if (c.output_count() > 1) c.assign(1, fmt::format("{}[1]", result));
}

template <bool kMax>
void convert_arg(NodeContext& c) {
  auto x = c.input(0);
  auto axis = c.attr_int("axis", 0);
  bool keepdims = c.attr_int("keepdims", 1) != 0;
  const char* function = kMax ? "torch.argmax" : "torch.argmin";
  if (c.attr_int("select_last_index", 0)) {
    // The last extreme index: search the flipped axis, then map back.
    c.assign(0, fmt::format("torch.sub(torch.sub({1}.size({2}), 1), {0}(torch.flip({1}, [{2}]), {2}, {3}))", function, x,
                            axis, keepdims ? "True" : "False"));
    return;
  }
  c.assign(0, fmt::format("{}({}, {}, {})", function, x, axis, keepdims ? "True" : "False"));
}

void convert_cumsum(NodeContext& c) {
  auto x = c.input(0);
  auto axis = fmt::format("int({})", c.input(1));
  if (auto known = c.constant_ints(1)) axis = std::to_string(known->front());
  bool exclusive = c.attr_int("exclusive", 0), reverse = c.attr_int("reverse", 0);
  auto input = reverse ? fmt::format("torch.flip({}, [{}])", x, axis) : x;
  auto sum = fmt::format("torch.cumsum({}, {}, dtype={}.dtype)", input, axis, x);  // int32 stays int32
  if (exclusive) sum = fmt::format("torch.sub({}, {})", sum, input);
  if (reverse) sum = fmt::format("torch.flip({}, [{}])", sum, axis);
  c.assign(0, sum);
}

void convert_nonzero(NodeContext& c) { c.assign(0, fmt::format("torch.nonzero({}).t()", c.input(0))); }

void convert_depth_to_space(NodeContext& c) {
  auto x = c.input(0);
  auto b = c.attr_int("blocksize", 1);
  if (c.attr_string("mode", "DCR") == "CRD") {
    c.assign(0, fmt::format("torch.pixel_shuffle({}, {})", x, b));
    return;
  }
  c.assign(0, fmt::format("{0}.reshape([{0}.size(0), {1}, {1}, {0}.size(1) // {2}, {0}.size(2), {0}.size(3)])"
                          ".permute([0, 3, 4, 1, 5, 2]).reshape([{0}.size(0), {0}.size(1) // {2}, {0}.size(2) * {1}, "
                          "{0}.size(3) * {1}])",
                          x, b, b * b));
}

void convert_space_to_depth(NodeContext& c) {
  auto x = c.input(0);
  auto b = c.attr_int("blocksize", 1);
  c.assign(0, fmt::format("{0}.reshape([{0}.size(0), {0}.size(1), {0}.size(2) // {1}, {1}, {0}.size(3) // {1}, {1}])"
                          ".permute([0, 3, 5, 1, 2, 4]).reshape([{0}.size(0), {0}.size(1) * {2}, {0}.size(2) // {1}, "
                          "{0}.size(3) // {1}])",
                          x, b, b * b));
}

void convert_trilu(NodeContext& c) {
  auto k = c.has_input(1) ? fmt::format("int({})", c.input(1)) : "0";
  c.assign(0, fmt::format("{}({}, {})", c.attr_int("upper", 1) ? "torch.triu" : "torch.tril", c.input(0), k));
}

// OneHot(indices, depth, values=[off, on], axis): negative indices count from depth.
void convert_one_hot(NodeContext& c) {
  auto indices = c.input(0), values = c.input(2);
  auto depth = c.temp(), index = c.temp(), hot = c.temp();
  c.emit(fmt::format("{} = int({}.reshape([-1])[0])", depth, c.input(1)));
  c.emit(fmt::format("{0} = {1}.to({2})", index, indices, dtype_code(at::kLong)));
  c.emit(fmt::format("{0} = torch.where(torch.lt({0}, 0), torch.add({0}, {1}), {0})", index, depth));
  c.emit(fmt::format("{} = torch.one_hot({}, {}).to({}.dtype)", hot, index, depth, values));
  auto scaled = fmt::format("torch.add(torch.mul({0}, torch.sub({1}[1], {1}[0])), {1}[0])", hot, values);
  c.assign(0, fmt::format("torch.movedim({}, -1, {})", scaled, c.attr_int("axis", -1)));
}

// EyeLike(x, k, dtype): ones on the k-th diagonal of a 2-D tensor shaped like x.
void convert_eye_like(NodeContext& c) {
  auto x = c.input(0);
  auto dtype = c.attribute("dtype") ? dtype_literal(c, static_cast<int32_t>(c.attr_int("dtype", 0)))
                                    : fmt::format("{}.dtype", x);
  auto k = c.attr_int("k", 0);
  c.assign(0, fmt::format("torch.ones([{0}.size(0), {0}.size(1)], dtype={1}).tril({2}).triu({2})", x, dtype, k));
}

// ScatterElements(data, indices, updates, axis, reduction): torch.scatter / scatter_add / scatter(reduce=multiply).
void convert_scatter_elements(NodeContext& c) {
  auto data = c.input(0), indices = c.input(1), updates = c.input(2);
  auto axis = c.attr_int("axis", 0);
  auto reduction = c.attr_string("reduction", "none");
  auto index = c.temp();
  c.emit(fmt::format("{0} = torch.where(torch.lt({1}, 0), torch.add({1}, {2}.size({3})), {1}).to({4})", index, indices, data,
                     axis, dtype_code(at::kLong)));
  if (reduction == "none") {
    c.assign(0, fmt::format("torch.scatter({}, {}, {}, {})", data, axis, index, updates));
  } else if (reduction == "add") {
    c.assign(0, fmt::format("torch.scatter_add({}, {}, {}, {})", data, axis, index, updates));
  } else if (reduction == "mul") {
    c.assign(0, fmt::format("torch.scatter({}, {}, {}, {}, reduce='multiply')", data, axis, index, updates));
  } else if (reduction == "max" || reduction == "min") {  // opset 18
    c.assign(0, fmt::format("torch.scatter_reduce({}, {}, {}, {}, 'a{}')", data, axis, index, updates, reduction));
  } else {
    c.require(false, "ScatterElements reduction " + reduction);
  }
}

// CenterCropPad(input, shape; axes): crops or zero-pads each listed axis around its centre.
void convert_center_crop_pad(NodeContext& c) {
  auto axes = c.attr_ints("axes");
  std::string axes_list;
  if (axes) {
    axes_list = int_list_literal(*axes);
  } else {
    auto rank = c.input_rank(0);
    c.require(rank.has_value(), "CenterCropPad without axes on an input of unknown rank");
    std::vector<int64_t> all;
    for (int64_t i = 0; i < *rank; ++i) all.push_back(i);
    axes_list = int_list_literal(all);
  }
  c.assign(0, fmt::format("{}({}, {}, {})", c.helper("_center_crop_pad"), c.input(0), c.int_list_input(1), axes_list));
}

// ScatterND(data, indices, updates, reduction): index rows address slices of data's first k dims.
void convert_scatter_nd(NodeContext& c) {
  auto reduction = c.attr_string("reduction", "none");
  c.require(reduction == "none" || reduction == "add" || reduction == "mul" || reduction == "max" || reduction == "min",
            "ScatterND reduction " + reduction);
  c.assign(0, fmt::format("{}({}, {}, {}, '{}')", c.helper("_scatter_nd"), c.input(0), c.input(1), c.input(2), reduction));
}

void convert_gather_nd(NodeContext& c) {
  c.assign(0, fmt::format("{}({}, {}, {})", c.helper("_gather_nd"), c.input(0), c.input(1), c.attr_int("batch_dims", 0)));
}

// Compress(input, condition, axis): the slices whose condition is true (a shorter condition leaves
// the remaining slices out, as numpy.compress); no axis: of the flattened input.
void convert_compress(NodeContext& c) {
  auto x = c.input(0);
  auto picks = fmt::format("torch.nonzero({}).reshape([-1])", c.input(1));
  if (!c.attribute("axis")) {
    c.assign(0, fmt::format("torch.index_select({}.reshape([-1]), 0, {})", x, picks));
    return;
  }
  c.assign(0, fmt::format("torch.index_select({}, {}, {})", x, c.attr_int("axis", 0), picks));
}

void convert_reverse_sequence(NodeContext& c) {
  auto time_axis = c.attr_int("time_axis", 0), batch_axis = c.attr_int("batch_axis", 1);
  c.require((time_axis == 0 && batch_axis == 1) || (time_axis == 1 && batch_axis == 0), "ReverseSequence axes");
  c.assign(0, fmt::format("{}({}, {}, {}, {})", c.helper("_reverse_sequence"), c.input(0), c.input(1), time_axis, batch_axis));
}

void convert_unique(NodeContext& c) {
  auto result = c.temp();
  auto axis = c.attribute("axis") ? std::to_string(c.attr_int("axis", 0)) : std::string("None");
  c.emit(fmt::format("{} = {}({}, {}, {})", result, c.helper("_unique"), c.input(0), axis,
                     c.attr_int("sorted", 1) ? "True" : "False"));
  for (int i = 0; i < c.output_count(); ++i) {
    if (c.output_used(i)) c.assign(i, fmt::format("{}[{}]", result, i));
  }
}

}  // namespace

std::vector<ConverterEntry> tensor_converters() {
  return {
      {"", "Concat", 4, kMaxOpset, convert_concat},
      {"", "Split", 2, kMaxOpset, convert_split},
      {"", "Slice", 1, kMaxOpset, convert_slice},
      {"", "Gather", 1, kMaxOpset, convert_gather},
      {"", "GatherElements", 11, kMaxOpset, convert_gather_elements},
      {"", "Pad", 2, kMaxOpset, convert_pad},
      {"", "TopK", 1, kMaxOpset, convert_topk},
      {"", "ArgMax", 1, kMaxOpset, convert_arg<true>},
      {"", "ArgMin", 1, kMaxOpset, convert_arg<false>},
      {"", "CumSum", 11, kMaxOpset, convert_cumsum},
      {"", "NonZero", 9, kMaxOpset, convert_nonzero},
      {"", "DepthToSpace", 1, kMaxOpset, convert_depth_to_space},
      {"", "SpaceToDepth", 1, kMaxOpset, convert_space_to_depth},
      {"", "Trilu", 14, kMaxOpset, convert_trilu},
      {"", "OneHot", 9, kMaxOpset, convert_one_hot},
      {"", "EyeLike", 9, kMaxOpset, convert_eye_like},
      {"", "ScatterElements", 11, kMaxOpset, convert_scatter_elements},
      {"", "Scatter", 9, 10, convert_scatter_elements},  // ScatterElements' predecessor, no reduction
      {"", "ScatterND", 11, kMaxOpset, convert_scatter_nd},
      {"", "CenterCropPad", 18, kMaxOpset, convert_center_crop_pad},
      {"", "GatherND", 11, kMaxOpset, convert_gather_nd},
      {"", "Compress", 9, kMaxOpset, convert_compress},
      {"", "ReverseSequence", 10, kMaxOpset, convert_reverse_sequence},
      {"", "Unique", 11, kMaxOpset, convert_unique},
  };
}

}  // namespace mopt::onnx_import
