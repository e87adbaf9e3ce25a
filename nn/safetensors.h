#pragma once
/// safetensors: the checkpoint format of Hugging Face and PyTorch users. A file is
/// an 8-byte little-endian header length N, N bytes of JSON naming each tensor's
/// dtype, shape and byte range, then the raw row-major little-endian data.
/// Ember reads and writes F32, F64, I64, U8 and BOOL; reading checks everything
/// the reference reader checks (and a little more), so a bad file is an
/// ember::Error naming the file and the problem, never a crash.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ember/core/named_tensors.h"

namespace ember::safetensors {

using ember::NamedTensors;

/// A loaded file: tensors in the order of their data offsets (the file's own
/// order; the order save() writes), and the "__metadata__" strings.
struct File {
  NamedTensors tensors;
  std::map<std::string, std::string> metadata;
};

/// Writes `tensors` (and `metadata`, if any) to `path` atomically (an AtomicFile: a
/// temporary, unnamed where the file system allows, fsync, rename), laid out as the
/// reference writer does: widest dtype first, then by name. On failure, or if the process
/// is killed, the old file is untouched and ember::Error names the path and the reason.
void save(const std::string& path, const NamedTensors& tensors,
          const std::map<std::string, std::string>& metadata = {});

/// Reads and validates the safetensors file at `path` (see parse()).
File load(const std::string& path);

/// Parses a whole safetensors file held in memory; `name_for_errors` prefixes messages.
/// The data is copied into new contiguous tensors, so `bytes` needs no alignment.
File parse(const std::uint8_t* bytes, std::size_t size, const std::string& name_for_errors);

}  // namespace ember::safetensors
