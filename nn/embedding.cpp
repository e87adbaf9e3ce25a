#include "ember/nn/embedding.h"

#include "ember/autograd/grad_mode.h"
#include "ember/nn/init.h"
#include "ember/ops/nn_ops.h"
#include "ember/ops/ops.h"

namespace ember::nn {

EmbeddingImpl::EmbeddingImpl(const EmbeddingOptions& o) : options(o) {
  EMBER_CHECK(o.num_embeddings() > 0 && o.embedding_dim() > 0,
              "Embedding: num_embeddings and embedding_dim must be positive, got {} and {}", o.num_embeddings(),
              o.embedding_dim());
  if (auto p = o.padding_idx()) {
    EMBER_CHECK(*p >= -o.num_embeddings() && *p < o.num_embeddings(),
                "Embedding: padding_idx {} is out of range for {} embeddings", *p, o.num_embeddings());
    options.padding_idx(*p < 0 ? *p + o.num_embeddings() : *p);
  }
  reset();
}

void EmbeddingImpl::reset() {
  weight = register_parameter("weight", empty({options.num_embeddings(), options.embedding_dim()}), !frozen);
  reset_parameters();
}

void EmbeddingImpl::reset_parameters() {
  init::normal_(weight);
  if (auto p = options.padding_idx()) {
    NoGradGuard no_grad;
    weight.select(0, *p).fill_(0.0);
  }
}

Tensor EmbeddingImpl::forward(const Tensor& indices) { return embedding(indices, weight, options.padding_idx()); }

std::string EmbeddingImpl::extra_repr() const {
  std::string r = fmt::format("{}, {}", options.num_embeddings(), options.embedding_dim());
  if (auto p = options.padding_idx()) r += fmt::format(", padding_idx={}", *p);
  return r;
}

Embedding Embedding::from_pretrained(const Tensor& embeddings, const EmbeddingFromPretrainedOptions& o) {
  EMBER_CHECK(embeddings.defined() && embeddings.dim() == 2,
              "Embedding::from_pretrained: expected a 2-d tensor [num_embeddings, embedding_dim], got {}",
              embeddings.defined() ? shape_str(embeddings.sizes()) : "undefined");
  Embedding e(EmbeddingOptions(embeddings.size(0), embeddings.size(1)).padding_idx(o.padding_idx()));
  e->frozen = o.freeze();
  {
    NoGradGuard no_grad;
    e->weight.set_data(embeddings.detach().clone());
  }
  e->weight.requires_grad_(!o.freeze());
  return e;
}

}  // namespace ember::nn
