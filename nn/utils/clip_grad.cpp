#include "ember/nn/utils/clip_grad.h"

#include <algorithm>
#include <cmath>

#include "ember/autograd/grad_mode.h"
#include "ember/ops/ops.h"

namespace ember::nn::utils {

double clip_grad_norm_(const TensorList& params, double max_norm, double norm_type) {
  NoGradGuard no_grad;
  double total = 0.0;
  const bool inf_norm = std::isinf(norm_type);
  for (const auto& p : params) {
    const Tensor g = p.grad();
    if (!g.defined()) continue;
    if (inf_norm) total = std::max(total, abs(g).max().item<double>());
    else total += pow(abs(g.to(DType::Float64)), norm_type).sum().item<double>();
  }
  if (!inf_norm) total = std::pow(total, 1.0 / norm_type);
  const double coef = max_norm / (total + 1e-6);
  if (coef < 1.0)
    for (const auto& p : params)
      if (Tensor g = p.grad(); g.defined()) g.mul_(coef);
  return total;
}

void clip_grad_value_(const TensorList& params, double clip_value) {
  NoGradGuard no_grad;
  for (const auto& p : params)
    if (Tensor g = p.grad(); g.defined()) g.copy_(clamp(g, -clip_value, clip_value));
}

}  // namespace ember::nn::utils
