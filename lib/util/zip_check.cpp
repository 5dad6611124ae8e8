// Zip layout (APPNOTE.TXT): [local header + data]... central directory, [zip64 end record, zip64
// locator], end-of-central-directory record (+ comment). Little-endian throughout.
#include "lib/util/zip_check.h"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <vector>

#include "lib/errors.h"
#include "lib/util/little_endian.h"
#include "lib/util/pickle_check.h"
#include "lib/util/torchscript_code_check.h"

namespace mopt {
namespace {

constexpr uint32_t kEndSignature = 0x06054b50;
constexpr uint32_t kZip64EndSignature = 0x06064b50;
constexpr uint32_t kZip64LocatorSignature = 0x07064b50;
constexpr uint32_t kCentralSignature = 0x02014b50;
constexpr uint32_t kLocalSignature = 0x04034b50;
constexpr uint64_t kEndSize = 22, kZip64EndSize = 56, kZip64LocatorSize = 20, kCentralSize = 46, kLocalSize = 30;
constexpr uint64_t kMaxComment = 0xffff;
constexpr uint64_t kDeflateMaxRatio = 1032;  // deflate cannot expand data by more than this

// Short: the record layouts below read field by field.
uint64_t le(const unsigned char* p, int bytes) { return read_little_endian(p, bytes); }

class ZipWalker {
 public:
  ZipWalker(uint64_t size, const ZipReadAt& read_at, const std::string& what) : size_(size), read_at_(read_at), what_(what) {}

  void walk() {
    const uint64_t end = find_end_record();
    std::vector<unsigned char> record = read(end, kEndSize, "end-of-central-directory record");
    uint64_t entries = le(&record[10], 2), cd_size = le(&record[12], 4), cd_offset = le(&record[16], 4);
    if (le(&record[4], 2) != 0 || le(&record[6], 2) != 0) fail("spans several disks");
    if (end >= kZip64LocatorSize && signature_at(end - kZip64LocatorSize) == kZip64LocatorSignature) {
      auto locator = read(end - kZip64LocatorSize, kZip64LocatorSize, "zip64 locator");
      auto zip64 = read(le(&locator[8], 8), kZip64EndSize, "zip64 end record");
      if (le(&zip64[0], 4) != kZip64EndSignature) fail("its zip64 locator points at no zip64 end record");
      entries = le(&zip64[32], 8);
      cd_size = le(&zip64[40], 8);
      cd_offset = le(&zip64[48], 8);
    }
    if (!inside(cd_offset, cd_size)) fail(fmt::format("its central directory ({} bytes at {}) lies outside the file", cd_size, cd_offset));
    // Each entry takes at least kCentralSize bytes: a count beyond that is a lie (and an allocation).
    if (entries > cd_size / kCentralSize) fail(fmt::format("declares {} members in a {}-byte central directory", entries, cd_size));
    uint64_t offset = cd_offset;
    for (uint64_t i = 0; i < entries; ++i) offset = check_member(offset, cd_offset + cd_size, i);
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw invalid_input(fmt::format("{}: not a valid zip archive (TorchScript/torch.save): {}", what_, why));
  }

  static constexpr uint64_t kMaxCodeMember = 64ull << 20;  // code and metadata are kilobytes; 64 MiB is generous

  static bool ends_with(const std::string& text, const std::string& suffix) {
    return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
  }

  // Pickles LibTorch unpickles: data.pkl, constants.pkl, and the source ranges of each code file
  // (code/....py.debug_pkl, which LibTorch reads too; a 4 KB file declared a 30 GB string there).
  static bool is_pickle(const std::string& member) { return ends_with(member, ".pkl") || ends_with(member, ".debug_pkl"); }

  // Small members LibTorch parses or compiles (code, pickles, JSON metadata), whose CRC is cheap to
  // check; tensor data is only copied, never parsed.
  static bool is_code_or_metadata(const std::string& member) {
    return ends_with(member, ".py") || is_pickle(member) || ends_with(member, ".json") || ends_with(member, "/version");
  }

  // A deflated member's bytes: exactly `size` of them, or the archive is refused.
  std::vector<unsigned char> inflated(const std::string& member, std::vector<unsigned char> deflated, uint64_t size) const {
    if (size > kMaxCodeMember) fail(fmt::format("member '{}' declares {} bytes of code or metadata", member, size));
    std::vector<unsigned char> out(size + 1);  // one spare byte shows a member longer than declared
    z_stream stream{};
    if (inflateInit2(&stream, -MAX_WBITS) != Z_OK) fail("zlib cannot inflate");
    stream.next_in = deflated.data();
    stream.avail_in = static_cast<uInt>(deflated.size());
    stream.next_out = out.data();
    stream.avail_out = static_cast<uInt>(out.size());
    const int status = inflate(&stream, Z_FINISH);
    const uint64_t produced = stream.total_out;
    inflateEnd(&stream);
    if (status != Z_STREAM_END || produced != size) fail(fmt::format("member '{}' does not inflate to its declared {} bytes", member, size));
    out.resize(size);
    return out;
  }

  bool inside(uint64_t offset, uint64_t length) const { return offset <= size_ && length <= size_ - offset; }

  std::vector<unsigned char> read(uint64_t offset, uint64_t length, const char* record) const {
    if (!inside(offset, length)) fail(fmt::format("its {} ({} bytes at {}) lies outside the file", record, length, offset));
    std::vector<unsigned char> bytes(length);
    if (length > 0) read_at_(offset, bytes.data(), length);  // an empty member has no buffer to copy into
    return bytes;
  }

  uint32_t signature_at(uint64_t offset) const {
    if (!inside(offset, 4)) return 0;
    unsigned char bytes[4];
    read_at_(offset, bytes, 4);
    return static_cast<uint32_t>(le(bytes, 4));
  }

  // The end record: the last signature in the file's final 64 KiB, as miniz finds it, whose comment
  // must end exactly where the file ends (anything else means a truncated or padded archive).
  uint64_t find_end_record() const {
    if (size_ < kEndSize) fail(fmt::format("{} bytes is too short for a zip archive", size_));
    const uint64_t lowest = size_ - kEndSize > kMaxComment ? size_ - kEndSize - kMaxComment : 0;
    auto tail = read(lowest, size_ - lowest, "tail");
    for (uint64_t at = size_ - kEndSize + 1; at-- > lowest;) {
      const unsigned char* p = &tail[at - lowest];
      if (le(p, 4) != kEndSignature) continue;
      if (at + kEndSize + le(p + 20, 2) != size_) fail("its end-of-central-directory record does not end the file");
      return at;
    }
    fail("no end-of-central-directory record");
  }

  // One central directory entry at `offset` (inside [.., cd_end)); returns the next entry's offset.
  uint64_t check_member(uint64_t offset, uint64_t cd_end, uint64_t index) const {
    if (offset > cd_end || cd_end - offset < kCentralSize) fail(fmt::format("member {} runs past the central directory", index));
    auto header = read(offset, kCentralSize, "central directory entry");
    if (le(&header[0], 4) != kCentralSignature) fail(fmt::format("member {} has no central directory signature", index));
    const uint64_t method = le(&header[10], 2), name = le(&header[28], 2), extra = le(&header[30], 2), comment = le(&header[32], 2);
    uint64_t compressed = le(&header[20], 4), uncompressed = le(&header[24], 4), local = le(&header[42], 4);
    const uint64_t variable = name + extra + comment;
    if (cd_end - offset - kCentralSize < variable) fail(fmt::format("member {}'s name and fields run past the central directory", index));
    if (name == 0) fail(fmt::format("member {} has no name", index));
    if (extra > 0) read_zip64_sizes(read(offset + kCentralSize + name, extra, "extra field"), uncompressed, compressed, local);
    if (method != 0 && method != 8) fail(fmt::format("member {} uses compression method {} (stored or deflate expected)", index, method));
    if (method == 0 && compressed != uncompressed) fail(fmt::format("stored member {} declares {} bytes but holds {}", index, uncompressed, compressed));
    if (method == 8 && uncompressed / kDeflateMaxRatio > compressed + 1) {
      fail(fmt::format("member {} declares {} bytes from {} deflated ones", index, uncompressed, compressed));
    }
    auto local_header = read(local, kLocalSize, "local header");
    if (le(&local_header[0], 4) != kLocalSignature) fail(fmt::format("member {} has no local header where it says", index));
    const uint64_t data = local + kLocalSize + le(&local_header[26], 2) + le(&local_header[28], 2);
    if (!inside(data, compressed)) fail(fmt::format("member {}'s data ({} bytes at {}) lies outside the file", index, compressed, data));
    auto name_bytes = read(offset + kCentralSize, name, "member name");
    const std::string member(name_bytes.begin(), name_bytes.end());
    if (is_code_or_metadata(member)) {
      auto bytes = method == 0 ? read(data, compressed, "member") : inflated(member, read(data, compressed, "member"), uncompressed);
      // LibTorch's reader hands a member whose bytes fail their CRC to its compiler, which crashed
      // (SEGV in parseClassConstant) on a code file with one flipped bit.
      const auto crc = crc32(crc32(0L, Z_NULL, 0), bytes.data(), static_cast<uInt>(bytes.size()));
      if (crc != le(&header[16], 4)) fail(fmt::format("member '{}' is corrupt (its CRC-32 does not match its bytes)", member));
      if (ends_with(member, ".py")) {
        auto problem = torchscript_code_problem(std::string(bytes.begin(), bytes.end()));
        if (!problem.empty()) fail(fmt::format("its code '{}' is corrupt: {}", member, problem));
      }
      if (is_pickle(member)) {
        auto problem = pickle_length_problem(bytes.data(), bytes.size());
        if (!problem.empty()) fail(fmt::format("its pickle '{}' is corrupt: {}", member, problem));
      }
    }
    return offset + kCentralSize + variable;
  }

  // The zip64 extended-information field (id 1) replaces the 32-bit fields that read 0xffffffff,
  // in this order: uncompressed size, compressed size, local header offset.
  void read_zip64_sizes(const std::vector<unsigned char>& extra, uint64_t& uncompressed, uint64_t& compressed,
                        uint64_t& local) const {
    size_t at = 0;
    while (at + 4 <= extra.size()) {
      const uint64_t id = le(&extra[at], 2), length = le(&extra[at + 2], 2);
      if (length > extra.size() - at - 4) fail("an extra field runs past its entry");
      if (id == 1) {
        size_t field = at + 4;
        for (uint64_t* value : {&uncompressed, &compressed, &local}) {
          if (*value != 0xffffffff) continue;
          if (field + 8 > at + 4 + length) fail("a zip64 field is shorter than the sizes it replaces");
          *value = le(&extra[field], 8);
          field += 8;
        }
      }
      at += 4 + length;
    }
  }

  uint64_t size_;
  const ZipReadAt& read_at_;
  std::string what_;
};

}  // namespace

void check_zip_structure(uint64_t size, const ZipReadAt& read_at, const std::string& what) {
  ZipWalker(size, read_at, what).walk();
}

void check_zip_bytes(const std::string& bytes, const std::string& what) {
  check_zip_structure(bytes.size(), [&](uint64_t offset, void* out, size_t n) { std::memcpy(out, bytes.data() + offset, n); },
                      what);
}

void check_zip_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (!in || ec) throw invalid_input(fmt::format("{}: cannot read the file", path.string()));
  check_zip_structure(size, [&](uint64_t offset, void* out, size_t n) {
    in.seekg(static_cast<std::streamoff>(offset));
    in.read(static_cast<char*>(out), static_cast<std::streamsize>(n));
    if (!in) throw invalid_input(fmt::format("{}: the file changed or could not be read while checking it", path.string()));
  }, path.string());
}

}  // namespace mopt
