// safetensors: round trips, the reference writer's exact bytes, every file the
// reference reader rejects (as an ember::Error naming the problem), atomic saves,
// and a mutation sweep over a valid file that must load or throw, never crash.
#include <gtest/gtest.h>

#include "test_util.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <thread>

#include <ember/ember.h>
#include <ember/io/atomic_file.h>

namespace {
using namespace ember;
namespace st = ember::safetensors;
namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

using ember::test_util::message_of;

// A fresh folder, removed with its contents at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string templ = (fs::temp_directory_path() / "ember_safetensors_XXXXXX").string();
    EXPECT_NE(::mkdtemp(templ.data()), nullptr);
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(path_)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

 private:
  std::string path_;
};

// Runs the enclosing test's saves with O_TMPFILE (where the file system has it) or
// with the named temporaries of the fallback.
class TmpfileMode {
 public:
  explicit TmpfileMode(bool on) : previous_(ember::detail::use_o_tmpfile(on)) {}
  ~TmpfileMode() { ember::detail::use_o_tmpfile(previous_); }

 private:
  bool previous_;
};

Bytes read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

Bytes u64_le(std::uint64_t n) {
  Bytes b(8);
  for (int k = 0; k < 8; ++k) b[k] = static_cast<std::uint8_t>(n >> (8 * k));
  return b;
}

// A file from a header text (used as is, no padding) and the data bytes.
Bytes make_file(const std::string& header, const Bytes& data = {}) {
  Bytes b(8 + header.size() + data.size());
  const Bytes n = u64_le(header.size());
  std::copy(n.begin(), n.end(), b.begin());
  std::copy(header.begin(), header.end(), b.begin() + 8);
  std::copy(data.begin(), data.end(), b.begin() + 8 + static_cast<std::ptrdiff_t>(header.size()));
  return b;
}

template <class T>
Bytes le_bytes(std::initializer_list<T> values) {
  Bytes b(values.size() * sizeof(T));
  std::memcpy(b.data(), std::data(values), b.size());
  return b;
}

st::File parse(const Bytes& b, const std::string& name = "mem.safetensors") {
  return st::parse(b.data(), b.size(), name);
}

std::string parse_error(const Bytes& b) {
  return message_of([&] { parse(b); });
}

// Same dtype, shape and bytes (so NaNs and -0.0 compare exactly).
void expect_same(const Tensor& expected, const Tensor& actual, const std::string& name) {
  SCOPED_TRACE(name);
  ASSERT_EQ(expected.dtype(), actual.dtype());
  ASSERT_EQ(expected.sizes(), actual.sizes());
  EXPECT_TRUE(actual.is_contiguous());
  EXPECT_FALSE(actual.requires_grad());
  const Tensor e = expected.detach().contiguous();
  const std::size_t nbytes = static_cast<std::size_t>(e.numel()) * itemsize(e.dtype());
  if (nbytes > 0) {
    EXPECT_EQ(std::memcmp(e.raw_data(), actual.raw_data(), nbytes), 0);
  }
}

const Tensor& tensor_in(const st::File& f, const std::string& name) {
  for (const auto& [n, t] : f.tensors)
    if (n == name) return t;
  throw std::runtime_error("no tensor " + name);
}

std::vector<std::string> names_of(const st::File& f) {
  std::vector<std::string> names;
  for (const auto& [n, t] : f.tensors) names.push_back(n);
  return names;
}

st::NamedTensors every_kind_of_tensor() {
  manual_seed(7);
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  constexpr auto i64_min = std::numeric_limits<std::int64_t>::min(), i64_max = std::numeric_limits<std::int64_t>::max();
  return {
      {"f32", randn({2, 3})},
      {"f64", from_vector<double>({1.5, -0.0, 1e300, nan, -inf})},
      {"i64", from_vector<std::int64_t>({i64_min, -1, 0, i64_max})},
      {"u8", from_vector<std::uint8_t>({0, 1, 127, 128, 255})},
      {"bool", tensor({1, 0, 1, 1}, DType::Bool)},
      {"scalar", scalar_tensor(3.25, DType::Float64)},
      {"scalar_bool", scalar_tensor(1, DType::Bool)},
      {"empty", zeros({0})},
      {"empty_3d", zeros({2, 0, 3}, DType::Int64)},
      {"transposed", arange(0, 12, 1, DType::Float32).reshape({3, 4}).t()},
      {"strided", arange(20).slice(0, 1, 20, 3)},
      {"expanded", tensor({1, 2}, DType::UInt8).unsqueeze(0).expand({3, 2})},
      {"narrowed", arange(0, 10, 1, DType::Float64).narrow(0, 4, 3)},
      {"leaf", randn({2}).requires_grad_()},
  };
}

// ---- round trips ----

TEST(Safetensors, RoundTripsEveryDtypeAndShape) {
  TempDir dir;
  const auto tensors = every_kind_of_tensor();
  ASSERT_FALSE(tensors[9].second.is_contiguous());
  ASSERT_FALSE(tensors[10].second.is_contiguous());
  ASSERT_FALSE(tensors[11].second.is_contiguous());
  const std::string path = dir.file("all.safetensors");
  st::save(path, tensors);
  const st::File f = st::load(path);
  ASSERT_EQ(f.tensors.size(), tensors.size());
  for (const auto& [name, t] : tensors) expect_same(t, tensor_in(f, name), name);
  EXPECT_TRUE(f.metadata.empty());
  // File order, as the reference writes it: 8-byte dtypes (I64, then F64), F32, U8, BOOL; by name within.
  EXPECT_EQ(names_of(f),
            (std::vector<std::string>{"empty_3d", "i64", "strided", "f64", "narrowed", "scalar", "empty", "f32", "leaf",
                                      "transposed", "expanded", "u8", "bool", "scalar_bool"}));
}

TEST(Safetensors, HeaderIsPaddedAndDataAligned) {
  TempDir dir;
  for (const std::string name : {"a", "ab", "abc", "abcd", "abcde", "abcdef", "abcdefg", "abcdefgh"}) {
    const std::string path = dir.file("pad.safetensors");
    st::save(path, {{name, ones({3}, DType::Int64)}, {name + "x", ones({1}, DType::UInt8)}, {"f", ones({2})}});
    const Bytes b = read_bytes(path);
    std::uint64_t n = 0;
    std::memcpy(&n, b.data(), 8);
    EXPECT_EQ(n % 8, 0u) << name;
    EXPECT_TRUE(b[8 + n - 1] == ' ' || b[8 + n - 1] == '}');
    // I64 at data offset 0, F32 at 24, U8 at 32: each aligned to its size in the file.
    const std::string header(b.begin() + 8, b.begin() + 8 + static_cast<std::ptrdiff_t>(n));
    EXPECT_NE(header.find("\"data_offsets\":[0,24]"), std::string::npos) << header;
    EXPECT_NE(header.find("\"data_offsets\":[24,32]"), std::string::npos) << header;
    EXPECT_NE(header.find("\"data_offsets\":[32,33]"), std::string::npos) << header;
  }
}

TEST(Safetensors, EscapesNamesAndMetadata) {
  TempDir dir;
  const std::map<std::string, std::string> metadata = {
      {"quote\"back\\slash/", "line\nbreak\ttab\x01\x1f\x7f end"},
      {"unicode", "\xcf\x80 \xe2\x89\x88 3.14 \xf0\x9f\x98\x80"},
      {"", "empty key"},
      {"format", "pt"},
  };
  const st::NamedTensors tensors = {{"a\"b", ones({1})},
                                    {"c\\d", zeros({2})},
                                    {"e\nf\x01", ones({1}, DType::Bool)},
                                    {"\xc3\xbc/\xf0\x9f\x99\x82", ones({2}, DType::UInt8)}};
  const std::string path = dir.file("escapes.safetensors");
  st::save(path, tensors, metadata);
  const Bytes b = read_bytes(path);
  const std::string text(b.begin(), b.end());
  for (const char* escaped :
       {"\"a\\\"b\"", "\"c\\\\d\"", "e\\u000af\\u0001", "line\\u000abreak\\u0009tab\\u0001\\u001f"})
    EXPECT_NE(text.find(escaped), std::string::npos) << escaped;
  const st::File f = st::load(path);
  EXPECT_EQ(f.metadata, metadata);
  for (const auto& [name, t] : tensors) expect_same(t, tensor_in(f, name), name);
}

// ---- the reference's own bytes ----

TEST(Safetensors, WritesAndReadsTheReferenceBytes) {
  TempDir dir;
  const Bytes data = le_bytes<float>({0, 1, 2, 3, 4, 5});
  const Tensor values = arange(0, 6, 1, DType::Float32);
  // The reference implementation's serialization tests: exact bytes for one F32 tensor.
  {
    const std::string header = R"({"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}})";
    Bytes expected = {64, 0, 0, 0, 0, 0, 0, 0};
    expected.insert(expected.end(), header.begin(), header.end());
    expected.insert(expected.end(),
                    {0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64});
    st::save(dir.file("a.safetensors"), {{"attn.0", values.reshape({1, 2, 3})}});
    EXPECT_EQ(read_bytes(dir.file("a.safetensors")), expected);
    expect_same(values.reshape({1, 2, 3}), tensor_in(parse(expected), "attn.0"), "attn.0");
  }
  {  // a shorter name: padded with 7 spaces
    const std::string header = R"({"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       )";
    Bytes expected = {72, 0, 0, 0, 0, 0, 0, 0};
    expected.insert(expected.end(), header.begin(), header.end());
    expected.insert(expected.end(), data.begin(), data.end());
    st::save(dir.file("b.safetensors"), {{"attn0", values.reshape({1, 1, 2, 3})}});
    EXPECT_EQ(read_bytes(dir.file("b.safetensors")), expected);
  }
  {  // no tensors, with and without metadata
    st::save(dir.file("c.safetensors"), {});
    EXPECT_EQ(read_bytes(dir.file("c.safetensors")),
              (Bytes{8, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '}));
    st::save(dir.file("d.safetensors"), {}, {{"framework", "pt"}});
    EXPECT_EQ(read_bytes(dir.file("d.safetensors")), make_file(R"({"__metadata__":{"framework":"pt"}}     )"));
    EXPECT_EQ(parse(read_bytes(dir.file("d.safetensors"))).metadata.at("framework"), "pt");
    EXPECT_TRUE(parse(read_bytes(dir.file("c.safetensors"))).tensors.empty());
  }
}

// What safetensors.torch.save_file({"weight", "bias", "steps"}, metadata={"format": "pt"}) lays out.
TEST(Safetensors, ReadsAHandMadePyTorchFile) {
  const std::string header =
      R"({"__metadata__":{"format":"pt"},"steps":{"dtype":"I64","shape":[],"data_offsets":[0,8]},)"
      R"("bias":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},)"
      R"("weight":{"dtype":"F32","shape":[2,2],"data_offsets":[16,32]}})";
  Bytes data = le_bytes<std::int64_t>({1000});
  for (const Bytes& part : {le_bytes<float>({0.5f, -0.5f}), le_bytes<float>({1, 2, 3, 4})})
    data.insert(data.end(), part.begin(), part.end());
  const st::File f = parse(make_file(header, data));
  EXPECT_EQ(f.metadata, (std::map<std::string, std::string>{{"format", "pt"}}));
  EXPECT_EQ(names_of(f), (std::vector<std::string>{"steps", "bias", "weight"}));
  EXPECT_EQ(tensor_in(f, "steps").item<std::int64_t>(), 1000);
  EXPECT_EQ(tensor_in(f, "steps").dim(), 0);
  EXPECT_EQ(tensor_in(f, "bias").to_vector<float>(), (std::vector<float>{0.5f, -0.5f}));
  EXPECT_EQ(tensor_in(f, "weight").sizes(), (Shape{2, 2}));
  EXPECT_EQ(tensor_in(f, "weight").to_vector<float>(), (std::vector<float>{1, 2, 3, 4}));
}

TEST(Safetensors, ReadsAnyKeyOrderWhitespaceAndEscapes) {
  // Keys out of offset order and fields in any order; whitespace of every kind; the
  // tensor list comes back in offset order.
  const std::string header =
      " \r\n{ \"b\" : {\"data_offsets\": [1, 2], \"shape\": [1], \"dtype\": \"U8\"},\n"
      "\t\"a\\u00e9\\ud83d\\ude00\\/\" : { \"shape\" : [ 1 ] , \"dtype\" : \"U8\" , \"data_offsets\" : [ 0 , 1 ] } }  "
      "\n\t ";
  const st::File f = parse(make_file(header, {7, 9}));
  EXPECT_EQ(names_of(f), (std::vector<std::string>{"a\xc3\xa9\xf0\x9f\x98\x80/", "b"}));
  EXPECT_EQ(f.tensors[0].second.item<int>(), 7);
  EXPECT_EQ(f.tensors[1].second.item<int>(), 9);
}

TEST(Safetensors, UnalignedDataStillLoads) {
  // Header of 61 bytes: the data starts at file offset 69, so no value is aligned.
  const std::string header = R"({"x":{"dtype":"F64","shape":[2],"data_offsets":[0,16]}})";
  ASSERT_NE((8 + header.size()) % 8, 0u);
  Bytes data = le_bytes<double>({1.25, -3.5});
  const Bytes ints = le_bytes<std::int64_t>({-7, 1LL << 40});
  const std::string header2 =
      R"({"x":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},"y":{"dtype":"I64","shape":[2],"data_offsets":[16,32]}})";
  data.insert(data.end(), ints.begin(), ints.end());
  const Bytes file = make_file(header2, data);
  // And the whole buffer at an odd address.
  Bytes shifted(file.size() + 1);
  std::memcpy(shifted.data() + 1, file.data(), file.size());
  const st::File f = st::parse(shifted.data() + 1, file.size(), "odd");
  EXPECT_EQ(tensor_in(f, "x").to_vector<double>(), (std::vector<double>{1.25, -3.5}));
  EXPECT_EQ(tensor_in(f, "y").to_vector<std::int64_t>(), (std::vector<std::int64_t>{-7, 1LL << 40}));
  const st::File g = parse(make_file(header, le_bytes<double>({1.25, -3.5})));
  EXPECT_EQ(tensor_in(g, "x").to_vector<double>(), (std::vector<double>{1.25, -3.5}));
}

// ---- files the reference reader rejects ----

const std::string kA4 = R"("a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]})";

TEST(Safetensors, RejectsShortOrOversizedHeaders) {
  EXPECT_EQ(parse_error({}), "safetensors: mem.safetensors: file is 0 bytes, too short for the 8-byte header length");
  EXPECT_EQ(parse_error({1, 0, 0}),
            "safetensors: mem.safetensors: file is 3 bytes, too short for the 8-byte header length");
  Bytes b(50, ' ');
  b[0] = 100;
  std::fill(b.begin() + 1, b.begin() + 8, 0);
  EXPECT_EQ(parse_error(b), "safetensors: mem.safetensors: header length 100 runs past the end of the file (50 bytes)");
  EXPECT_EQ(parse_error(u64_le(100'000'001)),
            "safetensors: mem.safetensors: header length 100000001 is over the limit of 100000000 bytes");
  EXPECT_NE(parse_error(u64_le(~0ull)).find("header length 18446744073709551615 is over the limit"), std::string::npos);
  EXPECT_NE(parse_error(u64_le(1)).find("runs past the end of the file (8 bytes)"), std::string::npos);
}

TEST(Safetensors, RejectsMalformedJson) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "the header must be a JSON object, found nothing"},
      {"[]", "the header must be a JSON object, found an array"},
      {"{", "expected a string key (at the end of the header)"},
      {"{}x", "trailing characters after the header object"},
      {"{},", "trailing characters"},
      {std::string("{}\0\0\0\0\0\0", 8), "trailing characters"},
      {"{" + kA4 + ",}", "expected a string key"},
      {"{" + kA4, "expected ',' or '}' in an object"},
      {"{'a':1}", "expected a string key"},
      {"{\"a\" 1}", "expected ':' after a key"},
      {"{\"a\":1}", "tensor \"a\" must be an object, found an integer"},
      {R"({"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", "only non-negative integers are allowed"},
      {R"({"a":{"dtype":"F32","shape":[1e3],"data_offsets":[0,4]}})", "only non-negative integers are allowed"},
      {R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})",
       "shape of tensor \"a\" must be an array of non-negative integers, found a negative number"},
      {R"({"a":{"dtype":"F32","shape":[01],"data_offsets":[0,4]}})", "leading zeros are not allowed"},
      {R"({"a":{"dtype":"F32","shape":true,"data_offsets":[0,4]}})", "found a boolean"},
      {R"({"a":{"dtype":"F32","shape":[null],"data_offsets":[0,4]}})", "found null"},
      {R"({"a":{"dtype":"F32","shape":[1 2],"data_offsets":[0,4]}})", "expected ',' or ']' in an array"},
      {R"({"a":{"dtype":"F32","shape":[1,],"data_offsets":[0,4]}})", "must be an array of non-negative integers"},
      {R"({"a":{"dtype":"F32","shape":[99999999999999999999],"data_offsets":[0,4]}})", "integer too large"},
      {R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}})",
       "data_offsets of tensor \"a\" has more than 2 entries"},
      {R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", "data_offsets of tensor \"a\" must be [BEGIN, END]"},
      {R"({"a":{"dtype":"F32","shape":[1]}})", "tensor \"a\" has no \"data_offsets\""},
      {R"({"a":{"dtype":"F32","data_offsets":[0,4]}})", "tensor \"a\" has no \"shape\""},
      {R"({"a":{"shape":[1],"data_offsets":[0,4]}})", "tensor \"a\" has no \"dtype\""},
      {R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":1}})",
       "unknown field \"extra\" in tensor \"a\""},
      {R"({"a":{"dtype":5,"shape":[1],"data_offsets":[0,4]}})",
       "dtype of tensor \"a\" must be a string, found an integer"},
      {R"({"a\x":1})", "invalid escape in a string"},
      {"{\"a\tb\":1}", "unescaped control character in a string"},
      {R"({"a\ud800":1})", "unpaired surrogate"},
      {R"({"a\ud800\u0041":1})", "unpaired surrogate"},
      {R"({"a\udc00":1})", "unpaired surrogate"},
      {R"({"a\u12g4":1})", "invalid hex digit"},
      {R"({"a\u12)", "truncated \\u escape"},
      {R"({"abc)", "unterminated string"},
  };
  for (const auto& [header, expected] : cases) {
    const std::string msg = parse_error(make_file(header, Bytes(4)));
    EXPECT_NE(msg.find(expected), std::string::npos) << "header: " << header << "\nmessage: " << msg;
    EXPECT_EQ(msg.rfind("safetensors: mem.safetensors: ", 0), 0u) << msg;
  }
  // The position is counted from the start of the file.
  EXPECT_EQ(parse_error(make_file("{}x")),
            "safetensors: mem.safetensors: bad header at byte 10: malformed JSON: trailing characters after the header "
            "object (at \"x\")");
}

TEST(Safetensors, RejectsNonUtf8Headers) {
  for (const std::string bad : {"\xff", "\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82"}) {
    const std::string msg = parse_error(make_file("{\"" + bad + "\":1}"));
    EXPECT_NE(msg.find("header is not valid UTF-8 at byte 10"), std::string::npos) << msg;
  }
}

TEST(Safetensors, RejectsDeepNesting) {
  // Where a tensor, a string or an integer belongs, an array is rejected at once,
  // however deep it would go: nothing recurses.
  const std::string deep(100000, '[');
  EXPECT_NE(parse_error(make_file("{\"a\":" + deep)).find("tensor \"a\" must be an object, found an array"),
            std::string::npos);
  EXPECT_NE(parse_error(make_file("{\"__metadata__\":{\"k\":" + deep)).find("must be a string, found an array"),
            std::string::npos);
  EXPECT_NE(parse_error(make_file(R"({"a":{"dtype":"F32","shape":)" + deep)).find("found an array"), std::string::npos);
  EXPECT_NE(parse_error(make_file(std::string(100000, '{'))).find("expected a string key"), std::string::npos);
}

TEST(Safetensors, RejectsDuplicateKeys) {
  const std::string t = R"({"dtype":"U8","shape":[1],"data_offsets":[0,1]})";
  EXPECT_NE(parse_error(make_file("{\"a\":" + t + ",\"a\":" + t + "}", {1, 2})).find("duplicate key \"a\""),
            std::string::npos);
  EXPECT_NE(parse_error(make_file(R"({"a":{"dtype":"U8","dtype":"F32","shape":[1],"data_offsets":[0,1]}})", {1}))
                .find("duplicate key \"dtype\""),
            std::string::npos);
  EXPECT_NE(parse_error(make_file(R"({"__metadata__":{"k":"1","k":"2"}})")).find("duplicate key \"k\""),
            std::string::npos);
  EXPECT_NE(parse_error(make_file(R"({"__metadata__":{},"__metadata__":{}})")).find("duplicate key \"__metadata__\""),
            std::string::npos);
  // Keys that are equal only after unescaping are the same key.
  EXPECT_NE(parse_error(make_file("{\"a\":" + t + ",\"\\u0061\":" + t + "}", {1, 2})).find("duplicate key \"a\""),
            std::string::npos);
}

TEST(Safetensors, RejectsBadOffsets) {
  const auto f32 = [](const char* name, const char* shape, std::uint64_t b, std::uint64_t e) {
    return fmt::format(R"("{}":{{"dtype":"F32","shape":{},"data_offsets":[{},{}]}})", name, shape, b, e);
  };
  const std::vector<std::tuple<std::string, std::size_t, std::string>> cases = {
      {"{" + f32("a", "[2]", 0, 8) + "," + f32("b", "[1]", 4, 8) + "}", 8,
       "tensor \"b\" at data_offsets [4, 8] overlaps tensor \"a\" at [0, 8]"},
      {"{" + f32("a", "[1]", 0, 4) + "," + f32("b", "[1]", 8, 12) + "}", 12,
       "gap of 4 bytes in the data between tensor \"a\" [0, 4] and tensor \"b\" [8, 12]"},
      {"{" + f32("a", "[1]", 0, 4) + "}", 6,
       "2 trailing bytes after the last tensor (the tensors cover data offsets [0, 4) of 6)"},
      {"{}", 3, "3 trailing bytes after the last tensor"},
      {"{" + f32("a", "[1]", 4, 8) + "}", 8, "data_offsets [4, 8] of tensor \"a\" do not start at 0"},
      {"{" + f32("a", "[2]", 0, 8) + "}", 4,
       "tensor \"a\" ends at data offset 8, past the end of the file (4 data bytes after the header)"},
      {"{" + f32("a", "[1]", 0, 4) + "," + f32("b", "[0]", 4, 0) + "}", 4,
       "data_offsets [4, 0] of tensor \"b\" end before they begin"},
      {"{" + f32("a", "[3]", 0, 8) + "}", 8,
       "tensor \"a\" of dtype F32 and shape [3] needs 12 bytes but its data_offsets [0, 8] span 8"},
      {"{" + f32("a", "[1000000000000]", 0, 4) + "}", 4, "needs 4000000000000 bytes"},
      {"{" + f32("a", "[4294967296,4294967296]", 0, 4) + "}", 4,
       "element count of tensor \"a\" with shape [4294967296, 4294967296] overflows"},
      {"{" + f32("a", "[9223372036854775808,0]", 0, 0) + "}", 0, "overflows"},
      {"{" + f32("a", "[4611686018427387904,2,0]", 0, 0) + "}", 0, "overflows"},
      {R"({"a":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,8]}})", 8,
       "byte size of tensor \"a\" (4611686018427387904 elements of F64) overflows"},
  };
  for (const auto& [header, data_size, expected] : cases) {
    const std::string msg = parse_error(make_file(header, Bytes(data_size)));
    EXPECT_NE(msg.find(expected), std::string::npos) << "header: " << header << "\nmessage: " << msg;
  }
  // A zero-size tensor may have huge (but representable) dims.
  EXPECT_EQ(parse(make_file("{" + f32("a", "[0,4611686018427387904]", 0, 0) + "}")).tensors[0].second.sizes(),
            (Shape{0, 4611686018427387904}));
}

TEST(Safetensors, RejectsUnknownAndUnsupportedDtypes) {
  EXPECT_NE(parse_error(make_file(R"({"w":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}})", Bytes(4)))
                .find("unknown dtype \"F33\" for tensor \"w\""),
            std::string::npos);
  EXPECT_NE(parse_error(make_file(R"({"w":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}})", Bytes(4)))
                .find("unknown dtype \"f32\""),
            std::string::npos);
  for (const auto& [dtype, bytes] : std::vector<std::pair<std::string, std::size_t>>{
           {"F16", 4}, {"BF16", 4}, {"I32", 8}, {"I8", 2}, {"U64", 16}, {"F8_E4M3", 2}, {"F4", 1}}) {
    const std::string msg = parse_error(make_file(
        fmt::format(R"({{"w":{{"dtype":"{}","shape":[2],"data_offsets":[0,{}]}}}})", dtype, bytes), Bytes(bytes)));
    EXPECT_NE(msg.find("unsupported dtype " + dtype + " for tensor \"w\""), std::string::npos) << msg;
  }
  // Sizes are still checked for dtypes Ember cannot hold.
  EXPECT_NE(parse_error(make_file(R"({"w":{"dtype":"F16","shape":[2],"data_offsets":[0,8]}})", Bytes(8)))
                .find("needs 4 bytes"),
            std::string::npos);
  EXPECT_NE(parse_error(make_file(R"({"w":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}})", Bytes(2)))
                .find("not a whole number of bytes"),
            std::string::npos);
}

TEST(Safetensors, RejectsNonStringMetadataAndBadBools) {
  EXPECT_NE(parse_error(make_file(R"({"__metadata__":{"k":1}})"))
                .find("__metadata__ value for key \"k\" must be a string, found an integer"),
            std::string::npos);
  EXPECT_NE(parse_error(make_file(R"({"__metadata__":{"k":null}})")).find("found null"), std::string::npos);
  EXPECT_NE(parse_error(make_file(R"({"__metadata__":{"k":{"x":"y"}}})")).find("found an object"), std::string::npos);
  EXPECT_NE(parse_error(make_file(R"({"__metadata__":"x"})"))
                .find("__metadata__ must be an object of strings, found a string"),
            std::string::npos);
  EXPECT_NE(parse_error(make_file(R"({"m":{"dtype":"BOOL","shape":[3],"data_offsets":[0,3]}})", {1, 0, 2}))
                .find("BOOL tensor \"m\" holds byte 0x02 at data offset 2 (expected 0 or 1)"),
            std::string::npos);
}

TEST(Safetensors, LoadErrorsNameThePath) {
  TempDir dir;
  const std::string path = dir.file("bad.safetensors");
  write_bytes(path, make_file("{" + kA4 + "}", Bytes(5)));
  EXPECT_EQ(
      message_of([&] { st::load(path); }),
      "safetensors: " + path + ": 1 trailing bytes after the last tensor (the tensors cover data offsets [0, 4) of 5)");
  EXPECT_EQ(message_of([&] { st::load(dir.file("missing")); }),
            "safetensors: " + dir.file("missing") + ": cannot open: No such file or directory");
  EXPECT_EQ(message_of([&] { st::load(dir.path()); }), "safetensors: " + dir.path() + ": is a folder, not a file");
}

// load() reads the header, then each tensor straight into its storage; it must accept
// and refuse exactly what parse() does with the whole file in memory, with the same words.
TEST(Safetensors, LoadFromDiskAgreesWithParse) {
  TempDir dir;
  const std::string path = dir.file("m.safetensors");
  st::save(path,
           {{"w", arange(0, 6, 1, DType::Float32).reshape({2, 3})},
            {"b", tensor({1, 0, 1}, DType::Bool)},
            {"i", from_vector<std::int64_t>({-1, 5})},
            {"e", zeros({0, 2})}},
           {{"k", "v"}});
  const Bytes valid = read_bytes(path);
  const st::File f = st::load(path);
  EXPECT_EQ(names_of(f), names_of(parse(valid)));
  EXPECT_EQ(f.metadata.at("k"), "v");
  const auto agree = [&](const Bytes& b) {
    const std::string p = dir.file("case.safetensors");
    write_bytes(p, b);
    const std::string from_disk = message_of([&] { st::load(p); });
    const std::string in_memory = message_of([&] { parse(b, p); });
    EXPECT_EQ(from_disk, in_memory);
    if (from_disk == "<no error>") {
      const st::File a = st::load(p), m = parse(b, p);
      ASSERT_EQ(a.tensors.size(), m.tensors.size());
      for (std::size_t k = 0; k < a.tensors.size(); ++k) {
        const Tensor &x = a.tensors[k].second, &y = m.tensors[k].second;
        EXPECT_EQ(a.tensors[k].first, m.tensors[k].first);
        EXPECT_EQ(x.sizes(), y.sizes());
        EXPECT_EQ(x.dtype(), y.dtype());
        EXPECT_EQ(x.to(DType::Float64).to_vector<double>(), y.to(DType::Float64).to_vector<double>());
      }
    }
  };
  for (std::size_t len = 0; len <= valid.size(); ++len)
    agree(Bytes(valid.begin(), valid.begin() + static_cast<std::ptrdiff_t>(len)));
  for (std::size_t pos = 0; pos < valid.size(); ++pos) {
    Bytes b = valid;
    b[pos] ^= 0x02;  // a BOOL of 3, a wrong digit, a broken name ...
    agree(b);
  }
  Bytes longer = valid;
  longer.push_back(0);
  agree(longer);
}

// A pipe has no size to plan the reads with: it is read whole, then parsed.
TEST(Safetensors, LoadReadsFromAPipe) {
  TempDir dir;
  const std::string file = dir.file("m.safetensors"), fifo = dir.file("fifo");
  st::save(file, {{"w", full({300}, 3.0, DType::Float64)}});
  const Bytes bytes = read_bytes(file);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::thread writer([&] { write_bytes(fifo, bytes); });
  const st::File f = st::load(fifo);
  writer.join();
  ASSERT_EQ(f.tensors.size(), 1u);
  EXPECT_EQ(f.tensors[0].second.to_vector<double>(), std::vector<double>(300, 3.0));
}

// ---- saving ----

TEST(Safetensors, SaveRejectsBadNamesAndKeepsTheOldFile) {
  TempDir dir;
  const std::string path = dir.file("m.safetensors");
  st::save(path, {{"w", ones({2})}});
  const Bytes old = read_bytes(path);
  const std::vector<std::pair<st::NamedTensors, std::string>> cases = {
      {{{"w", ones({1})}, {"w", zeros({1})}}, "duplicate tensor name \"w\""},
      {{{"", ones({1})}}, "tensor #0 has an empty name"},
      {{{"__metadata__", ones({1})}}, "the tensor name \"__metadata__\" is reserved"},
      {{{"ok", ones({1})}, {"u", Tensor()}}, "tensor \"u\" is undefined"},
      {{{"bad\xff", ones({1})}}, "tensor name \"bad\\xff\" is not valid UTF-8 (byte 3)"},
  };
  for (const auto& c : cases) {
    const auto& [tensors, expected] = c;
    EXPECT_EQ(message_of([&] { st::save(path, c.first); }), "safetensors: " + path + ": " + expected);
    EXPECT_EQ(read_bytes(path), old);
  }
  EXPECT_NE(message_of([&] {
              st::save(path, {}, {{"k", "\xc3"}});
            }).find("metadata value \"\\xc3\" is not valid UTF-8"),
            std::string::npos);
  EXPECT_EQ(read_bytes(path), old);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"m.safetensors"});
}

// Whether the file system holding `folder` can make O_TMPFILEs.
bool has_o_tmpfile(const std::string& folder) {
  const int fd = ::open(folder.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
  if (fd >= 0) ::close(fd);
  return fd >= 0;
}

// The atomic-save tests run with O_TMPFILE (where the file system has it) and with
// the named temporaries of the fallback.
class AtomicSave : public ::testing::TestWithParam<bool> {
  TmpfileMode mode_{GetParam()};
};
TEST_P(AtomicSave, SaveReplacesTheFileAtomically) {
  TempDir dir;
  const std::string path = dir.file("m.safetensors");
  st::save(path, {{"w", ones({1000})}}, {{"step", "1"}});
  st::save(path, {{"v", full({2}, 2.0, DType::Float64)}}, {{"step", "2"}});
  const st::File f = st::load(path);
  EXPECT_EQ(names_of(f), std::vector<std::string>{"v"});
  EXPECT_EQ(f.metadata.at("step"), "2");
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"m.safetensors"});
  // The usual mode for a new file: 0666 minus the umask.
  const ::mode_t mask = ::umask(0);
  ::umask(mask);
  struct stat sb {};
  ASSERT_EQ(::stat(path.c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 0777, 0666 & ~mask);
  // A relative path (no folder part) works too.
  const auto cwd = fs::current_path();
  fs::current_path(dir.path());
  st::save("rel.safetensors", {{"r", ones({1})}});
  fs::current_path(cwd);
  EXPECT_EQ(names_of(st::load(dir.file("rel.safetensors"))), std::vector<std::string>{"r"});
}

TEST_P(AtomicSave, FailedWriteLeavesTheOldFileAndNoTemporary) {
  TempDir dir;
  const std::string path = dir.file("m.safetensors");
  st::save(path, {{"w", ones({4})}});
  const Bytes old = read_bytes(path);
  // A file-size limit makes write() fail half way through (EFBIG), as a full disk would.
  struct rlimit saved {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
  auto* previous = ::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = saved;
  small.rlim_cur = 4096;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  const std::string msg = message_of([&] { st::save(path, {{"big", zeros({100000})}}); });
  ::setrlimit(RLIMIT_FSIZE, &saved);
  ::signal(SIGXFSZ, previous);
  const std::string temporary = GetParam() && has_o_tmpfile(dir.path()) ? "(unnamed, O_TMPFILE)" : "m.safetensors.tmp.";
  EXPECT_EQ(msg.rfind("safetensors: " + path + ": cannot write the temporary file " + temporary, 0), 0u) << msg;
  EXPECT_NE(msg.find("File too large"), std::string::npos) << msg;
  EXPECT_EQ(read_bytes(path), old);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"m.safetensors"});
}

TEST_P(AtomicSave, FailedRenameOrMissingFolderLeavesNoTemporary) {
  TempDir dir;
  // The target is a non-empty folder: the rename fails after the data was written.
  fs::create_directory(dir.file("ckpt"));
  write_bytes(dir.file("ckpt/keep"), {1, 2, 3});
  const std::string msg = message_of([&] { st::save(dir.file("ckpt"), {{"w", ones({4})}}); });
  EXPECT_NE(msg.find("cannot rename the temporary file"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Is a directory"), std::string::npos) << msg;
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"ckpt"});
  EXPECT_EQ(read_bytes(dir.file("ckpt/keep")), (Bytes{1, 2, 3}));
  EXPECT_EQ(message_of([&] { st::save(dir.file("no/such/x.safetensors"), {}); }),
            "safetensors: " + dir.file("no/such/x.safetensors") + ": cannot open its folder " + dir.file("no/such") +
                ": No such file or directory");
  EXPECT_NE(message_of([&] { st::save(dir.path() + "/", {}); }).find("path names a folder, not a file"),
            std::string::npos);
}

// What a writer killed mid-save leaves in the fallback (or in O_TMPFILE's instant
// between link and rename): the next save of the same target removes it, and
// nothing that belongs to a live writer, another target, or another program.
TEST_P(AtomicSave, SaveRemovesTemporariesOfDeadWriters) {
  const ::pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  ASSERT_GT(dead, 0);
  ASSERT_EQ(::waitpid(dead, nullptr, 0), dead);  // reaped: kill(dead, 0) now fails with ESRCH
  TempDir dir;
  const std::string hex = "0123456789abcdef";
  const std::vector<std::string> stale = {fmt::format("m.safetensors.tmp.{}.{}", dead, hex),
                                          fmt::format("m.safetensors.tmp.{}.{}", dead, "ffffffffffffffff")};
  std::vector<std::string> kept = {
      fmt::format("m.safetensors.tmp.{}.{}", ::getpid(), hex),   // this process: maybe another thread
      fmt::format("m.safetensors.tmp.{}.{}", ::getppid(), hex),  // a live process
      fmt::format("other.safetensors.tmp.{}.{}", dead, hex),     // another target
      fmt::format("m.safetensors.tmp.{}.{}.bak", dead, hex),     // not a name Ember makes
      fmt::format("m.safetensors.tmp.{}.0123456789ABCDEF", dead), fmt::format("m.safetensors.tmp.{}.{}", dead, "0123"),
      fmt::format("m.safetensors.tmp.+{}.{}", dead, hex),         "m.safetensors",
  };
  for (const auto& name : stale) write_bytes(dir.file(name), {1, 2, 3});
  for (const auto& name : kept) write_bytes(dir.file(name), {4});
  st::save(dir.file("m.safetensors"), {{"w", ones({3})}});
  std::sort(kept.begin(), kept.end());
  EXPECT_EQ(dir.entries(), kept);
  EXPECT_EQ(names_of(st::load(dir.file("m.safetensors"))), std::vector<std::string>{"w"});
}

INSTANTIATE_TEST_SUITE_P(Safetensors, AtomicSave, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "O_TMPFILE" : "NamedTemporary"; });

TEST(Safetensors, UnwritableFolderKeepsTheOldFile) {
  if (::geteuid() == 0) GTEST_SKIP() << "root writes to any folder";
  TempDir dir;
  const std::string path = dir.file("m.safetensors");
  st::save(path, {{"w", ones({4})}});
  const Bytes old = read_bytes(path);
  ASSERT_EQ(::chmod(dir.path().c_str(), 0555), 0);
  const std::string msg = message_of([&] { st::save(path, {{"w", zeros({4})}}); });
  ::chmod(dir.path().c_str(), 0755);
  EXPECT_NE(msg.find("cannot create the temporary file"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Permission denied"), std::string::npos) << msg;
  EXPECT_EQ(read_bytes(path), old);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"m.safetensors"});
}

// ---- mutations of a valid file: load or throw ember::Error, never crash ----

TEST(Safetensors, MutatedFilesLoadOrThrowNeverCrash) {
  TempDir dir;
  const std::string path = dir.file("fuzz.safetensors");
  st::save(path,
           {{"w", arange(0, 6, 1, DType::Float32).reshape({2, 3})},
            {"b", tensor({1, 0}, DType::Bool)},
            {"i", from_vector<std::int64_t>({-1, 5})},
            {"s", scalar_tensor(2, DType::Float64)},
            {"u", from_vector<std::uint8_t>({7})},
            {"e", zeros({0, 2})}},
           {{"k\"\\", "v\n\xcf\x80"}});
  const Bytes valid = read_bytes(path);
  ASSERT_NO_THROW(parse(valid));
  std::size_t loaded = 0, rejected = 0;
  const auto attempt = [&](const Bytes& b) {
    try {
      parse(b, "fuzz");
      ++loaded;
    } catch (const Error&) {
      ++rejected;
    }  // anything else escapes and fails the test
  };
  const std::uint8_t values[] = {0x00, 0x01, 0x7f, 0x80, 0xbf, 0xc3, 0xed, 0xf4, 0xff, '"', '\\', '{', '}',
                                 '[',  ']',  ',',  ':',  ' ',  '0',  '1',  '9',  '-',  'e', 'u',  'x'};
  for (std::size_t pos = 0; pos < valid.size(); ++pos) {
    for (std::uint8_t v : values) {
      Bytes b = valid;
      b[pos] = v;
      attempt(b);
    }
    for (std::uint8_t flip : {0x01, 0x10, 0x80}) {
      Bytes b = valid;
      b[pos] ^= flip;
      attempt(b);
    }
    Bytes erased = valid;
    erased.erase(erased.begin() + static_cast<std::ptrdiff_t>(pos));
    attempt(erased);
    Bytes doubled = valid;
    doubled.insert(doubled.begin() + static_cast<std::ptrdiff_t>(pos), valid[pos]);
    attempt(doubled);
  }
  for (std::size_t len = 0; len <= valid.size(); ++len)
    attempt(Bytes(valid.begin(), valid.begin() + static_cast<std::ptrdiff_t>(len)));
  // Several bytes at once, from a fixed-seed generator.
  std::uint64_t state = 12345;
  const auto next = [&] { return state = state * 6364136223846793005ull + 1442695040888963407ull, state >> 33; };
  for (int round = 0; round < 20000; ++round) {
    Bytes b = valid;
    const int count = 1 + static_cast<int>(next() % 4);
    for (int k = 0; k < count; ++k) b[next() % b.size()] = values[next() % std::size(values)];
    attempt(b);
  }
  EXPECT_GT(loaded, 0u);
  EXPECT_GT(rejected, 0u);
}

}  // namespace
