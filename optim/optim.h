#pragma once
/// Everything of optim.
#include "ember/optim/checkpoint.h"
#include "ember/optim/optimizer.h"
#include "ember/optim/optimizers.h"
#include "ember/optim/scheduler.h"
