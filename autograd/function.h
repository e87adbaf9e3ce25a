#pragma once
/// How an op records itself for autograd, in one call next to its forward:
///
///   Tensor y = exp_kernel(x);
///   autograd::record("ExpBackward", {x}, {y}, /*saved=*/{y},
///       [](const BackwardCtx& ctx, const TensorList& g) { return TensorList{g[0] * ctx.saved(0)}; });
///
/// Nothing is recorded in no-grad mode or when no input requires grad.
#include <string>

#include "ember/autograd/grad_mode.h"
#include "ember/autograd/node.h"

namespace ember::autograd {

/// True when grad mode is on and some defined input requires grad.
bool needs_grad(const TensorList& inputs);

/// Records a FunctionNode making `outputs` from `inputs` if needs_grad(inputs).
/// Only floating-point outputs get history. Returns the node (or null).
std::shared_ptr<FunctionNode> record(std::string name, const TensorList& inputs,
                                     const TensorList& outputs, const TensorList& saved,
                                     BackwardFn backward);

}  // namespace ember::autograd

namespace ember {
using autograd::BackwardCtx;
}
