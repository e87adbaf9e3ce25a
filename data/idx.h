#pragma once
/// Readers for the IDX format MNIST ships in: two zero bytes, a type code, the
/// number of dims, each dim as a big-endian uint32, then the data. Files may be
/// gzip-compressed (detected by the magic bytes 1f 8b). Every size the header
/// declares is checked before allocating: against the file's length, or for gzip
/// against the cap below and what the compressed bytes can hold; a gzip file is
/// then inflated straight into the tensor and must end exactly where the header says.
#include <cstddef>
#include <cstdint>
#include <string>

#include "ember/core/tensor.h"

namespace ember::data {

/// The most bytes a gzip-compressed IDX file may decompress to (a header declaring
/// more is an error, found before inflating the data).
constexpr std::size_t kMaxGunzipBytes = std::size_t{512} << 20;

/// Reads an IDX file (raw or gzipped) with type code 0x08 and 1 to 4 dims into a
/// uint8 tensor of the dims the header declares: [d0, ..., dk].
Tensor read_idx(const std::string& path);

/// Reads MNIST images (magic 2051, dims N x 28 x 28) as uint8 [N, 28, 28].
Tensor read_mnist_images(const std::string& path);

/// Reads MNIST labels (magic 2049, dims N) as int64 [N]; every label must be 0..9.
Tensor read_mnist_labels(const std::string& path);

}  // namespace ember::data
