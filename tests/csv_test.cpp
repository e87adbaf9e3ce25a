// data/csv: the format (RFC 4180 quoting, CRLF, BOM, delimiters), types and
// missing values, every error's file:line and column, bounded memory on a 2 GB
// line, and the threaded parse agreeing with the one-thread parse.
#include <gtest/gtest.h>

#include "test_util.h"
#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
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
  // A sparse 2 GiB file: a header, then one "line" of zero bytes with no line end. A NUL
  // byte is refused where it is met; the same line of text fails after max_record_bytes.
  const std::string path = write_file("huge.csv", "a,b\n1,");
  ASSERT_EQ(::truncate(path.c_str(), std::int64_t{2} << 30), 0);
  rusage before{};
  ::getrusage(RUSAGE_SELF, &before);
  EXPECT_ERROR_HAS(read_csv(path, CsvOptions().threads(2)), path + ":2: column b: a NUL byte");
  EXPECT_ERROR_HAS(parse_csv("a,b\n1," + std::string(3 << 20, 'x'), CsvOptions().max_record_bytes(1 << 20), "x.csv"),
                   "x.csv:2: a record longer than 1048576 bytes");
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

namespace {

TEST(Csv, TinyChunksAgreeWithOneThread) {
  // min_chunk_bytes(1) cuts even a few bytes into chunks, with cuts inside quotes, CRLFs and blank lines.
  const std::vector<std::string> texts = {
      "a,b\n\"x\n1\",2\n\"y\r\n\",3\r\n\n4,5\n", "a\n1\n\n\n2\n3", "a,b\n\"q\"\"\n\",\"\n\"\n1,2\n",
      "a,b\n1,2\n\"open\n3,4\n", "a,b\n1,2\n3\n4,5\n"};
  for (const std::string& text : texts) {
    for (int threads : {2, 4, 9}) {
      const std::string one = message_of([&] { parse_csv(text, CsvOptions().threads(1), "t.csv"); });
      const std::string many =
          message_of([&] { parse_csv(text, CsvOptions().threads(threads).min_chunk_bytes(1), "t.csv"); });
      EXPECT_EQ(one, many) << text;
      if (one.empty()) {
        const CsvTable a = parse_csv(text, CsvOptions().threads(1), "t.csv");
        const CsvTable b = parse_csv(text, CsvOptions().threads(threads).min_chunk_bytes(1), "t.csv");
        ASSERT_EQ(a.rows(), b.rows()) << text;
        for (const CsvColumn& c : a.columns()) {
          EXPECT_EQ(c.strings, b[c.name].strings);
          ASSERT_EQ(c.numbers.size(), b[c.name].numbers.size());
          for (std::size_t i = 0; i < c.numbers.size(); ++i)
            EXPECT_TRUE(c.numbers[i] == b[c.name].numbers[i] || (std::isnan(c.numbers[i]) && std::isnan(b[c.name].numbers[i])));
        }
      }
    }
  }
}

// Cells compared exactly, NaN equal to NaN.
void expect_same_table(const CsvTable& a, const CsvTable& b, const std::string& what) {
  ASSERT_EQ(a.rows(), b.rows()) << what;
  ASSERT_EQ(a.names(), b.names()) << what;
  for (const CsvColumn& c : a.columns()) {
    const CsvColumn& d = b[c.name];
    ASSERT_EQ(c.type, d.type) << what << " " << c.name;
    EXPECT_EQ(c.strings, d.strings) << what << " " << c.name;
    EXPECT_EQ(c.missing, d.missing) << what << " " << c.name;
    ASSERT_EQ(c.numbers.size(), d.numbers.size()) << what << " " << c.name;
    for (std::size_t i = 0; i < c.numbers.size(); ++i) {
      const double x = c.numbers[i], y = d.numbers[i];
      ASSERT_TRUE((std::isnan(x) && std::isnan(y)) || (x == y && std::signbit(x) == std::signbit(y)))
          << what << " " << c.name << " row " << i << ": " << x << " vs " << y;
    }
  }
}

TEST(Csv, IntegerFastPathMatchesFromChars) {
  // Integers of 1-9 digits and decimals with 1-8 more, with signs, leading zeros and "-0", in rows long enough for the
  // eight-bytes-at-a-time path, beside fields it must hand back: decimals, '+', exponents,
  // quotes, missing values, CRLF, and rows with a field too few or too many (errors).
  std::uint64_t state = 12345;
  auto next = [&] { return state = state * 6364136223846793005u + 1442695040888963407u; };
  std::string text = "a,b,c,d\n";
  std::vector<double> want;
  const char* odd[] = {"1.5", "+7", "1e3", "\"42\"", "", "NA", "-0.0", "2.", "12345678", "99999999999"};
  for (int r = 0; r < 4000; ++r) {
    for (int k = 0; k < 4; ++k) {
      std::string f;
      const std::uint64_t x = next() >> 20;
      if (x % 23 == 0) {
        f = odd[(x >> 8) % 10];
      } else {
        const int digits = 1 + static_cast<int>((x >> 8) % 9);
        for (int i = 0; i < digits; ++i) f += static_cast<char>('0' + (next() >> 40) % 10);
        if ((x >> 24) % 3 == 0) {  // a decimal, 1-8 digits after the point
          f += '.';
          const int frac = 1 + static_cast<int>((x >> 28) % 8);
          for (int i = 0; i < frac; ++i) f += static_cast<char>('0' + (next() >> 40) % 10);
        }
        if ((x >> 16) % 3 == 0) f.insert(f.begin(), '-');
      }
      text += f;
      text += k < 3 ? "," : (r % 5 == 0 ? "\r\n" : "\n");
      std::string_view v = f;
      if (v.size() >= 2 && v.front() == '"') v = v.substr(1, v.size() - 2);
      if (v.empty() || v == "NA") {
        want.push_back(std::numeric_limits<double>::quiet_NaN());
        continue;
      }
      if (v.front() == '+') v.remove_prefix(1);
      double d = 0;
      std::from_chars(v.data(), v.data() + v.size(), d);
      want.push_back(d);
    }
  }
  for (int threads : {1, 2, 3}) {
    const CsvTable t =
        parse_csv(text, CsvOptions().threads(threads).min_chunk_bytes(1024), "f.csv");
    ASSERT_EQ(t.rows(), 4000);
    for (int k = 0; k < 4; ++k) {
      const CsvColumn& c = t.columns()[static_cast<std::size_t>(k)];
      ASSERT_TRUE(c.is_number()) << c.name;
      for (std::size_t r = 0; r < 4000; ++r) {
        const double w = want[r * 4 + static_cast<std::size_t>(k)], g = c.numbers[r];
        ASSERT_TRUE((std::isnan(w) && std::isnan(g)) || (w == g && std::signbit(w) == std::signbit(g)))
            << "threads " << threads << " column " << c.name << " row " << r << ": " << g << " vs " << w;
      }
    }
  }
  // Declared numbers: a text is an error at its line and column, from any chunk.
  const std::string plain = [] {
    std::string s = "x,y\n";
    for (int r = 0; r < 20000; ++r) s += std::to_string(r) + "," + std::to_string(r % 256) + "\n";
    return s;
  }();
  for (int threads : {1, 2, 4}) {
    const CsvOptions opt = CsvOptions().threads(threads).min_chunk_bytes(4096).default_type(CsvType::Number);
    const CsvTable t = parse_csv(plain, opt, "p.csv");
    ASSERT_EQ(t.rows(), 20000);
    EXPECT_EQ(t["x"].numbers[19999], 19999);
    EXPECT_EQ(t["y"].numbers[300], 300 % 256);
    std::string bad = plain;
    bad.replace(bad.find("\n17001,") + 7, 3, "x3");  // line 17003, in the last chunk
    EXPECT_ERROR_HAS(parse_csv(bad, opt, "p.csv"), "p.csv:17003: column y: 'x3' is not a number");
    std::string ragged = plain;
    ragged.replace(ragged.find("\n15000,"), 1, "\n1,2,");  // a third field on line 15002
    EXPECT_ERROR_HAS(parse_csv(ragged, opt, "p.csv"), "p.csv:15002: a row with 4 fields where the header has 2");
    std::string short_row = plain;
    short_row.replace(short_row.find("\n12345,"), 7, "\n12345\n7,");  // line 12347 has one field
    EXPECT_ERROR_HAS(parse_csv(short_row, opt, "p.csv"), "p.csv:12347: a row with 1 field where the header has 2");
  }
}

TEST(Csv, ChunkCutsInQuotesBlankLinesAndStraddlingRows) {
  // Numbers beside quoted fields holding line ends and delimiters, blank lines (which leave
  // room the rows are moved down over), CRLF, and rows far longer than a chunk, so cuts fall
  // inside quotes and inside rows; every thread count and chunk size agrees with one thread.
  std::string text = "n,q,m\n";
  for (int r = 0; r < 3000; ++r) {
    text += std::to_string(r * 7) + ",";
    if (r % 3 == 0) text.append("\"a\n,b").append(static_cast<std::size_t>(r % 50), '\n').append("\"\"c\"");
    else if (r % 3 == 1) text += std::to_string(r);
    else text.append("\"").append(static_cast<std::size_t>(400 + r % 900), 'x').append("\n\"");
    text.append(",").append(std::to_string(-r)).append(r % 4 == 0 ? "\r\n" : "\n");
    if (r % 10 == 0) text += "\n\n";
    if (r % 17 == 0) text += "\r\n";
  }
  const CsvTable one = parse_csv(text, CsvOptions().threads(1), "c.csv");
  ASSERT_EQ(one.rows(), 3000);
  EXPECT_EQ(one["n"].numbers[2999], 2999 * 7);
  EXPECT_EQ(one["m"].numbers[2999], -2999);
  EXPECT_EQ(one["q"].strings[3], "a\n,b\n\n\n\"c");
  for (int threads : {2, 3, 8})
    for (std::size_t chunk : {std::size_t{64}, std::size_t{777}, std::size_t{100000}})
      expect_same_table(one, parse_csv(text, CsvOptions().threads(threads).min_chunk_bytes(chunk), "c.csv"),
                        "threads " + std::to_string(threads) + " chunk " + std::to_string(chunk));
  // The first error wins, found from whichever chunk holds it: an unterminated quote late on.
  const std::string bad = text + "1,\"open,2\n" + text;
  const std::string line = std::to_string(std::count(text.begin(), text.end(), '\n') + 1);
  const std::string first = message_of([&] { parse_csv(bad, CsvOptions().threads(1), "c.csv"); });
  EXPECT_NE(first.find("c.csv:" + line + ": column q: text after a closing quote"), std::string::npos) << first;
  for (int threads : {2, 5})
    EXPECT_EQ(message_of([&] { parse_csv(bad, CsvOptions().threads(threads).min_chunk_bytes(64), "c.csv"); }), first);
}

TEST(Csv, MostlyBlankLinesManyColumnsStayBounded) {
  // A wide header and a million blank lines: one row of room per line would be 8 GB; the
  // reader falls back to one thread with room by record, and agrees with itself.
  std::string text;
  for (int k = 0; k < 1000; ++k) text.append(k ? ",c" : "c").append(std::to_string(k));
  text += "\n";
  std::string row;
  for (int k = 0; k < 1000; ++k) row.append(k ? "," : "").append(std::to_string(k));
  text += row + "\n" + std::string(1000000, '\n') + row + "\n";
  for (int threads : {1, 2}) {
    const CsvTable t = parse_csv(text, CsvOptions().threads(threads), "blank.csv");
    ASSERT_EQ(t.rows(), 2);
    EXPECT_EQ(t["c999"].numbers, (std::vector<double>{999, 999}));
  }
}

TEST(Csv, NumberColumnActsLikeAVector) {
  const CsvTable t = parse_csv("a,b\n1,2\n3,4\n5,6\n", {}, "v.csv");
  NumberColumn a = t["a"].numbers;  // a copy
  a[0] = 10;
  EXPECT_EQ(t["a"].numbers[0], 1);
  a.push_back(7);
  EXPECT_EQ(a, (std::vector<double>{10, 3, 5, 7}));
  const std::vector<double> b = t["b"].numbers;
  EXPECT_EQ(b, (std::vector<double>{2, 4, 6}));
  EXPECT_EQ(std::accumulate(t["b"].numbers.begin(), t["b"].numbers.end(), 0.0), 12);
  EXPECT_EQ(t["b"].numbers.at(2), 6);
  EXPECT_ERROR_HAS(t["b"].numbers.at(3), "index 3 out of range for 3 values");
  CsvTable copy = t;
  copy.columns()[1].numbers[1] = -1;  // writing a column of one table leaves the other alone
  EXPECT_EQ(t["b"].numbers[1], 4);
  EXPECT_EQ(copy["a"].numbers, t["a"].numbers);
  NumberColumn moved = std::move(copy.columns()[0].numbers);
  EXPECT_EQ(moved.size(), 3u);
  NumberColumn built = {1.5, 2.5};
  built.resize(3, 9);
  EXPECT_EQ(built, (std::vector<double>{1.5, 2.5, 9}));
  // A table built by hand.
  CsvColumn c;
  c.name = "z";
  c.numbers = std::vector<double>{1, 2};
  const CsvTable h("hand", {c}, 2);
  EXPECT_EQ(h["z"].numbers.back(), 2);
}

TEST(Csv, RepeatedHeaderNamesAreLinear) {
  // pandas' suffixes, unique against names already in the header.
  const CsvTable t = parse_csv("a,a,a.1,a,,b\n1,2,3,4,5,6\n", {}, "d.csv");
  EXPECT_EQ(t.names(), (std::vector<std::string>{"a", "a.1", "a.1.1", "a.2", "Unnamed: 4", "b"}));
  // 40,000 columns of one name: a search from suffix 1 for each is 8e8 lookups (minutes).
  const int n = 40000;
  std::string header, row;
  for (int i = 0; i < n; ++i) header += i ? ",c" : "c", row += i ? ",1" : "1";
  const auto start = std::chrono::steady_clock::now();
  const CsvTable w = parse_csv(header + "\n" + row + "\n", {}, "wide.csv");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(w.cols(), n);
  EXPECT_EQ(w.columns()[1].name, "c.1");
  EXPECT_EQ(w.columns()[n - 1].name, fmt::format("c.{}", n - 1));
  EXPECT_LT(seconds, 5.0);
}

TEST(Csv, NulBytesAreRefusedNamingLineAndColumn) {
  using namespace std::string_literals;
  EXPECT_ERROR_HAS(parse_csv("a,b\n1,x\n2,y\0z\n"s, {}, "n.csv"), "n.csv:3: column b: a NUL byte", "y\\x00z");
  EXPECT_ERROR_HAS(parse_csv("a,b\n1,\"q\0\"\n"s, {}, "n.csv"), "n.csv:2: column b: a NUL byte");
  EXPECT_ERROR_HAS(parse_csv("a,b\0c\n1,2\n"s, {}, "h.csv"), "h.csv:1: field 2: a NUL byte", "b\\x00c");
  EXPECT_ERROR_HAS(parse_csv("a,b\n1,2\0\n"s, CsvOptions().default_type(CsvType::Number), "n.csv"), "n.csv:2: column b");
}

TEST(Csv, SingleQuotesAndSpacesAsStatsmodelsWritesThem) {
  // statsmodels' spector.csv: space-separated, the header single-quoted.
  const CsvTable t = parse_csv("'OBS' 'GPA' 'GRADE'\n1 2.66 0\n2 2.89 1\n", {}, "s.csv");
  EXPECT_EQ(t.names(), (std::vector<std::string>{"OBS", "GPA", "GRADE"}));
  EXPECT_EQ(t["GPA"].numbers, (std::vector<double>{2.66, 2.89}));
  // R's write.table: double quotes, spaces.
  EXPECT_EQ(parse_csv("\"x\" \"y\"\n1 2\n", {}, "r.csv").names(), (std::vector<std::string>{"x", "y"}));
  // A quote character set by hand; "O'Brien" is text under the default.
  const CsvTable p = parse_csv("n;v\n|a;b|;1\n", CsvOptions().quote('|'), "p.csv");
  EXPECT_EQ(p["n"].strings, (std::vector<std::string>{"a;b"}));
  EXPECT_EQ(parse_csv("n\nO'Brien\n", {}, "o.csv")["n"].strings, (std::vector<std::string>{"O'Brien"}));
  EXPECT_ERROR_HAS(parse_csv("a,b\n1,2\n", CsvOptions().quote(','), "c.csv"), "quote character");
}

TEST(Csv, DecimalCommasWhereTheDelimiterIsSemicolon) {
  const CsvTable t = parse_csv("a;b;c\n1,5;2;x\n-0,25;3.5;y\n", {}, "e.csv");
  ASSERT_TRUE(t["a"].is_number());
  EXPECT_EQ(t["a"].numbers, (std::vector<double>{1.5, -0.25}));
  EXPECT_EQ(t["b"].numbers, (std::vector<double>{2, 3.5}));
  // "1,2,3" is no number; a comma file keeps commas as delimiters; '.' turns it off.
  EXPECT_FALSE(parse_csv("a;b\n1,2,3;1\n", {}, "e.csv")["a"].is_number());
  EXPECT_FALSE(parse_csv("a;b\n1,5;1\n", CsvOptions().decimal('.'), "e.csv")["a"].is_number());
  EXPECT_EQ(parse_csv("a\t\n1,5\t\n", CsvOptions().delimiter('\t').decimal(','), "e.csv")["a"].numbers,
            (std::vector<double>{1.5}));
  EXPECT_ERROR_HAS(parse_csv("a,b\n1,2\n", CsvOptions().decimal(','), "e.csv"), "decimal mark ','");
}

TEST(Csv, WhatMadeAColumnTextAndRowLines) {
  const CsvTable t = parse_csv("a,b\n1,2\n\n3,\"x\ny\"\n4,big\n5,6\n", CsvOptions().row_lines(true), "w.csv");
  EXPECT_EQ(t["b"].text_line, 4);
  EXPECT_EQ(t["b"].text_value, "x\ny");
  EXPECT_EQ(t["a"].text_line, 0);
  EXPECT_EQ(t.line(0), 2);
  EXPECT_EQ(t.line(1), 4);
  EXPECT_EQ(t.line(2), 6);
  EXPECT_EQ(t.line(3), 7);
  // The first text in file order, whichever thread met it.
  std::string big = "v\n";
  for (int i = 0; i < 20000; ++i) big += i == 15000 ? "oops\n" : i == 17000 ? "later\n" : "12345\n";
  const CsvTable b = parse_csv(big, CsvOptions().threads(4).min_chunk_bytes(1024).row_lines(true), "b.csv");
  EXPECT_EQ(b["v"].text_line, 15002);
  EXPECT_EQ(b["v"].text_value, "oops");
  EXPECT_EQ(b.line(19999), 20001);
}

TEST(Tabular, SplitStandardiseOneHotAndSave) {
  std::string text = "id,age,city,y\n";
  for (int i = 0; i < 100; ++i)
    text += fmt::format("{},{},{},{}\n", i, i % 10 == 3 ? "" : std::to_string(20 + i % 7), i % 3 ? "paris" : "rome", i % 2 ? "yes" : "no");
  auto table = std::make_shared<CsvTable>(parse_csv(text, {}, "p.csv"));
  auto all = std::make_shared<TabularDataset>(table, TabularOptions().target("y").drop({"id"}));
  manual_seed(3);
  auto split = random_split(all, {0.8, 0.2});
  ASSERT_EQ(split[0]->size(), 80);
  ASSERT_EQ(split[1]->size(), 20);
  std::vector<std::int64_t> seen = split[0]->indices();
  seen.insert(seen.end(), split[1]->indices().begin(), split[1]->indices().end());
  std::sort(seen.begin(), seen.end());
  for (std::int64_t i = 0; i < 100; ++i) EXPECT_EQ(seen[static_cast<std::size_t>(i)], i);  // a partition
  all->fit(split[0]->indices());
  const TabularPreprocessor& p = all->preprocessor();
  EXPECT_TRUE(p.classification());
  EXPECT_EQ(p.classes(), (std::vector<std::string>{"no", "yes"}));
  EXPECT_EQ(p.width(), 1 + 2 + 2);  // age; city: unknown, missing, paris, rome
  // The age statistics come from the training rows only, missing ages filled with their mean.
  double sum = 0;
  int n = 0;
  for (std::int64_t r : split[0]->indices())
    if (!std::isnan((*table)["age"].numbers[static_cast<std::size_t>(r)])) sum += (*table)["age"].numbers[static_cast<std::size_t>(r)], ++n;
  EXPECT_NEAR(p.feature_list()[0].mean, sum / n, 1e-9);
  const Example e = split[0]->get_batch({0, 1});
  EXPECT_EQ(e.data.size(1), 5);
  // Prediction time: an unseen city goes to the reserved slot 0, a missing one to slot 1.
  auto fresh = std::make_shared<CsvTable>(parse_csv("id,age,city\n1,21,oslo\n2,22,\n", {}, "q.csv"));
  TabularDataset pred(fresh, TabularOptions().target("y").drop({"id"}));
  pred.set_preprocessor(TabularPreprocessor::from_string(p.to_string()));
  const float* x = pred.data().data_ptr<float>();
  EXPECT_EQ(x[1], 1.f);
  EXPECT_EQ(x[5 + 2], 1.f);
  EXPECT_NEAR(x[0], (21 - p.feature_list()[0].mean) / p.feature_list()[0].std, 1e-5);
  EXPECT_FALSE(pred.targets().defined());
}

TEST(Tabular, TargetExprRegressionAndErrors) {
  auto t = std::make_shared<CsvTable>(parse_csv("a,b,s\n0,1.5,x\n2,2.5,y\n0.5,3.5,x\n", {}, "f.csv"));
  TabularDataset d(t, TabularOptions().target_expr("a > 0"));
  d.fit({0, 1, 2});
  EXPECT_EQ(d.targets().data_ptr<std::int64_t>()[0], 0);
  EXPECT_EQ(d.targets().data_ptr<std::int64_t>()[1], 1);
  EXPECT_EQ(d.preprocessor().width(), 1 + 4);  // b, and s one-hot (a is the target's column)
  TabularDataset r(t, TabularOptions().target("b").task(TabularTask::Regression).drop({"s"}));
  r.fit({0, 1, 2});
  EXPECT_FALSE(r.preprocessor().classification());
  EXPECT_NEAR(r.preprocessor().unscale(r.targets().data_ptr<float>()[2]), 3.5, 1e-5);
  EXPECT_ERROR_HAS(TabularDataset(t, TabularOptions().target("nope")).fit({0}), "f.csv: no target column 'nope'",
                   "the columns are: a, b, s");
  EXPECT_ERROR_HAS(TabularDataset(t, TabularOptions().target("s").task(TabularTask::Regression)).fit({0, 1}),
                   "target s holds text", "regression needs numbers");
  EXPECT_ERROR_HAS(TabularDataset(t, TabularOptions().target_expr("a ~ 0")).fit({0}), "has no comparison");
  EXPECT_ERROR_HAS(random_split_indices(10, {0.5, 0.2}), "random_split", "sum to 0.7");
  EXPECT_EQ(random_split_indices(10, {7, 3})[1].size(), 3u);
}

TEST(Tabular, IdColumnsLeftOutAndTextInNumbersNamed) {
  std::string text = "OBS,big,code,y\n";
  for (int i = 0; i < 40; ++i)
    text += fmt::format("{},{},{},{}\n", i + 1, i == 17 ? "n/a?" : std::to_string(100 + 7 * i), 5 - i, i % 2);
  auto table = std::make_shared<CsvTable>(parse_csv(text, {}, "ids.csv"));
  std::vector<std::int64_t> rows(40);
  std::iota(rows.begin(), rows.end(), 0);
  TabularDataset d(table, TabularOptions().target("y"));
  d.fit(rows);
  const TabularPreprocessor& p = d.preprocessor();
  std::vector<std::string> names;
  for (const auto& f : p.feature_list()) names.push_back(f.name);
  // OBS counts the rows and is left out; code counts down, which is no id.
  EXPECT_EQ(names, (std::vector<std::string>{"big", "code"}));
  ASSERT_EQ(p.notes().size(), 2u);
  EXPECT_NE(p.notes()[0].find("ids.csv: left out column OBS: it counts the rows (1 to 40"), std::string::npos) << p.notes()[0];
  EXPECT_NE(p.notes()[1].find("ids.csv:19: column big holds 'n/a?', not a number"), std::string::npos) << p.notes()[1];
  EXPECT_NE(p.notes()[1].find("39 of its 40 values are numbers"), std::string::npos) << p.notes()[1];
  // Named as a feature, or with drop_ids(false), it stays; a text column of words gets no note.
  TabularDataset keep(table, TabularOptions().target("y").drop_ids(false).drop({"big"}));
  keep.fit(rows);
  EXPECT_EQ(keep.preprocessor().feature_list().size(), 2u);
  EXPECT_TRUE(keep.preprocessor().notes().empty());
  auto words = std::make_shared<CsvTable>(parse_csv("w,y\nred,1\n2,0\nblue,1\n", {}, "w.csv"));
  TabularDataset wd(words, TabularOptions().target("y"));
  wd.fit({0, 1, 2});
  EXPECT_TRUE(wd.preprocessor().notes().empty());
}

}  // namespace
