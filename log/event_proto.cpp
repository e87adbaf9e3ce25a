#include "ember/log/event_proto.h"

namespace ember::logging::event_proto {
using proto::Message;

namespace {
// SummaryMetadata { PluginData plugin_data = 1; }, PluginData { string plugin_name = 1; bytes content = 2; }
Message plugin_metadata(const std::string& plugin, const std::string& content) {
  Message data;
  data.bytes(1, plugin).bytes(2, content);
  Message meta;
  meta.message(1, data);
  return meta;
}

// google.protobuf.Value (struct.proto): number_value = 2, string_value = 3, bool_value = 4.
Message struct_value(const HParam& v) {
  Message m;
  if (const bool* b = std::get_if<bool>(&v)) m.varint(4, *b ? 1 : 0);
  else if (const double* d = std::get_if<double>(&v)) m.fixed64(2, *d);
  else m.bytes(3, std::get<std::string>(v));
  return m;
}

// HParamsPluginData { int32 version = 1; oneof data { Experiment experiment = 2;
// SessionStartInfo session_start_info = 3; SessionEndInfo session_end_info = 4; } }, version 0
// (the field is then absent, as proto3 omits defaults).
Message hparams_value(const std::string& tag, int data_field, const Message& data) {
  Message plugin_data;
  plugin_data.message(data_field, data);
  Message v;
  v.bytes(1, tag).message(9, plugin_metadata("hparams", plugin_data.str()));
  return v;
}
}  // namespace

std::string file_version_event(double wall_time) {
  Message e;
  e.fixed64(1, wall_time).bytes(3, "brain.Event:2");
  return e.take();
}

std::string summary_event(double wall_time, std::int64_t step, const std::vector<Message>& values) {
  Message summary;  // Summary { repeated Value value = 1; }
  for (const Message& v : values) summary.message(1, v);
  Message e;
  e.fixed64(1, wall_time);
  if (step != 0) e.varint(2, static_cast<std::uint64_t>(step));
  e.message(5, summary);
  return e.take();
}

Message scalar_value(const std::string& tag, float value) {
  Message v;
  v.bytes(1, tag).fixed32(2, value);
  return v;
}

Message histogram_value(const std::string& tag, const Histogram& h) {
  Message histo;
  histo.fixed64(1, h.min).fixed64(2, h.max).fixed64(3, h.num).fixed64(4, h.sum).fixed64(5, h.sum_squares);
  histo.packed_doubles(6, h.bucket_limit.begin(), h.bucket_limit.end());
  histo.packed_doubles(7, h.bucket.begin(), h.bucket.end());
  Message v;
  v.bytes(1, tag).message(5, histo);
  return v;
}

Message image_value(const std::string& tag, int height, int width, int colorspace, const std::string& png) {
  Message image;
  image.varint(1, static_cast<std::uint64_t>(height)).varint(2, static_cast<std::uint64_t>(width));
  image.varint(3, static_cast<std::uint64_t>(colorspace)).bytes(4, png);
  Message v;
  v.bytes(1, tag).message(4, image);
  return v;
}

Message text_value(const std::string& tag, const std::string& text) {
  // TensorProto { DataType dtype = 1 (DT_STRING = 7); TensorShapeProto tensor_shape = 2; repeated bytes string_val = 8; }
  // TensorShapeProto { repeated Dim dim = 2; }, Dim { int64 size = 1; }
  Message dim;
  dim.varint(1, 1);
  Message shape;
  shape.message(2, dim);
  Message tensor;
  tensor.varint(1, 7).message(2, shape).bytes(8, text);
  // TextPluginData { int32 version = 1; } at version 0: an empty message.
  Message v;
  v.bytes(1, tag + "/text_summary").message(9, plugin_metadata("text", "")).message(8, tensor);
  return v;
}

Message hparams_experiment_value(const std::map<std::string, HParam>& hparams, const std::vector<std::string>& metrics) {
  // Experiment { repeated HParamInfo hparam_infos = 4; repeated MetricInfo metric_infos = 5; }
  // HParamInfo { string name = 1; DataType type = 4 (STRING 1, BOOL 2, FLOAT64 3); }
  // MetricInfo { MetricName name = 1; }, MetricName { string group = 1; string tag = 2; }
  Message exp;
  for (const auto& [name, value] : hparams) {
    Message info;
    info.bytes(1, name).varint(4, std::holds_alternative<bool>(value) ? 2 : std::holds_alternative<double>(value) ? 3 : 1);
    exp.message(4, info);
  }
  for (const std::string& tag : metrics) {
    Message name;
    name.bytes(2, tag);
    Message info;
    info.message(1, name);
    exp.message(5, info);
  }
  return hparams_value("_hparams_/experiment", 2, exp);
}

Message hparams_session_start_value(const std::map<std::string, HParam>& hparams, double start_time) {
  // SessionStartInfo { map<string, google.protobuf.Value> hparams = 1; double start_time_secs = 5; }
  // A map entry is a message { key = 1; value = 2; }.
  Message ssi;
  for (const auto& [name, value] : hparams) {
    Message entry;
    entry.bytes(1, name).message(2, struct_value(value));
    ssi.message(1, entry);
  }
  ssi.fixed64(5, start_time);
  return hparams_value("_hparams_/session_start_info", 3, ssi);
}

Message hparams_session_end_value(double end_time) {
  // SessionEndInfo { Status status = 1 (STATUS_SUCCESS = 1); double end_time_secs = 2; }
  Message sei;
  sei.varint(1, 1).fixed64(2, end_time);
  return hparams_value("_hparams_/session_end_info", 4, sei);
}

}  // namespace ember::logging::event_proto
