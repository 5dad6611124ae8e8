// Model I/O: format detection from bytes, load/save/clone, lite output, ONNX external data,
// atomic writes and the bad-input paths (all exit 4, never a crash).
#include <torch/csrc/jit/mobile/import.h>

#include <fstream>

#include "lib/eval/evaluate.h"
#include "lib/model/graph_stats.h"
#include "lib/util/atomic_file.h"
#include "lib/data/file_io.h"
#include "lib/util/torchscript_code_check.h"
#include "lib/util/zip_check.h"

#include <fmt/format.h>
#include <unistd.h>
#include "tests/unit/test_helpers.h"

using namespace mopt;
using mopt::test::fixture;
using mopt::test::thrown_code;
namespace fs = std::filesystem;

TEST_SUITE("model-io") {
  TEST_CASE("format comes from the bytes, not the extension") {
    auto dir = mopt::test::temp_dir("detect");
    fs::copy_file(fixture("mlp.onnx"), dir / "model.pt");
    fs::copy_file(fixture("mlp.pt"), dir / "model.onnx");
    CHECK(detect_format(dir / "model.pt") == ModelFormat::kOnnx);
    CHECK(detect_format(dir / "model.onnx") == ModelFormat::kTorchScript);
    CHECK(Model::load(dir / "model.pt").is_onnx());
    CHECK(Model::load(dir / "model.onnx").is_torchscript());
    fs::remove_all(dir);
  }

  TEST_CASE("bad files are invalid input with a clear message") {
    for (const char* name : {"bad/truncated.pt", "bad/random.onnx", "bad/empty.pt", "bad/notamodel.pt", "bad/missing.pt"}) {
      CAPTURE(name);
      try {
        Model::load(fixture(name));
        FAIL("expected an error");
      } catch (const Error& e) {
        CHECK(e.code() == ExitCode::kInvalidInput);
        CHECK(std::string(e.what()).find(fixture(name).filename().string()) != std::string::npos);
        CHECK(std::string(e.what()).find("Exception raised from") == std::string::npos);
      }
    }
  }

  TEST_CASE("a NUL byte from a hostile file does not cut an error message short") {
    const Error error = invalid_input(std::string("tensor 'a\0b' in model.onnx", 26) + " is corrupt");
    CHECK(std::string(error.what()) == "tensor 'a\\0b' in model.onnx is corrupt");
    CHECK(std::string(invalid_input(std::string(2, '\0')).what()) == "\\0\\0");
  }

  TEST_CASE("zip archives are checked before LibTorch's reader trusts their offsets") {
    // Real archives pass: a TorchScript model (C++ writer) and a torch.save file (Python's).
    std::string model_bytes = mopt::data_detail::read_file_bytes(fixture("mlp.pt"));
    CHECK_NOTHROW(check_zip_bytes(model_bytes, "mlp.pt"));
    CHECK_NOTHROW(check_zip_file(fixture("mlp.pt")));
    CHECK_NOTHROW(check_zip_file(fixture("data/tensor_f32.pt")));
    auto code_of = [](const std::function<void()>& f) { return mopt::test::thrown_code(f); };
    // The central-directory offset moved past the end of the file (in the zip64 end record, which
    // PyTorch's writer adds and which then overrides the 32-bit one).
    auto zip64 = model_bytes.rfind(std::string("PK\x06\x06", 4));
    auto end = model_bytes.rfind(std::string("PK\x05\x06", 4));
    REQUIRE(end != std::string::npos);
    auto moved = model_bytes;
    moved[zip64 != std::string::npos ? zip64 + 48 + 6 : end + 19] = '\x7f';
    CHECK(code_of([&] { check_zip_bytes(moved, "moved.pt"); }) == 4);
    // A member's stored size grown beyond the bytes the file holds.
    auto central = model_bytes.find(std::string("PK\x01\x02", 4));
    REQUIRE(central != std::string::npos);
    auto grown = model_bytes;
    for (int i : {20, 24}) grown[central + i + 3] = '\x10';  // compressed and uncompressed sizes += 256 MiB
    CHECK(code_of([&] { check_zip_bytes(grown, "grown.pt"); }) == 4);
    CHECK(code_of([&] { check_zip_bytes(model_bytes.substr(0, model_bytes.size() / 2), "half.pt"); }) == 4);
    try {
      check_zip_bytes("PK\x05\x06", "tiny.pt");
      FAIL("expected an error");
    } catch (const Error& e) {
      CHECK(std::string(e.what()).find("tiny.pt: not a valid zip archive") != std::string::npos);
    }
  }

  TEST_CASE("code members are checked: CRC-32, and class bodies LibTorch 1.13 would crash on") {
    // A code file whose bytes do not match its CRC (here the CRC changed, as when a bit flips in the
    // deflated code): refused before LibTorch compiles it.
    std::string model_bytes = mopt::data_detail::read_file_bytes(fixture("mlp.pt"));
    auto flipped = model_bytes;
    for (size_t at = flipped.find(std::string("PK\x01\x02", 4)); at != std::string::npos;
         at = flipped.find(std::string("PK\x01\x02", 4), at + 4)) {
      const size_t name_length = static_cast<unsigned char>(flipped[at + 28]) | static_cast<unsigned char>(flipped[at + 29]) << 8;
      if (flipped.compare(at + 46 + name_length - 3, 3, ".py") != 0) continue;
      flipped[at + 16] = static_cast<char>(flipped[at + 16] ^ 1);  // its CRC-32
      break;
    }
    REQUIRE(flipped != model_bytes);
    try {
      check_zip_bytes(flipped, "flipped.pt");
      FAIL("expected an error");
    } catch (const Error& e) {
      CHECK(static_cast<int>(e.code()) == 4);
      CHECK(std::string(e.what()).find("CRC-32 does not match") != std::string::npos);
    }
    // With a matching CRC the class body itself is checked (tests/fuzz/regressions/torchscript/
    // untyped-class-attribute-segv.pt is such a file; LibTorch read a type that is not there).
    CHECK(torchscript_code_problem("class A(Module):\n  __parameters__ = []\n  __annotations__ = []\n"
                                   "  __annotations__[\"0\"] = int\n  w : Tensor\n  k : Final[int] = 3\n"
                                   "  def forward(self: A,\n    x: Tensor) -> Tensor:\n    y = x\n    return y\n") == "");
    CHECK(torchscript_code_problem("class Color(Enum):\n  RED = 1\n") == "");
    CHECK(torchscript_code_problem("class A(Module):\n  __palameters__ = [\"w\", ]\n").find("line 2") != std::string::npos);
    CHECK(torchscript_code_problem("class T(NamedTuple):\n  a : int\n  b = 3\n").find("line 3") != std::string::npos);
  }

  TEST_CASE("ONNX external data is read from next to the model") {
    auto model = Model::load(fixture("external_data/model.onnx"));
    auto params = parameter_totals(model);
    CHECK(params.count == 235146);
    for (const auto& init : model.onnx().graph().initializer()) {
      CHECK(init.data_location() == onnx::TensorProto::DEFAULT);
    }
    // Saving writes one self-contained file.
    auto dir = mopt::test::temp_dir("external");
    model.save(dir / "inline.onnx");
    CHECK(parameter_totals(Model::load(dir / "inline.onnx")).count == 235146);
    fs::remove_all(dir);
  }

  TEST_CASE("external data that escapes the model folder is refused") {
    try {
      Model::load(fixture("escape/model.onnx"));
      FAIL("expected an error");
    } catch (const Error& e) {
      CHECK(e.code() == ExitCode::kInvalidInput);
      CHECK(std::string(e.what()).find("outside its folder") != std::string::npos);
    }
  }

  TEST_CASE("clone is deep") {
    auto model = Model::load(fixture("conv_bn.pt"));
    auto copy = model.clone();
    copy.torchscript().eval();
    for (auto p : copy.torchscript().parameters()) p.data().zero_();
    double original_sum = 0;
    for (const auto& p : model.torchscript().parameters()) original_sum += p.abs().sum().item<double>();
    CHECK(original_sum > 0);

    auto onnx_model = Model::load(fixture("mlp.onnx"));
    auto onnx_copy = onnx_model.clone();
    onnx_copy.onnx().mutable_graph()->clear_node();
    CHECK(onnx_model.onnx().graph().node_size() > 0);
  }

  TEST_CASE("outputs are read from tensors, tuples, lists and dicts; other values are invalid input") {
    // torchvision's segmentation models return {"out": ..., "aux": ...}: "out" is the output.
    auto c = mopt::test::load_case("dict_output");
    CHECK(torch::allclose(run_model(c.model, c.input), c.expected, 1e-5, 1e-6));
    auto output = const_cast<torch::jit::Module&>(c.model.torchscript()).forward({c.input});
    auto tensors = output_tensors(output);
    REQUIRE(tensors.size() == 2);
    CHECK(tensors[1].sizes() == c.expected.sizes());  // "aux", in insertion order

    auto a = torch::ones({2}), b = torch::zeros({3});
    CHECK(output_tensors(c10::IValue(c10::List<at::Tensor>({a, b})))[1].equal(b));
    CHECK(output_tensors(c10::ivalue::Tuple::create({c10::IValue(), a})).size() == 1);  // None left out
    CHECK(thrown_code([&] { output_tensors(c10::ivalue::Tuple::create({a, c10::IValue(int64_t{3})})); }) == 4);
  }

  TEST_CASE("top-1 agreement is measured over the class dim of [N, C] and [N, C, H, W] outputs only") {
    auto reference = torch::tensor({{0.f, 1.f}, {1.f, 0.f}});
    CHECK(*compare_outputs(reference, torch::tensor({{0.f, 2.f}, {0.f, 1.f}})).top1_agreement == doctest::Approx(0.5));
    // Per pixel: 4 pixels, the class flips at one.
    auto maps = torch::zeros({1, 2, 2, 2});
    maps.index_put_({0, 1}, 1.0);
    auto flipped = maps.clone();
    flipped.index_put_({0, 0, 0, 0}, 2.0);
    CHECK(*compare_outputs(maps, flipped).top1_agreement == doctest::Approx(0.75));
    // A transformer's [N, tokens, features]: dim 1 does not hold classes.
    auto tokens = torch::randn({1, 4, 8});
    auto unmeasured = compare_outputs(tokens, tokens + 1);
    CHECK_FALSE(unmeasured.top1_agreement.has_value());
    CHECK(agreement_json(unmeasured)["top1_agreement"].is_null());
    CHECK(top1_agreement_text(agreement_json(unmeasured)).find("not measured") != std::string::npos);
  }

  TEST_CASE("TorchScript round-trips through .pt and .ptl") {
    auto model = Model::load(fixture("conv_bn.pt"));
    auto input = read_npy(fixture("conv_bn.input.npy"));
    auto expected = run_model(model, input);
    auto dir = mopt::test::temp_dir("roundtrip");

    model.save(dir / "copy.pt");
    CHECK(torch::allclose(run_model(Model::load(dir / "copy.pt"), input), expected));

    auto frozen = mopt::test::run_text(model, "freeze").model;
    frozen.save(dir / "lite.ptl");
    auto lite = torch::jit::_load_for_mobile((dir / "lite.ptl").string());
    auto lite_out = lite.forward({input}).toTensor();
    CHECK(torch::allclose(lite_out, expected, 1e-4, 1e-5));
    fs::remove_all(dir);
  }

  TEST_CASE("atomic writes leave nothing behind on failure") {
    auto dir = mopt::test::temp_dir("atomic");
    auto target = dir / "out.bin";
    CHECK_THROWS(write_atomically(target, [](const fs::path& temp) {
      std::ofstream(temp) << "partial";
      throw std::runtime_error("disk full");
    }));
    CHECK(fs::is_empty(dir));
    write_text_atomically(target, "done");
    CHECK(fs::file_size(target) == 4);
    CHECK(thrown_code([&] { write_text_atomically(dir / "no/such/dir/x", "x"); }) == 2);
    fs::remove_all(dir);
  }

  TEST_CASE("a temp file left by a killed write is removed by the next write; a live writer's is kept") {
    auto dir = mopt::test::temp_dir("stale-temps");
    auto target = dir / "model.pt";
    // PID 2^22 - 1 is at the top of Linux's range (pid_max): no process has it here.
    const auto stale = dir / ".model.pt.tmp-4194303", live = dir / fmt::format(".model.pt.tmp-{}", ::getppid());
    const auto other = dir / ".other.pt.tmp-4194303";
    for (const auto& p : {stale, live, other}) std::ofstream(p) << "partial";
    write_text_atomically(target, "done");
    CHECK_FALSE(fs::exists(stale));
    CHECK(fs::exists(live));   // the parent process is alive: maybe writing now
    CHECK(fs::exists(other));  // another output's temp file is not this write's business
    CHECK(fs::file_size(target) == 4);
    fs::remove_all(dir);
  }

  TEST_CASE("the input is never overwritten without --force") {
    auto input = fixture("mlp.pt");
    CHECK(thrown_code([&] { check_output_path(input, input, false); }) == 2);
    CHECK(thrown_code([&] { check_output_path(input, fixture("./mlp.pt"), false); }) == 2);
    CHECK(thrown_code([&] { check_output_path(input, input, true); }) == -1);
    CHECK(thrown_code([&] { check_output_path(input, fixture("other.pt"), false); }) == -1);
  }
}
