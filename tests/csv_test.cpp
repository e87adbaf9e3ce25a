// data/csv: the format (RFC 4180 quoting, CRLF, BOM, delimiters), types and
// missing values, every error's file:line and column, bounded memory on a 2 GB
// line, and the threaded parse agreeing with the one-thread parse.
#include <gtest/gtest.h>

#include "test_util.h"
#include <sys/resource.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include <ember/ember.h>

namespace {
using namespace ember;
using namespace ember::data;
namespace fs = std::filesystem;
using ember::test_util::message_of;

#define EXPECT_ERROR_HAS(stmt, ...)                                                                      \
  do {                                                                                                   \
    const std::string msg_ = message_of([&] { stmt; });                                                 \
    for (const std::string& part_ : std::vector<std::string>{__VA_ARGS__})                              \
      EXPECT_NE(msg_.find(part_), std::string::npos) << "message: " << msg_ << "\nmissing: " << part_; \
  } while (0)

std::string write_file(const std::string& name, const std::string& text) {
  const fs::path dir = fs::temp_directory_path() / ("ember_csv_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / name).string();
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

TEST(Csv, NumbersStringsAndInference) {
  const CsvTable t = parse_csv("a,b,c\n1,x,2.5\n-3,y,1e3\n+4,z,-0.125\n", {}, "t.csv");
  ASSERT_EQ(t.rows(), 3);
  ASSERT_EQ(t.cols(), 3);
  EXPECT_EQ(t.names(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(t["a"].is_number());
  EXPECT_EQ(t["a"].numbers, (std::vector<double>{1, -3, 4}));
  EXPECT_FALSE(t["b"].is_number());
  EXPECT_EQ(t["b"].strings, (std::vector<std::string>{"x", "y", "z"}));
  EXPECT_EQ(t["c"].numbers, (std::vector<double>{2.5, 1000, -0.125}));
  // A column with numbers and one text becomes strings, keeping each text as written.
  const CsvTable m = parse_csv("v\n007\n1.50\nabc\n", {}, "m.csv");
  EXPECT_EQ(m["v"].strings, (std::vector<std::string>{"007", "1.50", "abc"}));
  // Big integers and exact decimals go through from_chars.
  const CsvTable big = parse_csv("v\n12345678901234567890\n0.1\n", {}, "b.csv");
  EXPECT_DOUBLE_EQ(big["v"].numbers[0], 12345678901234567890.0);
  EXPECT_EQ(big["v"].numbers[1], 0.1);
}

TEST(Csv, QuotingPerRfc4180) {
  const std::string text = "name,note\n\"Smith, J\",\"said \"\"hi\"\"\"\n\"multi\nline\",\"\"\nplain,\"a,b\nc\"\n";
  const CsvTable t = parse_csv(text, {}, "q.csv");
  ASSERT_EQ(t.rows(), 3);
  EXPECT_EQ(t["name"].strings, (std::vector<std::string>{"Smith, J", "multi\nline", "plain"}));
  EXPECT_EQ(t["note"].strings[0], "said \"hi\"");
  EXPECT_EQ(t["note"].missing, (std::vector<std::uint8_t>{0, 1, 0}));  // "" is a missing value
  EXPECT_EQ(t["note"].strings[2], "a,b\nc");
  // Quoted numbers are numbers; a quoted header works too.
  const CsvTable f = parse_csv("\"rate\",\"age\"\n\"3\",32\n", {}, "f.csv");
  EXPECT_EQ(f["rate"].numbers, (std::vector<double>{3}));
  EXPECT_EQ(f["age"].numbers, (std::vector<double>{32}));
}

TEST(Csv, CrlfBomDelimitersAndBlankLines) {
  const CsvTable t = parse_csv("\xEF\xBB\xBFid;val\r\n1;2,5\r\n2;x\r\n\r\n", {}, "s.csv");
  ASSERT_EQ(t.names(), (std::vector<std::string>{"id", "val"}));  // ';' detected, BOM dropped
  EXPECT_EQ(t["id"].numbers, (std::vector<double>{1, 2}));
  EXPECT_EQ(t["val"].strings, (std::vector<std::string>{"2,5", "x"}));  // no '\r' left
  const CsvTable tab = parse_csv("a\tb\n1\t2\n", {}, "t.tsv");
  EXPECT_EQ(tab["b"].numbers, (std::vector<double>{2}));
  // The override wins over detection.
  const CsvTable o = parse_csv("a;b,c\n1;2,3\n", CsvOptions().delimiter(','), "o.csv");
  EXPECT_EQ(o.names(), (std::vector<std::string>{"a;b", "c"}));
  // No line end at the end of the file; a CRLF file whose last line has none either.
  EXPECT_EQ(parse_csv("a,b\n1,2", {}, "e.csv")["b"].numbers, (std::vector<double>{2}));
  EXPECT_EQ(parse_csv("a,b\r\n1,\"2\"", {}, "e.csv")["b"].numbers, (std::vector<double>{2}));
  // A trailing delimiter is an empty (missing) last field.
  const CsvTable tr = parse_csv("a,b\n1,\n", {}, "tr.csv");
  EXPECT_TRUE(std::isnan(tr["b"].numbers[0]));
}

TEST(Csv, MissingValues) {
  const CsvTable t = parse_csv("x,s\n1,a\n,NA\nNaN,\nNA,b\n4,null\n", {}, "na.csv");
  const auto& x = t["x"].numbers;
  ASSERT_EQ(x.size(), 5u);
  EXPECT_EQ(x[0], 1);
  EXPECT_TRUE(std::isnan(x[1]) && std::isnan(x[2]) && std::isnan(x[3]));
  EXPECT_EQ(x[4], 4);
  EXPECT_EQ(t["s"].missing, (std::vector<std::uint8_t>{0, 1, 1, 0, 1}));
  EXPECT_EQ(t["s"].strings, (std::vector<std::string>{"a", "", "", "b", ""}));
  // A configurable set, including a number used as a marker (the integer fast path must see it).
  const CsvTable c = parse_csv("x\n-999\n5\n?\n", CsvOptions().na_values({"-999", "?"}), "c.csv");
  EXPECT_TRUE(std::isnan(c["x"].numbers[0]));
  EXPECT_EQ(c["x"].numbers[1], 5);
  EXPECT_TRUE(std::isnan(c["x"].numbers[2]));
  // An all-missing column is numeric.
  EXPECT_TRUE(parse_csv("a,b\n1,\n2,\n", {}, "m.csv")["b"].is_number());
}

TEST(Csv, DeclaredTypesUsecolsAndNames) {
  const CsvOptions opt = CsvOptions().type("zip", CsvType::String).usecols({"zip", "n"});
  const CsvTable t = parse_csv("zip,n,other\n02134,1,q\n10001,2,r\n", opt, "d.csv");
  EXPECT_EQ(t.names(), (std::vector<std::string>{"zip", "n"}));
  EXPECT_EQ(t["zip"].strings, (std::vector<std::string>{"02134", "10001"}));
  EXPECT_ERROR_HAS(parse_csv("a\n1\n", CsvOptions().usecols({"b"}), "d.csv"), "d.csv", "no column 'b'", "a");
  EXPECT_ERROR_HAS(parse_csv("a,b\n1,2\n", CsvOptions().type("c", CsvType::Number), "d.csv"), "no column 'c'",
                   "the columns are: a, b");
  EXPECT_ERROR_HAS(t["nope"], "d.csv", "no column 'nope'", "zip, n");
  // Duplicate and empty header names are made unique as pandas does.
  EXPECT_EQ(parse_csv("a,a,\n1,2,3\n", {}, "x.csv").names(), (std::vector<std::string>{"a", "a.1", "Unnamed: 2"}));
  // sklearn's files: a count line, then rows without a header.
  const CsvTable s = parse_csv("3,2,class_0\n1.5,2,0\n2.5,3,1\n3.5,4,0\n", CsvOptions().skip_rows(1).header(false), "w.csv");
  EXPECT_EQ(s.names(), (std::vector<std::string>{"0", "1", "2"}));
  EXPECT_EQ(s.rows(), 3);
  EXPECT_EQ(s["2"].numbers, (std::vector<double>{0, 1, 0}));
  const CsvTable n = parse_csv("1,2\n", CsvOptions().header(false).names({"p", "q"}), "n.csv");
  EXPECT_EQ(n["q"].numbers, (std::vector<double>{2}));
}

TEST(Csv, ToTensor) {
  const CsvTable t = parse_csv("label,p0,p1\n3,0,255\n7,12,\n", {}, "k.csv");
  const Tensor x = t.to_tensor(t.names_except({"label"}));
  EXPECT_EQ(x.size(0), 2);
  EXPECT_EQ(x.size(1), 2);
  const float* p = x.data_ptr<float>();
  EXPECT_EQ(p[0], 0.f);
  EXPECT_EQ(p[1], 255.f);
  EXPECT_EQ(p[2], 12.f);
  EXPECT_TRUE(std::isnan(p[3]));
  EXPECT_EQ(t.to_tensor({"label"}, DType::Float64).data_ptr<double>()[1], 7.0);
  const CsvTable s = parse_csv("a,b\n1,x\n", {}, "s.csv");
  EXPECT_ERROR_HAS(s.to_tensor({"b"}), "column b holds strings", "'x'");
  EXPECT_ERROR_HAS(t.names_except({"labl"}), "no column 'labl'");
}

TEST(Csv, ErrorsNameFileLineColumnAndText) {
  std::string text = "label,pixel0,pixel1\n";
  for (int i = 0; i < 5; ++i) text += "1,2,3\n";
  const std::string bad = text + "4,x3,5\n";
  const CsvOptions numbers = CsvOptions().default_type(CsvType::Number);
  EXPECT_ERROR_HAS(parse_csv(bad, numbers, "train.csv"), "train.csv:7: column pixel0: 'x3' is not a number");
  EXPECT_ERROR_HAS(parse_csv(text + "1,2\n", {}, "train.csv"), "train.csv:7: a row with 2 fields where the header has 3");
  EXPECT_ERROR_HAS(parse_csv(text + "1,2,3,4\n", {}, "train.csv"), "train.csv:7: a row with 4 fields where the header has 3");
  EXPECT_ERROR_HAS(parse_csv(text + "1,\"2,3\n4,5,6\n", {}, "train.csv"), "train.csv:7: column pixel0: unterminated quote");
  EXPECT_ERROR_HAS(parse_csv(text + "1,ab\"c,3\n", {}, "train.csv"), "train.csv:7: column pixel0: a quote inside an unquoted field: 'ab\"c'");
  EXPECT_ERROR_HAS(parse_csv(text + "1,\"ab\"c,3\n", {}, "train.csv"), "train.csv:7: column pixel0: text after a closing quote: '\"ab\"c'");
  // Line numbers count physical lines, so a quoted newline moves the lines after it.
  EXPECT_ERROR_HAS(parse_csv("a,b\n\"x\ny\",1\n1\n", {}, "p.csv"), "p.csv:4: a row with 1 field where");
  EXPECT_ERROR_HAS(parse_csv("", {}, "e.csv"), "e.csv: the file is empty");
  EXPECT_ERROR_HAS(parse_csv("\n\r\n", {}, "e.csv"), "e.csv: the file has no records");
  EXPECT_ERROR_HAS(parse_csv("a,b\n", {}, "h.csv"), "h.csv: a header and no data rows");
  EXPECT_EQ(parse_csv("a,b\n", CsvOptions().allow_empty(true), "h.csv").rows(), 0);
  EXPECT_ERROR_HAS(parse_csv("a,b\n1,2\n", CsvOptions().skip_rows(5), "s.csv"), "s.csv: the file has 2 lines");
  EXPECT_ERROR_HAS(parse_csv("a,b\n1,22222222\n", CsvOptions().max_record_bytes(8), "l.csv"),
                   "l.csv:2: a record longer than 8 bytes");
  EXPECT_ERROR_HAS(read_csv("/nonexistent/x.csv"), "cannot open /nonexistent/x.csv");
}

TEST(Csv, TwoGigabyteLineFailsFastWithBoundedMemory) {
  // A sparse 2 GiB file: a header, then one "line" of zero bytes with no line end.
  const std::string path = write_file("huge.csv", "a,b\n1,");
  ASSERT_EQ(::truncate(path.c_str(), std::int64_t{2} << 30), 0);
  rusage before{};
  ::getrusage(RUSAGE_SELF, &before);
  EXPECT_ERROR_HAS(read_csv(path, CsvOptions().threads(2)), path + ":2: a record longer than 67108864 bytes");
  rusage after{};
  ::getrusage(RUSAGE_SELF, &after);
  EXPECT_LT(after.ru_maxrss - before.ru_maxrss, 256 * 1024) << "KiB";
  fs::remove(path);
}

TEST(Csv, ThreadsAgreeWithOneThread) {
  // About 3 MB with quoted newlines everywhere, so chunk cuts fall inside quoted fields.
  std::string text = "id,text,x\n";
  for (int i = 0; i < 60000; ++i) {
    text += std::to_string(i) + ",\"line " + std::to_string(i) + "\nsecond, line\n\"\"q\"\"\"," +
            std::to_string(i * 0.5) + "\n";
  }
  const std::string path = write_file("quoted.csv", text);
  const CsvTable one = read_csv(path, CsvOptions().threads(1));
  for (int threads : {2, 3, 7}) {
    const CsvTable many = read_csv(path, CsvOptions().threads(threads));
    ASSERT_EQ(many.rows(), 60000);
    EXPECT_EQ(many["id"].numbers, one["id"].numbers);
    EXPECT_EQ(many["text"].strings, one["text"].strings);
    EXPECT_EQ(many["x"].numbers, one["x"].numbers);
  }
  EXPECT_EQ(one["text"].strings[59999], "line 59999\nsecond, line\n\"q\"");
  // The first error is the one a one-thread parse finds, wherever the cuts are.
  const std::string bad = text + "1,2\n" + text;
  for (int threads : {1, 2, 5}) {
    EXPECT_ERROR_HAS(parse_csv(bad, CsvOptions().threads(threads), "bad.csv"),
                     "bad.csv:" + std::to_string(3 * 60000 + 2) + ": a row with 2 fields");
  }
  fs::remove(path);
}

}  // namespace
