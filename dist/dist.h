#pragma once
/// Everything of dist (link ember::dist): MPI collectives and DistributedDataParallel.
/// data::DistributedSampler, which shards a dataset, is in ember/data/sampler.h.
#include "ember/data/sampler.h"
#include "ember/dist/collectives.h"
#include "ember/dist/ddp.h"
