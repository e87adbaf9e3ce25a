#pragma once
/// Everything of nn: Module, layers, containers, losses, init, functional.
#include "ember/nn/any_module.h"
#include "ember/nn/container.h"
#include "ember/nn/conv.h"
#include "ember/nn/embedding.h"
#include "ember/nn/functional.h"
#include "ember/nn/init.h"
#include "ember/nn/layers.h"
#include "ember/nn/loss.h"
#include "ember/nn/module.h"
#include "ember/nn/normalization.h"
#include "ember/nn/rnn.h"
#include "ember/nn/simple.h"
