#pragma once
/// log/: run logging with nothing above core: TensorBoard event files
/// (SummaryWriter), metrics.csv and hparams.json, and the progress display.
#include "ember/log/event_file.h"
#include "ember/log/histogram.h"
#include "ember/log/image_grid.h"
#include "ember/log/metrics_csv.h"
#include "ember/log/progress.h"
#include "ember/log/summary_writer.h"
