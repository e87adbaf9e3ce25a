#pragma once
/// nn::Embedding: a lookup table of num_embeddings vectors of size embedding_dim.
#include <optional>

#include "ember/nn/module.h"
#include "ember/nn/options.h"

namespace ember::nn {

struct EmbeddingOptions {
  /// LibTorch's spelling: EmbeddingOptions(10000, 64).padding_idx(0).
  EmbeddingOptions(std::int64_t num_embeddings, std::int64_t embedding_dim)
      : num_embeddings_(num_embeddings), embedding_dim_(embedding_dim) {}
  EMBER_OPTION(EmbeddingOptions, std::int64_t, num_embeddings, 0)
  EMBER_OPTION(EmbeddingOptions, std::int64_t, embedding_dim, 0)
  /// The row that gets no gradient (and starts at zero); negative counts from the end.
  EMBER_OPTION(EmbeddingOptions, std::optional<std::int64_t>, padding_idx, std::nullopt)
};

/// Options of Embedding::from_pretrained.
struct EmbeddingFromPretrainedOptions {
  /// Keep the table fixed (requires_grad false), as PyTorch's default.
  EMBER_OPTION(EmbeddingFromPretrainedOptions, bool, freeze, true)
  EMBER_OPTION(EmbeddingFromPretrainedOptions, std::optional<std::int64_t>, padding_idx, std::nullopt)
};

/// int64 indices [*] -> [*, embedding_dim]; weight [num_embeddings, embedding_dim] ~ N(0, 1),
/// the padding row zeroed.
class EmbeddingImpl : public Cloneable<EmbeddingImpl> {
 public:
  explicit EmbeddingImpl(const EmbeddingOptions& options);
  EmbeddingImpl(std::int64_t num_embeddings, std::int64_t embedding_dim)
      : EmbeddingImpl(EmbeddingOptions(num_embeddings, embedding_dim)) {}
  Tensor forward(const Tensor& indices);
  std::string extra_repr() const override;
  /// Registers the weight and initialises it (clone() calls it too).
  void reset();
  void reset_parameters();

  EmbeddingOptions options;
  Tensor weight;
  bool frozen = false;
};

/// A holder for EmbeddingImpl, with PyTorch's Embedding.from_pretrained.
class Embedding : public ModuleHolder<EmbeddingImpl> {
 public:
  using ModuleHolder<EmbeddingImpl>::ModuleHolder;
  using Impl = EmbeddingImpl;
  /// A table holding a copy of `embeddings` [num, dim] (frozen unless freeze(false)).
  static Embedding from_pretrained(const Tensor& embeddings, const EmbeddingFromPretrainedOptions& options = {});
};

}  // namespace ember::nn
