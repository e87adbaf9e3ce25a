#pragma once
/// Ember: a small C++ tensor library with reverse-mode autodiff.
/// Include this one header and link ember::ember.
#include "ember/autograd/engine.h"
#include "ember/autograd/function.h"
#include "ember/autograd/grad_mode.h"
#include "ember/autograd/gradcheck.h"
#include "ember/core/factory.h"
#include "ember/core/parallel.h"
#include "ember/core/random.h"
#include "ember/core/tensor.h"
#include "ember/ops/nn_ops.h"
#include "ember/ops/ops.h"
#include "ember/ops/print.h"
