// Dataset readers and conventions: every format written by hand (or by torch::pickle_save) into a
// temp dir, the real Fashion-MNIST IDX files, every invalid-input path, specs, seeds, batching.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <onnx/onnx_pb.h>
#include <torch/csrc/jit/serialization/pickle.h>
#include <zlib.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>

#include "lib/data/dataset.h"
#include "lib/data/dtype_names.h"
#include "lib/data/readers.h"
#include "lib/errors.h"

// doctest cannot print ArrayRefs in failed comparisons on its own.
namespace doctest {
template <>
struct StringMaker<c10::IntArrayRef> {
  static String convert(c10::IntArrayRef sizes) { return c10::str(sizes).c_str(); }
};
}  // namespace doctest

namespace fs = std::filesystem;
using mopt::ExitCode;

namespace {

const fs::path kFashionMnist = "/usr/share/datasets/fashion-mnist";
const fs::path kPythonFixtures = fs::path(MOPT_FIXTURES_DIR) / "data";

// A fresh directory removed at scope exit, so tests never see each other's files.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "mopt_test_data_XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path operator/(const std::string& name) const { return path / name; }
};

fs::path write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return path;
}

fs::path write_gz(const fs::path& path, const std::string& bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  REQUIRE(file != nullptr);
  REQUIRE(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())) ==
          static_cast<int>(bytes.size()));
  gzclose(file);
  return path;
}

template <typename T>
std::string raw_bytes(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

// A .npy file as numpy writes it: magic, version, header length, dict padded to 64 bytes.
std::string npy_bytes(const std::string& descr, const std::string& shape, const std::string& data,
                      bool fortran = false, int version = 1) {
  std::string dict = fmt::format("{{'descr': '{}', 'fortran_order': {}, 'shape': {}, }}", descr,
                                 fortran ? "True" : "False", shape);
  size_t prefix = version == 1 ? 10 : 12;
  size_t total = prefix + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict += '\n';
  std::string out = "\x93NUMPY";
  out += static_cast<char>(version);
  out += '\0';
  uint32_t len = static_cast<uint32_t>(dict.size());
  out += static_cast<char>(len & 0xff);
  out += static_cast<char>((len >> 8) & 0xff);
  if (version != 1) {
    out += static_cast<char>((len >> 16) & 0xff);
    out += static_cast<char>((len >> 24) & 0xff);
  }
  return out + dict + data;
}

// An IDX file: 0, 0, type, ndims, big-endian dims, then data (already big-endian).
std::string idx_bytes(unsigned char type, const std::vector<uint32_t>& dims,
                      const std::string& data) {
  std::string out = {'\0', '\0', static_cast<char>(type), static_cast<char>(dims.size())};
  for (uint32_t d : dims)
    for (int shift : {24, 16, 8, 0}) out += static_cast<char>((d >> shift) & 0xff);
  return out + data;
}

template <typename T>
std::string big_endian(const std::vector<T>& values) {
  std::string out = raw_bytes(values);
  for (size_t i = 0; i < out.size(); i += sizeof(T))
    std::reverse(out.begin() + static_cast<std::ptrdiff_t>(i),
                 out.begin() + static_cast<std::ptrdiff_t>(i + sizeof(T)));
  return out;
}

fs::path write_pb(const fs::path& path, const onnx::TensorProto& proto) {
  return write_file(path, proto.SerializeAsString());
}

fs::path write_pickle(const fs::path& path, const c10::IValue& value) {
  auto bytes = torch::jit::pickle_save(value);
  return write_file(path, std::string(bytes.begin(), bytes.end()));
}

// Runs f, requires a mopt::Error with the given code whose message contains every needle.
void require_error(const std::function<void()>& f, ExitCode code,
                   const std::vector<std::string>& needles) {
  try {
    f();
  } catch (const mopt::Error& e) {
    std::string message = e.what();
    CHECK_MESSAGE(e.code() == code, message);
    for (const auto& needle : needles)
      CHECK_MESSAGE(message.find(needle) != std::string::npos, "'", needle, "' not in: ", message);
    return;
  }
  FAIL("expected a mopt::Error");
}

void require_invalid(const std::function<void()>& f, const fs::path& file,
                     const std::string& what = "") {
  std::vector<std::string> needles = {file.string()};
  if (!what.empty()) needles.push_back(what);
  require_error(f, ExitCode::kInvalidInput, needles);
}

// c10::toString(ScalarType) returns const char*, which ADL makes doctest pick and then fail to
// concatenate; compare dtypes by name instead.
std::string dtype_name(c10::ScalarType dtype) { return c10::toString(dtype); }

bool same(const torch::Tensor& a, const torch::Tensor& b) {
  return a.scalar_type() == b.scalar_type() && a.sizes() == b.sizes() && a.equal(b);
}

// A small MNIST-like directory: train (3 images) and t10k (2 images) pairs of 2x2 uint8 images.
void write_idx_pairs(const TempDir& dir, bool gz) {
  auto put = gz ? write_gz : write_file;
  std::string ext = gz ? ".gz" : "";
  put(dir / ("train-images-idx3-ubyte" + ext),
      idx_bytes(0x08, {3, 2, 2},
                raw_bytes(std::vector<uint8_t>{0, 255, 51, 102, 1, 2, 3, 4, 5, 6, 7, 8})));
  put(dir / ("train-labels-idx1-ubyte" + ext),
      idx_bytes(0x08, {3}, raw_bytes(std::vector<uint8_t>{7, 0, 2})));
  put(dir / ("t10k-images-idx3-ubyte" + ext),
      idx_bytes(0x08, {2, 2, 2}, raw_bytes(std::vector<uint8_t>{255, 255, 0, 0, 9, 9, 9, 9})));
  put(dir / ("t10k-labels-idx1-ubyte" + ext),
      idx_bytes(0x08, {2}, raw_bytes(std::vector<uint8_t>{1, 4})));
}

}  // namespace

TEST_SUITE("data") {
  TEST_CASE("read_npy reads every supported dtype with its values and shape") {
    TempDir dir;
    auto f32 = mopt::read_npy(write_file(
        dir / "f32.npy",
        npy_bytes("<f4", "(2, 3)", raw_bytes(std::vector<float>{0.5f, 1, 2, 3, 4, -5.25f}))));
    CHECK(same(f32, torch::tensor({0.5f, 1.f, 2.f, 3.f, 4.f, -5.25f}).view({2, 3})));

    auto f64 = mopt::read_npy(write_file(
        dir / "f64.npy", npy_bytes("<f8", "(3,)", raw_bytes(std::vector<double>{1e-300, 2, 3}))));
    CHECK(same(f64, torch::tensor({1e-300, 2.0, 3.0}, torch::kDouble)));

    auto i64 = mopt::read_npy(
        write_file(dir / "i64.npy",
                   npy_bytes("<i8", "(2, 1)", raw_bytes(std::vector<int64_t>{-7, 1LL << 40}))));
    CHECK(same(i64, torch::tensor({int64_t{-7}, int64_t{1} << 40}, torch::kLong).view({2, 1})));

    auto u8 = mopt::read_npy(
        write_file(dir / "u8.npy",
                   npy_bytes("|u1", "(1, 2, 2)", raw_bytes(std::vector<uint8_t>{0, 1, 128, 255}))));
    CHECK(same(u8, torch::tensor({0, 1, 128, 255}, torch::kByte).view({1, 2, 2})));

    auto i32 = mopt::read_npy(write_file(
        dir / "i32.npy", npy_bytes("<i4", "(2,)", raw_bytes(std::vector<int32_t>{-1, 65536}))));
    CHECK(same(i32, torch::tensor({-1, 65536}, torch::kInt)));

    auto b1 = mopt::read_npy(write_file(
        dir / "b1.npy", npy_bytes("|b1", "(3,)", raw_bytes(std::vector<uint8_t>{1, 0, 1}))));
    CHECK(same(b1, torch::tensor({true, false, true})));

    auto f16 = mopt::read_npy(
        write_file(dir / "f16.npy",
                   npy_bytes("<f2", "(2,)", raw_bytes(std::vector<uint16_t>{0x3c00, 0xc000}))));
    CHECK(same(f16, torch::tensor({1.f, -2.f}).to(torch::kHalf)));

    SUBCASE("scalar, empty and version-2 headers") {
      auto scalar = mopt::read_npy(
          write_file(dir / "s.npy", npy_bytes("<f4", "()", raw_bytes(std::vector<float>{3.5f}))));
      CHECK(scalar.dim() == 0);
      CHECK(scalar.item<float>() == 3.5f);
      auto empty = mopt::read_npy(write_file(dir / "e.npy", npy_bytes("<f4", "(0, 4)", "")));
      CHECK(empty.sizes() == torch::IntArrayRef({0, 4}));
      auto v2 = mopt::read_npy(
          write_file(dir / "v2.npy",
                     npy_bytes("<i8", "(2,)", raw_bytes(std::vector<int64_t>{5, 6}), false, 2)));
      CHECK(same(v2, torch::tensor({5, 6}, torch::kLong)));
    }
  }

  TEST_CASE("read_npy rejects what it cannot represent, naming the file") {
    TempDir dir;
    auto data = raw_bytes(std::vector<float>{1, 2, 3, 4});
    auto fortran = write_file(dir / "fortran.npy", npy_bytes("<f4", "(2, 2)", data, true));
    require_invalid([&] { mopt::read_npy(fortran); }, fortran, "Fortran");
    auto truncated = write_file(dir / "trunc.npy", npy_bytes("<f4", "(2, 3)", data));
    require_invalid([&] { mopt::read_npy(truncated); }, truncated, "truncated");
    auto trailing = write_file(dir / "trailing.npy", npy_bytes("<f4", "(3,)", data));
    require_invalid([&] { mopt::read_npy(trailing); }, trailing, "unexpected bytes");
    auto complex = write_file(dir / "c8.npy", npy_bytes("<c8", "(1,)", raw_bytes(std::vector<float>{1, 2})));
    require_invalid([&] { mopt::read_npy(complex); }, complex, "unsupported .npy dtype");
    // uint16 reads (ONNX Runtime's outputs of such models come back this way), and is no dataset input.
    auto u16 = write_file(dir / "u16.npy", npy_bytes("<u2", "(2, 1)", raw_bytes(std::vector<uint16_t>{1, 60000})));
    CHECK(torch::equal(mopt::read_npy(u16).to(torch::kLong), torch::tensor({1L, 60000L}).view({2, 1})));
    require_invalid([&] { mopt::load_dataset(u16, {}); }, u16, "inputs have dtype uint16");
    auto big = write_file(dir / "big.npy", npy_bytes(">f4", "(4,)", data));
    require_invalid([&] { mopt::read_npy(big); }, big, "big-endian");
    auto not_npy = write_file(dir / "x.npy", "hello world");
    require_invalid([&] { mopt::read_npy(not_npy); }, not_npy, "not a .npy");
    auto short_header = write_file(dir / "short.npy", npy_bytes("<f4", "(4,)", data).substr(0, 30));
    require_invalid([&] { mopt::read_npy(short_header); }, short_header, "truncated");
    require_invalid([&] { mopt::read_npy(dir / "missing.npy"); }, dir / "missing.npy", "not found");
  }

  TEST_CASE("read_idx reads raw and gzipped IDX, converting from big-endian") {
    TempDir dir;
    auto pixels = raw_bytes(std::vector<uint8_t>{0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255});
    auto expected = torch::tensor({0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255}, torch::kByte)
                        .view({2, 2, 3});
    CHECK(same(mopt::read_idx(write_file(dir / "a-idx3-ubyte", idx_bytes(0x08, {2, 2, 3}, pixels))),
               expected));
    CHECK(
        same(mopt::read_idx(write_gz(dir / "a-idx3-ubyte.gz", idx_bytes(0x08, {2, 2, 3}, pixels))),
             expected));

    auto ints = mopt::read_idx(write_file(
        dir / "i", idx_bytes(0x0C, {3}, big_endian(std::vector<int32_t>{-2, 70000, 3}))));
    CHECK(same(ints, torch::tensor({-2, 70000, 3}, torch::kInt)));
    auto floats = mopt::read_idx(write_gz(
        dir / "f.gz", idx_bytes(0x0D, {2, 1}, big_endian(std::vector<float>{1.5f, -0.25f}))));
    CHECK(same(floats, torch::tensor({1.5f, -0.25f}).view({2, 1})));
    auto doubles = mopt::read_idx(
        write_file(dir / "d", idx_bytes(0x0E, {1}, big_endian(std::vector<double>{3.25}))));
    CHECK(same(doubles, torch::tensor({3.25}, torch::kDouble)));
    auto shorts = mopt::read_idx(
        write_file(dir / "s", idx_bytes(0x0B, {2}, big_endian(std::vector<int16_t>{-300, 5}))));
    CHECK(same(shorts, torch::tensor({-300, 5}, torch::kShort)));
  }

  TEST_CASE("read_idx reports truncated and non-IDX files") {
    TempDir dir;
    auto full = idx_bytes(0x08, {10, 4, 4}, std::string(160, '\x07'));
    auto truncated = write_file(dir / "t-idx3-ubyte", full.substr(0, full.size() - 5));
    require_invalid([&] { mopt::read_idx(truncated); }, truncated, "truncated");

    // A gzip stream cut short (as by an interrupted download) must also say "truncated".
    auto gz = write_gz(dir / "whole.gz", full + std::string(4000, '\x01'));
    std::ifstream in(gz, std::ios::binary);
    std::string compressed((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto cut = write_file(dir / "cut-idx3-ubyte.gz", compressed.substr(0, compressed.size() / 2));
    auto cut_full = write_gz(dir / "cutdata.gz", full.substr(0, full.size() - 1));
    require_invalid([&] { mopt::read_idx(cut_full); }, cut_full, "truncated");
    try {
      mopt::read_idx(cut);
      FAIL("expected an error");
    } catch (const mopt::Error& e) {
      CHECK(e.code() == ExitCode::kInvalidInput);
      CHECK(std::string(e.what()).find(cut.string()) != std::string::npos);
    }
    auto not_idx = write_file(dir / "n", "\x01\x02\x03\x04 not idx");
    require_invalid([&] { mopt::read_idx(not_idx); }, not_idx, "not an IDX");
    require_invalid([&] { mopt::read_idx(dir / "nope.gz"); }, dir / "nope.gz", "not found");
  }

  TEST_CASE("read_tensor_pb reads raw_data and typed fields") {
    TempDir dir;
    onnx::TensorProto raw;
    raw.set_data_type(onnx::TensorProto::FLOAT);
    raw.add_dims(2);
    raw.add_dims(2);
    raw.set_raw_data(raw_bytes(std::vector<float>{1, 2, 3, 4.5f}));
    CHECK(same(mopt::read_tensor_pb(write_pb(dir / "raw.pb", raw)),
               torch::tensor({1.f, 2.f, 3.f, 4.5f}).view({2, 2})));

    onnx::TensorProto floats;
    floats.set_data_type(onnx::TensorProto::FLOAT);
    floats.add_dims(3);
    for (float v : {0.5f, -1.f, 2.f}) floats.add_float_data(v);
    CHECK(same(mopt::read_tensor_pb(write_pb(dir / "f.pb", floats)),
               torch::tensor({0.5f, -1.f, 2.f})));

    onnx::TensorProto longs;
    longs.set_data_type(onnx::TensorProto::INT64);
    longs.add_dims(1);
    longs.add_dims(2);
    longs.add_int64_data(-9);
    longs.add_int64_data(int64_t{1} << 50);
    CHECK(same(mopt::read_tensor_pb(write_pb(dir / "l.pb", longs)),
               torch::tensor({int64_t{-9}, int64_t{1} << 50}).view({1, 2})));

    onnx::TensorProto ints;
    ints.set_data_type(onnx::TensorProto::INT32);
    ints.add_dims(2);
    ints.add_int32_data(-4);
    ints.add_int32_data(8);
    CHECK(same(mopt::read_tensor_pb(write_pb(dir / "i.pb", ints)),
               torch::tensor({-4, 8}, torch::kInt)));

    onnx::TensorProto bytes;  // uint8 values travel in int32_data
    bytes.set_data_type(onnx::TensorProto::UINT8);
    bytes.add_dims(2);
    bytes.add_int32_data(200);
    bytes.add_int32_data(3);
    CHECK(same(mopt::read_tensor_pb(write_pb(dir / "u.pb", bytes)),
               torch::tensor({200, 3}, torch::kByte)));

    onnx::TensorProto doubles;
    doubles.set_data_type(onnx::TensorProto::DOUBLE);
    doubles.add_dims(1);
    doubles.add_double_data(2.5);
    CHECK(same(mopt::read_tensor_pb(write_pb(dir / "d.pb", doubles)),
               torch::tensor({2.5}, torch::kDouble)));

    onnx::TensorProto scalar;
    scalar.set_data_type(onnx::TensorProto::FLOAT);
    scalar.add_float_data(7.f);
    auto s = mopt::read_tensor_pb(write_pb(dir / "s.pb", scalar));
    CHECK(s.dim() == 0);
    CHECK(s.item<float>() == 7.f);
  }

  TEST_CASE("read_tensor_pb rejects mismatched, unsupported and non-tensor files") {
    TempDir dir;
    onnx::TensorProto short_raw;
    short_raw.set_data_type(onnx::TensorProto::FLOAT);
    short_raw.add_dims(4);
    short_raw.set_raw_data(raw_bytes(std::vector<float>{1, 2}));
    auto p1 = write_pb(dir / "short.pb", short_raw);
    require_invalid([&] { mopt::read_tensor_pb(p1); }, p1, "raw_data holds 8 bytes");

    onnx::TensorProto few;
    few.set_data_type(onnx::TensorProto::INT64);
    few.add_dims(3);
    few.add_int64_data(1);
    auto p2 = write_pb(dir / "few.pb", few);
    require_invalid([&] { mopt::read_tensor_pb(p2); }, p2, "holds 1 values, dims say 3");

    onnx::TensorProto strings;
    strings.set_data_type(onnx::TensorProto::STRING);
    strings.add_dims(1);
    strings.add_string_data("a");
    auto p3 = write_pb(dir / "str.pb", strings);
    require_invalid([&] { mopt::read_tensor_pb(p3); }, p3, "STRING");

    auto garbage = write_file(dir / "garbage.pb", "\xff\xff\xff\xff\xff");
    require_invalid([&] { mopt::read_tensor_pb(garbage); }, garbage, "TensorProto");
    auto empty = write_file(dir / "empty.pb", "");
    require_invalid([&] { mopt::read_tensor_pb(empty); }, empty, "no data_type");
  }

  TEST_CASE("read_tensor_pb agrees with ONNX conformance test data") {
    // test_abs: output_0 = abs(input_0), both float [3,4,5], from Debian's libonnx-testdata.
    fs::path set = "/usr/share/libonnx-testdata/data/node/test_abs/test_data_set_0";
    if (!fs::exists(set / "input_0.pb")) {
      MESSAGE("libonnx-testdata not installed; skipped");
      return;
    }
    auto input = mopt::read_tensor_file(set / "input_0.pb");
    auto output = mopt::read_tensor_file(set / "output_0.pb");
    CHECK(dtype_name(input.scalar_type()) == dtype_name(torch::kFloat));
    CHECK(input.sizes() == torch::IntArrayRef({3, 4, 5}));
    CHECK(output.equal(input.abs()));
  }

  TEST_CASE("read_torch_saved reads tensors, containers and views written by pickle_save") {
    TempDir dir;
    auto t = torch::arange(6, torch::kFloat).view({2, 3});
    CHECK(same(mopt::read_torch_saved(write_pickle(dir / "t.pt", t)), t));

    // A strided view: the saved storage is the whole base tensor with an offset.
    auto base = torch::arange(10, torch::kLong);
    auto view = base.slice(0, 2, 8, 2);
    auto read_view = mopt::read_torch_saved(write_pickle(dir / "view.pt", view));
    CHECK(same(read_view, torch::tensor({2, 4, 6}, torch::kLong)));
    CHECK(read_view.is_contiguous());

    auto tuple =
        c10::ivalue::Tuple::create({c10::IValue(int64_t{3}), torch::ones({2}), torch::zeros({1})});
    CHECK(same(mopt::read_torch_saved(write_pickle(dir / "tuple.pt", tuple)), torch::ones({2})));

    c10::List<torch::Tensor> list({torch::full({1}, 5.0), torch::ones({1})});
    CHECK(same(mopt::read_torch_saved(write_pickle(dir / "list.pt", list)), torch::full({1}, 5.0)));

    c10::Dict<std::string, torch::Tensor> dict;
    dict.insert("inputs", torch::full({2}, 2.0));
    dict.insert("labels", torch::zeros({2}, torch::kLong));
    CHECK(same(mopt::read_torch_saved(write_pickle(dir / "dict.pt", dict)), torch::full({2}, 2.0)));

    auto number = write_pickle(dir / "number.pt", c10::IValue(1.5));
    require_invalid([&] { mopt::read_torch_saved(number); }, number, "no tensor");
    auto not_zip = write_file(dir / "bad.pt", "PK\x03\x04 broken archive");
    require_invalid([&] { mopt::read_torch_saved(not_zip); }, not_zip, "torch.save");
    require_invalid([&] { mopt::read_torch_saved(dir / "missing.pt"); }, dir / "missing.pt",
                    "not found");
  }

  TEST_CASE("files written by Python's torch.save and numpy.save read back") {
    // Made by scripts/fixtures/data_fixtures.py (run by scripts/make_fixtures.sh before ctest).
    if (!fs::exists(kPythonFixtures / "tensor_f32.pt")) {
      MESSAGE("Python data fixtures not found in ", kPythonFixtures.string(), "; skipped");
      return;
    }
    auto expected = torch::arange(6, torch::kFloat).view({2, 3});
    CHECK(same(mopt::read_tensor_file(kPythonFixtures / "tensor_f32.pt"), expected));
    CHECK(same(mopt::read_tensor_file(kPythonFixtures / "view_i64.pt"),
               torch::tensor({2, 4, 6}, torch::kLong)));
    CHECK(same(mopt::read_tensor_file(kPythonFixtures / "pair.pt"),
               torch::tensor({1, 2, 3}, torch::kByte)));
    CHECK(same(mopt::read_tensor_file(kPythonFixtures / "dict.pt"), expected));
    auto legacy = kPythonFixtures / "legacy.pt";
    require_invalid([&] { mopt::read_tensor_file(legacy); }, legacy, "legacy");
    CHECK(same(mopt::read_tensor_file(kPythonFixtures / "numpy_f32.npy"), expected));
    CHECK(same(mopt::read_tensor_file(kPythonFixtures / "numpy_u8.npy"),
               torch::tensor({0, 128, 255}, torch::kByte)));
    CHECK(same(mopt::read_tensor_file(kPythonFixtures / "numpy_bool.npy"),
               torch::tensor({true, false})));
    CHECK(same(mopt::read_tensor_file(kPythonFixtures / "numpy_f16.npy"),
               torch::tensor({0.5f, -2.f}).to(torch::kHalf)));
    auto fortran = kPythonFixtures / "numpy_fortran.npy";
    require_invalid([&] { mopt::read_tensor_file(fortran); }, fortran, "Fortran");
  }

  TEST_CASE("read_tensor_file detects the format from the bytes, not the extension") {
    TempDir dir;
    auto npy =
        write_file(dir / "a.bin", npy_bytes("<i8", "(1,)", raw_bytes(std::vector<int64_t>{42})));
    CHECK(mopt::detect_tensor_format(npy) == mopt::TensorFileFormat::kNpy);
    CHECK(same(mopt::read_tensor_file(npy), torch::tensor({42}, torch::kLong)));
    auto idx = write_file(dir / "b.npy", idx_bytes(0x08, {1}, "\x09"));
    CHECK(mopt::detect_tensor_format(idx) == mopt::TensorFileFormat::kIdx);
    auto idx_gz = write_gz(dir / "c.dat", idx_bytes(0x08, {1}, "\x09"));
    CHECK(same(mopt::read_tensor_file(idx_gz), torch::tensor({9}, torch::kByte)));
    auto pt = write_pickle(dir / "d.npy", torch::ones({1}));
    CHECK(mopt::detect_tensor_format(pt) == mopt::TensorFileFormat::kTorchSaved);
    CHECK(same(mopt::read_tensor_file(pt), torch::ones({1})));
    onnx::TensorProto proto;
    proto.set_data_type(onnx::TensorProto::INT64);
    proto.add_dims(1);
    proto.add_int64_data(5);
    CHECK(same(mopt::read_tensor_file(write_pb(dir / "e.pb", proto)),
               torch::tensor({5}, torch::kLong)));

    auto unknown = write_file(dir / "f.txt", "1,2,3\n");
    require_invalid([&] { mopt::read_tensor_file(unknown); }, unknown, "unrecognised");
    auto empty = write_file(dir / "g.npy", "");
    require_invalid([&] { mopt::read_tensor_file(empty); }, empty, "empty");
    auto gz_text = write_gz(dir / "h.gz", "just text");
    require_invalid([&] { mopt::read_tensor_file(gz_text); }, gz_text, "not IDX");
    require_invalid([&] { mopt::read_tensor_file(dir.path); }, dir.path, "directory");
  }

  TEST_CASE("load_dataset on a file: uint8 -> [0,1] float32, labels from --labels") {
    TempDir dir;
    auto images = write_file(
        dir / "images.npy",
        npy_bytes("|u1", "(3, 1, 1, 2)", raw_bytes(std::vector<uint8_t>{0, 255, 51, 102, 255, 0})));
    auto labels = write_file(dir / "labels.npy",
                             npy_bytes("<i4", "(3,)", raw_bytes(std::vector<int32_t>{2, 0, 1})));
    mopt::DatasetOptions options;
    options.labels_path = labels;
    auto dataset = mopt::load_dataset(images, options);
    CHECK(dataset.size() == 3);
    CHECK(dataset.has_labels());
    CHECK(dtype_name(dataset.inputs.scalar_type()) == dtype_name(torch::kFloat));
    CHECK(dataset.inputs.sizes() == torch::IntArrayRef({3, 1, 1, 2}));
    CHECK(
        torch::allclose(dataset.inputs.flatten(), torch::tensor({0.f, 1.f, 0.2f, 0.4f, 1.f, 0.f})));
    CHECK(same(dataset.labels, torch::tensor({2, 0, 1}, torch::kLong)));
    CHECK(dataset.description == "images.npy: 3 x 1x1x2 uint8->float32, labels 3 classes");

    SUBCASE("without labels") {
      auto unlabeled = mopt::load_dataset(images, {});
      CHECK_FALSE(unlabeled.has_labels());
      CHECK(unlabeled.description == "images.npy: 3 x 1x1x2 uint8->float32, no labels");
    }
    SUBCASE("float64 becomes float32, int64 ids stay, [N,1] labels flatten") {
      auto f64 = write_file(dir / "f64.npy",
                            npy_bytes("<f8", "(2, 2)", raw_bytes(std::vector<double>{1, 2, 3, 4})));
      CHECK(dtype_name(mopt::load_dataset(f64, {}).inputs.scalar_type()) ==
            dtype_name(torch::kFloat));
      auto ids = write_file(
          dir / "ids.npy", npy_bytes("<i8", "(2, 2)", raw_bytes(std::vector<int64_t>{1, 2, 3, 4})));
      auto column = write_file(dir / "col.npy",
                               npy_bytes("|u1", "(2, 1)", raw_bytes(std::vector<uint8_t>{1, 0})));
      mopt::DatasetOptions with_column;
      with_column.labels_path = column;
      auto d = mopt::load_dataset(ids, with_column);
      CHECK(same(d.inputs, torch::tensor({1, 2, 3, 4}, torch::kLong).view({2, 2})));
      CHECK(same(d.labels, torch::tensor({1, 0}, torch::kLong)));
    }
    SUBCASE("IDX images file gains a channel dim") {
      auto idx = write_gz(
          dir / "x-images-idx3-ubyte.gz",
          idx_bytes(0x08, {2, 2, 2}, raw_bytes(std::vector<uint8_t>{0, 0, 0, 255, 255, 0, 0, 0})));
      auto d = mopt::load_dataset(idx, {});
      CHECK(d.inputs.sizes() == torch::IntArrayRef({2, 1, 2, 2}));
      CHECK(d.inputs[0][0][1][1].item<float>() == 1.f);
    }
  }

  TEST_CASE("load_dataset normalizes with one value or one per channel") {
    TempDir dir;
    // Two samples, two channels of 1x1: values 0 and 255 -> 0 and 1.
    auto images = write_file(
        dir / "x.npy",
        npy_bytes("|u1", "(2, 2, 1, 1)", raw_bytes(std::vector<uint8_t>{0, 255, 255, 0})));
    mopt::DatasetOptions options;
    options.mean = {0.5};
    options.std = {0.5};
    auto d = mopt::load_dataset(images, options);
    CHECK(torch::allclose(d.inputs.flatten(), torch::tensor({-1.f, 1.f, 1.f, -1.f})));
    CHECK(d.description.find("normalized") != std::string::npos);

    options.mean = {0.0, 1.0};
    options.std = {1.0, 0.5};
    d = mopt::load_dataset(images, options);
    CHECK(torch::allclose(d.inputs.flatten(), torch::tensor({0.f, 0.f, 1.f, -2.f})));

    options.mean = {0.1, 0.2, 0.3};
    options.std = {1.0};
    require_error([&] { mopt::load_dataset(images, options); }, ExitCode::kUsage,
                  {"3 values", "expected 1 or 2"});
    options.mean = {0.5};
    options.std = {};
    require_error([&] { mopt::load_dataset(images, options); }, ExitCode::kUsage, {"MEAN and STD"});
    options.std = {0.0};
    require_error([&] { mopt::load_dataset(images, options); }, ExitCode::kUsage, {"zero"});
  }

  TEST_CASE("load_dataset reports bad data as invalid input naming the file") {
    TempDir dir;
    auto images = write_file(dir / "x.npy",
                             npy_bytes("<f4", "(3, 2)", raw_bytes(std::vector<float>(6, 1.f))));
    mopt::DatasetOptions options;

    options.labels_path = write_file(
        dir / "two.npy", npy_bytes("<i8", "(2,)", raw_bytes(std::vector<int64_t>{0, 1})));
    require_invalid([&] { mopt::load_dataset(images, options); }, options.labels_path,
                    "has 2 labels but");
    options.labels_path = write_file(
        dir / "float.npy", npy_bytes("<f4", "(3,)", raw_bytes(std::vector<float>{0, 1, 2})));
    require_invalid([&] { mopt::load_dataset(images, options); }, options.labels_path,
                    "expected integer");
    options.labels_path = write_file(
        dir / "rank2.npy", npy_bytes("<i8", "(3, 2)", raw_bytes(std::vector<int64_t>(6, 0))));
    require_invalid([&] { mopt::load_dataset(images, options); }, options.labels_path,
                    "expected 1-D");
    options.labels_path = write_file(
        dir / "neg.npy", npy_bytes("<i8", "(3,)", raw_bytes(std::vector<int64_t>{0, -1, 2})));
    require_invalid([&] { mopt::load_dataset(images, options); }, options.labels_path, "negative");
    options.labels_path = dir / "absent.npy";
    require_invalid([&] { mopt::load_dataset(images, options); }, options.labels_path, "not found");

    auto rank1 = write_file(dir / "r1.npy",
                            npy_bytes("<f4", "(3,)", raw_bytes(std::vector<float>{1, 2, 3})));
    require_invalid([&] { mopt::load_dataset(rank1, {}); }, rank1, "rank >= 2");
    auto none = write_file(dir / "none.npy", npy_bytes("<f4", "(0, 3)", ""));
    require_invalid([&] { mopt::load_dataset(none, {}); }, none, "no samples");
    auto bools = write_file(dir / "b.npy",
                            npy_bytes("|b1", "(1, 2)", raw_bytes(std::vector<uint8_t>{0, 1})));
    require_invalid([&] { mopt::load_dataset(bools, {}); }, bools, "dtype bool");
    auto truncated = write_file(dir / "t.npy",
                                npy_bytes("<f4", "(30, 2)", raw_bytes(std::vector<float>(6, 1.f))));
    require_invalid([&] { mopt::load_dataset(truncated, {}); }, truncated, "truncated");
    require_invalid([&] { mopt::load_dataset(dir / "missing", {}); }, dir / "missing", "not found");

    mopt::DatasetOptions split;
    split.split = "train";
    require_error([&] { mopt::load_dataset(images, split); }, ExitCode::kUsage, {"--split"});
    split.split = "validation";
    require_error([&] { mopt::load_dataset(images, split); }, ExitCode::kUsage, {"validation"});
  }

  TEST_CASE("load_dataset on a directory: inputs.npy + labels.npy") {
    TempDir dir;
    write_file(dir / "inputs.npy",
               npy_bytes("<f4", "(2, 3)", raw_bytes(std::vector<float>{1, 2, 3, 4, 5, 6})));
    write_file(dir / "labels.npy", npy_bytes("<i8", "(2,)", raw_bytes(std::vector<int64_t>{1, 0})));
    auto d = mopt::load_dataset(dir.path, {});
    CHECK(d.size() == 2);
    CHECK(same(d.labels, torch::tensor({1, 0}, torch::kLong)));
    CHECK(d.description.find(": 2 x 3 float32, labels 2 classes") != std::string::npos);

    mopt::DatasetOptions train;
    train.split = "train";
    require_invalid([&] { mopt::load_dataset(dir.path, train); }, dir.path, "drop --split");
    mopt::DatasetOptions labels;
    labels.labels_path = dir / "labels.npy";
    require_error([&] { mopt::load_dataset(dir.path, labels); }, ExitCode::kUsage, {"--labels"});

    fs::remove(dir / "labels.npy");
    require_invalid([&] { mopt::load_dataset(dir.path, {}); }, dir.path, "no labels.npy");
    fs::remove(dir / "inputs.npy");
    write_file(dir / "readme.txt", "nothing here");
    require_invalid([&] { mopt::load_dataset(dir.path, {}); }, dir.path, "no dataset found");
  }

  TEST_CASE("load_dataset on a multi-input directory: input_0, input_1... rows aligned, labels optional") {
    TempDir dir;
    write_file(dir / "input_0.npy", npy_bytes("<i8", "(2, 3)", raw_bytes(std::vector<int64_t>{1, 2, 3, 4, 5, 6})));
    write_file(dir / "input_1.npy", npy_bytes("<f4", "(2, 1)", raw_bytes(std::vector<float>{0.5f, 1.5f})));
    auto d = mopt::load_dataset(dir.path, {});
    CHECK(d.size() == 2);
    CHECK_FALSE(d.has_labels());
    REQUIRE(d.more_inputs.size() == 1);
    CHECK(same(d.inputs, torch::tensor({1, 2, 3, 4, 5, 6}, torch::kLong).view({2, 3})));  // ids stay int64
    CHECK(same(d.more_inputs[0], torch::tensor({0.5f, 1.5f}).view({2, 1})));
    auto first = d.head(1);
    CHECK(first.size() == 1);
    CHECK(first.more_inputs[0].size(0) == 1);
    CHECK(d.input_rows(1, 2)[1].item<float>() == 1.5f);

    write_file(dir / "labels.npy", npy_bytes("<i8", "(2,)", raw_bytes(std::vector<int64_t>{1, 0})));
    CHECK(mopt::load_dataset(dir.path, {}).has_labels());
    mopt::DatasetOptions normalized;
    normalized.mean = {0.5};
    normalized.std = {1.0};
    require_error([&] { mopt::load_dataset(dir.path, normalized); }, ExitCode::kUsage, {"single-input"});

    write_file(dir / "input_1.npy", npy_bytes("<f4", "(3, 1)", raw_bytes(std::vector<float>{1, 2, 3})));
    require_invalid([&] { mopt::load_dataset(dir.path, {}); }, dir / "input_1.npy", "aligned row by row");
    fs::rename(dir / "input_1.npy", dir / "input_2.npy");
    require_invalid([&] { mopt::load_dataset(dir.path, {}); }, dir.path, "no input_1");
    write_file(dir / "inputs.npy", npy_bytes("<f4", "(2, 1)", raw_bytes(std::vector<float>{1, 2})));
    require_invalid([&] { mopt::load_dataset(dir.path, {}); }, dir.path, "one dataset per folder");
  }

  TEST_CASE("inputs without the row axis (a state, a scalar) are fed whole to every batch") {
    // x [3, 4] holds 3 samples; h0 [2, 3, 5] and a scalar beside it have no row axis.
    std::vector<torch::Tensor> inputs{torch::arange(12.0).view({3, 4}), torch::ones({2, 3, 5}), torch::tensor(0.5)};
    CHECK(mopt::row_count(inputs) == 3);  // the first input's dim 0
    CHECK(mopt::row_count({torch::tensor(0.5), inputs[0]}) == 3);  // a scalar has none
    auto rows = mopt::slice_rows(inputs, 1, 3);
    CHECK(rows[0].sizes() == torch::IntArrayRef({2, 4}));
    CHECK(rows[1].sizes() == torch::IntArrayRef({2, 3, 5}));
    CHECK(rows[2].dim() == 0);
    CHECK(mopt::row_count({torch::tensor(1.0)}) == 1);

    mopt::Dataset d;
    d.inputs = inputs[0];
    d.more_inputs = {inputs[1], inputs[2]};
    CHECK(d.size() == 3);
    CHECK(d.head(2).more_inputs[0].sizes() == torch::IntArrayRef({2, 3, 5}));
    auto picked = d.rows(torch::tensor({2, 0}, torch::kLong));
    CHECK(same(picked.inputs[0], inputs[0][2]));
    CHECK(picked.more_inputs[1].dim() == 0);
    auto batches = mopt::batch_inputs_at(d, 1, 2);  // the short last batch
    CHECK(batches[0].size(0) == 1);
    CHECK(batches[1].size(0) == 2);

    // A folder of one sample may hold inputs of any shape beside it; with more samples they must align.
    TempDir dir;
    write_file(dir / "input_0.npy", npy_bytes("<f4", "(1, 2)", raw_bytes(std::vector<float>{1, 2})));
    write_file(dir / "input_1.npy", npy_bytes("<f4", "(2, 1, 1)", raw_bytes(std::vector<float>{3, 4})));
    write_file(dir / "input_2.npy", npy_bytes("<f4", "()", raw_bytes(std::vector<float>{0.5f})));
    auto folder = mopt::load_dataset(dir.path, {});
    CHECK(folder.size() == 1);
    CHECK(folder.more_inputs[0].sizes() == torch::IntArrayRef({2, 1, 1}));
    CHECK(folder.more_inputs[1].item<float>() == 0.5f);
    CHECK(folder.description.find("(whole)") != std::string::npos);
    write_file(dir / "input_0.npy", npy_bytes("<f4", "(2, 1)", raw_bytes(std::vector<float>{1, 2})));
    require_invalid([&] { mopt::load_dataset(dir.path, {}); }, dir / "input_2.npy", "rank >= 2");
  }

  TEST_CASE("load_dataset reads an ONNX conformance test_data_set folder as a multi-input dataset") {
    // test_add: output_0 = input_0 + input_1, float [3,4,5] each, from Debian's libonnx-testdata.
    fs::path set = "/usr/share/libonnx-testdata/data/node/test_add/test_data_set_0";
    if (!fs::exists(set / "input_1.pb")) {
      MESSAGE("libonnx-testdata not installed; skipped");
      return;
    }
    auto d = mopt::load_dataset(set, {});
    REQUIRE(d.more_inputs.size() == 1);
    CHECK(d.inputs.sizes() == torch::IntArrayRef({3, 4, 5}));
    CHECK(mopt::read_tensor_file(set / "output_0.pb").allclose(d.inputs + d.more_inputs[0]));
  }

  TEST_CASE("load_dataset on a directory of IDX pairs picks the split") {
    for (bool gz : {false, true}) {
      CAPTURE(gz);
      TempDir dir;
      write_idx_pairs(dir, gz);
      auto test = mopt::load_dataset(dir.path, {});  // default_split "test" -> t10k
      CHECK(test.size() == 2);
      CHECK(test.inputs.sizes() == torch::IntArrayRef({2, 1, 2, 2}));
      CHECK(same(test.labels, torch::tensor({1, 4}, torch::kLong)));
      CHECK(test.description.find(" test split: 2 x 1x2x2 uint8->float32, labels 5 classes") !=
            std::string::npos);

      mopt::DatasetOptions options;
      options.default_split = "train";
      auto train = mopt::load_dataset(dir.path, options);
      CHECK(train.size() == 3);
      CHECK(train.inputs[0][0][0][1].item<float>() == 1.f);
      CHECK(train.inputs[0][0][1][0].item<float>() == doctest::Approx(0.2));
      options.split = "test";
      CHECK(mopt::load_dataset(dir.path, options).size() == 2);
    }
  }

  TEST_CASE("load_dataset on IDX directories with missing or mismatched pairs") {
    TempDir dir;
    write_idx_pairs(dir, false);
    auto labels = dir / "t10k-labels-idx1-ubyte";
    write_file(labels, idx_bytes(0x08, {3}, "\x01\x02\x03"));
    require_invalid([&] { mopt::load_dataset(dir.path, {}); }, labels, "has 3 labels but");
    write_file(labels, idx_bytes(0x0D, {2}, big_endian(std::vector<float>{1, 2})));
    require_invalid([&] { mopt::load_dataset(dir.path, {}); }, labels, "expected integer");
    fs::remove(labels);
    require_invalid([&] { mopt::load_dataset(dir.path, {}); }, dir / "t10k-images-idx3-ubyte",
                    "t10k-labels-idx1-ubyte");

    // Only a train pair: a default split takes it, an explicit --split test is refused.
    fs::remove(dir / "t10k-images-idx3-ubyte");
    CHECK(mopt::load_dataset(dir.path, {}).size() == 3);
    mopt::DatasetOptions test;
    test.split = "test";
    require_invalid([&] { mopt::load_dataset(dir.path, test); }, dir.path, "only the train split");
  }

  TEST_CASE("Fashion-MNIST from Debian's dataset-fashion-mnist") {
    if (!fs::exists(kFashionMnist / "t10k-images-idx3-ubyte.gz")) {
      MESSAGE(kFashionMnist.string(), " not installed; skipped");
      return;
    }
    auto test = mopt::load_dataset(kFashionMnist, {});
    CHECK(test.description ==
          "fashion-mnist test split: 10000 x 1x28x28 uint8->float32, labels 10 classes");
    CHECK(test.inputs.sizes() == torch::IntArrayRef({10000, 1, 28, 28}));
    CHECK(dtype_name(test.inputs.scalar_type()) == dtype_name(torch::kFloat));
    CHECK(test.inputs.min().item<float>() == 0.f);
    CHECK(test.inputs.max().item<float>() == 1.f);
    CHECK(test.labels.sizes() == torch::IntArrayRef({10000}));
    CHECK(dtype_name(test.labels.scalar_type()) == dtype_name(torch::kLong));
    // The test split is balanced: 1000 of each class.
    CHECK(same(torch::bincount(test.labels), torch::full({10}, 1000, torch::kLong)));

    mopt::DatasetOptions train;
    train.split = "train";
    auto d = mopt::load_dataset(kFashionMnist, train);
    CHECK(d.size() == 60000);
    CHECK(d.description.rfind("fashion-mnist train split: 60000 x 1x28x28", 0) == 0);
    CHECK(d.labels.min().item<int64_t>() == 0);
    CHECK(d.labels.max().item<int64_t>() == 9);
    CHECK(d.inputs.max().item<float>() <= 1.f);

    mopt::DatasetOptions normalized;  // the usual Fashion-MNIST statistics
    normalized.mean = {0.2860};
    normalized.std = {0.3530};
    auto n = mopt::load_dataset(kFashionMnist, normalized);
    CHECK(n.inputs.mean().item<double>() == doctest::Approx(0.0).epsilon(0.02));
  }

  TEST_CASE("parse_number_list") {
    CHECK(mopt::parse_number_list("0.5") == std::vector<double>{0.5});
    CHECK(mopt::parse_number_list("0.485, 0.456,0.406") ==
          std::vector<double>{0.485, 0.456, 0.406});
    CHECK(mopt::parse_number_list("-1e-3") == std::vector<double>{-1e-3});
    for (const char* bad : {"", "0.5,", ",1", "a", "1,,2", "nan", "inf", "1.5x", "1e999"})
      require_error([&] { mopt::parse_number_list(bad); }, ExitCode::kUsage, {"number"});
  }

  TEST_CASE("parse_input_spec") {
    auto full = mopt::parse_input_spec("input.1:1x3x224x224:float32");
    CHECK(full.name == "input.1");
    CHECK(full.shape == std::vector<int64_t>{1, 3, 224, 224});
    CHECK(dtype_name(full.dtype) == dtype_name(torch::kFloat));
    auto bare = mopt::parse_input_spec("1x3x224x224");
    CHECK(bare.name.empty());
    CHECK(bare.shape == std::vector<int64_t>{1, 3, 224, 224});
    CHECK(dtype_name(bare.dtype) == dtype_name(torch::kFloat));
    auto named = mopt::parse_input_spec("x:1x784");
    CHECK(named.name == "x");
    CHECK(named.shape == std::vector<int64_t>{1, 784});
    auto typed = mopt::parse_input_spec("4x16:int64");
    CHECK(typed.name.empty());
    CHECK(typed.shape == std::vector<int64_t>{4, 16});
    CHECK(dtype_name(typed.dtype) == dtype_name(torch::kLong));
    CHECK(dtype_name(mopt::parse_input_spec("a:8:float64").dtype) == dtype_name(torch::kDouble));
    CHECK(dtype_name(mopt::parse_input_spec("a:8:float16").dtype) == dtype_name(torch::kHalf));
    CHECK(dtype_name(mopt::parse_input_spec("a:8:int32").dtype) == dtype_name(torch::kInt));
    CHECK(dtype_name(mopt::parse_input_spec("a:8:uint8").dtype) == dtype_name(torch::kByte));

    auto scalar = mopt::parse_input_spec("temperature::float32");  // a rank-0 input, as mopt prints one
    CHECK(scalar.name == "temperature");
    CHECK(scalar.shape.empty());
    CHECK(mopt::synthetic_input(scalar, 0).dim() == 0);

    for (const char* bad : {"", "x:", ":1x3", "1x0x3", "::float32", "x::", "1x-3", "1xx3", "1x3x", "x:1x3:complex64",
                            "x:1x3:float32:extra", "x:y", "x:1.5x3", ":1x3:float32",
                            "x:1x3:", "1x3:float8"})
      require_error([&] { mopt::parse_input_spec(bad); }, ExitCode::kUsage,
                    {"bad input spec", "[NAME:]SHAPE[:DTYPE]"});
  }

  TEST_CASE("input names with ':', ';', '\\' and spaces round-trip through the printed spec") {
    // PyTorch's exporter names inputs like this; the name is everything before the shape.
    auto torch_name = mopt::parse_input_spec("onnx::Flatten_0:1x25x96:float32");
    CHECK(torch_name.name == "onnx::Flatten_0");
    CHECK(torch_name.shape == std::vector<int64_t>{1, 25, 96});
    CHECK(mopt::parse_input_spec("onnx::Flatten_0:1x25x96").name == "onnx::Flatten_0");
    CHECK(mopt::parse_input_spec("a b:1x3").name == "a b");
    for (const std::string name : {"onnx::Flatten_0", "a;b", "back\\slash;", "x:1x3", "plain"}) {
      CAPTURE(name);
      auto text = mopt::escape_input_name(name) + ":2x3:int64;" + mopt::escape_input_name(name) + "2:4";
      auto specs = mopt::parse_input_specs(text);
      REQUIRE(specs.size() == 2);
      CHECK(specs[0].name == name);
      CHECK(specs[0].shape == std::vector<int64_t>{2, 3});
      CHECK(dtype_name(specs[0].dtype) == dtype_name(torch::kLong));
      CHECK(specs[1].name == name + "2");
      CHECK(specs[1].shape == std::vector<int64_t>{4});
    }
  }

  TEST_CASE("synthetic_input is seeded, reproducible and leaves the global seed alone") {
    auto spec = mopt::parse_input_spec("x:2x3x4");
    torch::manual_seed(123);
    auto expected_global = torch::rand({4});
    torch::manual_seed(123);
    auto a = mopt::synthetic_input(spec, 7);
    auto b = mopt::synthetic_input(spec, 7);
    auto c = mopt::synthetic_input(spec, 8);
    CHECK(same(torch::rand({4}), expected_global));  // global stream untouched
    CHECK(a.sizes() == torch::IntArrayRef({2, 3, 4}));
    CHECK(dtype_name(a.scalar_type()) == dtype_name(torch::kFloat));
    CHECK(same(a, b));
    CHECK_FALSE(a.equal(c));

    auto big = mopt::synthetic_input(mopt::parse_input_spec("10000"), 1);
    CHECK(big.mean().item<double>() == doctest::Approx(0.0).epsilon(0.05));
    CHECK(big.std().item<double>() == doctest::Approx(1.0).epsilon(0.05));

    auto half = mopt::synthetic_input(mopt::parse_input_spec("2x3x4:float16"), 7);
    CHECK(dtype_name(half.scalar_type()) == dtype_name(torch::kHalf));
    CHECK(torch::allclose(half.to(torch::kFloat), a, 1e-2, 1e-2));

    // Every dtype a graph input may declare (the specs mopt prints paste back).
    for (const char* dtype : {"int64", "int32", "int16", "int8", "uint8", "uint16", "uint32", "uint64"}) {
      CAPTURE(dtype);
      auto ids = mopt::synthetic_input(mopt::parse_input_spec(std::string("1000:") + dtype), 3);
      CHECK(mopt::data_detail::dtype_name(ids.scalar_type()) == dtype);
      CHECK(ids.to(torch::kLong).min().item<int64_t>() == 0);
      CHECK(ids.to(torch::kLong).max().item<int64_t>() == 9);
      CHECK(same(ids,
                 mopt::synthetic_input(mopt::parse_input_spec(std::string("1000:") + dtype), 3)));
    }
  }

  TEST_CASE("a bool input spec draws both values") {
    auto mask = mopt::synthetic_input(mopt::parse_input_spec("1000:bool"), 3);
    CHECK(mopt::data_detail::dtype_name(mask.scalar_type()) == "bool");
    CHECK(mask.any().item<bool>());
    CHECK(!mask.all().item<bool>());
  }

  TEST_CASE("batching covers every row once, the last batch short") {
    auto t = torch::arange(10).view({10, 1});
    CHECK(mopt::batch_count(10, 4) == 3);
    CHECK(mopt::batch_count(8, 4) == 2);
    CHECK(mopt::batch_count(0, 4) == 0);
    CHECK(mopt::batch_count(3, 100) == 1);
    CHECK(same(mopt::batch_slice(t, 0, 4), torch::arange(0, 4).view({4, 1})));
    CHECK(same(mopt::batch_slice(t, 1, 4), torch::arange(4, 8).view({4, 1})));
    CHECK(same(mopt::batch_slice(t, 2, 4), torch::arange(8, 10).view({2, 1})));
    CHECK(same(mopt::batch_slice(t, 0, 100), t));
    int64_t total = 0;
    for (int64_t i = 0; i < mopt::batch_count(t.size(0), 3); ++i)
      total += mopt::batch_slice(t, i, 3).size(0);
    CHECK(total == 10);

    require_error([&] { mopt::batch_count(10, 0); }, ExitCode::kUsage, {"batch size"});
    require_error([&] { mopt::batch_slice(t, 0, -1); }, ExitCode::kUsage, {"batch size"});
    require_error([&] { mopt::batch_slice(t, 3, 4); }, ExitCode::kRuntimeFailure, {"out of range"});
    require_error([&] { mopt::batch_slice(t, -1, 4); }, ExitCode::kRuntimeFailure,
                  {"out of range"});
  }

}  // TEST_SUITE("data")
