#pragma once
// A structural check of zip archives (TorchScript models, torch.save files) before LibTorch reads
// them. LibTorch 1.13's reader (miniz behind caffe2::serialize::PyTorchStreamReader) trusts the
// offsets and sizes an archive declares: fuzzing found heap-buffer-overflow and use-after-free reads
// and 4 GB allocations on mutated files. This walks what the reader walks (end-of-central-directory
// record, zip64 records, every central and local header) and refuses an archive whose records do
// not lie inside the file or whose sizes do not add up.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

namespace mopt {

/// Reads `n` bytes at `offset` into `out`; the caller guarantees offset + n <= the archive's size.
using ZipReadAt = std::function<void(uint64_t offset, void* out, size_t n)>;

/// Throws invalid_input("WHAT: ...") unless the archive of `size` bytes read through `read_at` is
/// structurally sound: one end record, the central directory and every local header and member's
/// data inside the file, stored members of their declared size, deflated ones within deflate's
/// 1032:1 bound, every code and metadata member (.py, .pkl, .json, version; stored or deflated)
/// matching its CRC-32, every `.pkl` member's declared lengths within it (pickle_check.h), and
/// every `.py` member's class bodies typed (torchscript_code_check.h).
void check_zip_structure(uint64_t size, const ZipReadAt& read_at, const std::string& what);

/// The same for an archive in memory.
void check_zip_bytes(const std::string& bytes, const std::string& what);

/// The same for an archive file (reads only the records, not the members' data).
void check_zip_file(const std::filesystem::path& path);

}  // namespace mopt
