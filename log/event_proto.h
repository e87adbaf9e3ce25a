#pragma once
/// The TensorBoard messages SummaryWriter writes, encoded by hand (log/proto.h).
/// Field numbers are TensorBoard's own, from tensorboard/compat/proto/event.proto,
/// summary.proto, histogram.proto, tensor.proto, tensor_shape.proto and
/// plugins/{text,hparams}/*.proto; each builder names them. Internal to log/.
#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "ember/log/histogram.h"
#include "ember/log/proto.h"

namespace ember::logging::event_proto {

/// Event { double wall_time = 1; int64 step = 2; oneof what { string file_version = 3; Summary summary = 5; } }
std::string file_version_event(double wall_time);
std::string summary_event(double wall_time, std::int64_t step, const std::vector<proto::Message>& values);

/// Summary.Value { string tag = 1; float simple_value = 2; }
proto::Message scalar_value(const std::string& tag, float value);
/// Summary.Value { string tag = 1; HistogramProto histo = 5; }, HistogramProto { double min = 1; max = 2;
/// num = 3; sum = 4; sum_squares = 5; repeated double bucket_limit = 6 [packed]; repeated double bucket = 7 [packed]; }
proto::Message histogram_value(const std::string& tag, const Histogram& h);
/// Summary.Value { tag = 1; Image image = 4; }, Summary.Image { int32 height = 1; int32 width = 2;
/// int32 colorspace = 3 (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA); bytes encoded_image_string = 4; }
proto::Message image_value(const std::string& tag, int height, int width, int colorspace, const std::string& png);
/// Summary.Value { tag = 1; SummaryMetadata metadata = 9; TensorProto tensor = 8; } with the text
/// plugin's metadata and a DT_STRING tensor of shape [1], as torch.utils.tensorboard's text() writes it.
proto::Message text_value(const std::string& tag, const std::string& text);

/// A hyperparameter value: google.protobuf.Value { double number_value = 2; string string_value = 3; bool bool_value = 4; }
using HParam = std::variant<bool, double, std::string>;
/// The HParams plugin's three summaries, as torch.utils.tensorboard.summary.hparams() makes them:
/// tags "_hparams_/experiment", "_hparams_/session_start_info", "_hparams_/session_end_info".
proto::Message hparams_experiment_value(const std::map<std::string, HParam>& hparams, const std::vector<std::string>& metrics);
proto::Message hparams_session_start_value(const std::map<std::string, HParam>& hparams, double start_time);
proto::Message hparams_session_end_value(double end_time);

}  // namespace ember::logging::event_proto
