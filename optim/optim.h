#pragma once
/// Everything of optim: the optimizers, schedulers and checkpoints.
#include "ember/optim/adadelta.h"
#include "ember/optim/adagrad.h"
#include "ember/optim/adam.h"
#include "ember/optim/adamw.h"
#include "ember/optim/checkpoint.h"
#include "ember/optim/optimizer.h"
#include "ember/optim/rmsprop.h"
#include "ember/optim/scheduler.h"
#include "ember/optim/sgd.h"
