// A character-level GPT on any UTF-8 text: the model and recipe of
// ../shared/anchors/torch_char_gpt.py (decoder-only transformer: token and learned
// position embeddings, pre-LayerNorm blocks of causal self-attention with one fused
// qkv projection and a 4x GELU MLP, a final LayerNorm, the output tied to the token
// embedding; AdamW with weight decay on matrices only, warm-up then cosine decay,
// gradient clipping). Trains, evaluates, saves and resumes a checkpoint, and samples
// with a key/value cache so each new character costs one position.
//
//   char_gpt --text book.txt --steps 2000 --save gpt.safetensors
//   char_gpt --resume gpt.safetensors --sample 500 --temperature 0.8 --top-k 20 --prompt "ROMEO:"
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "ember/ember.h"
#include "ember/log/progress.h"
#include "ember/log/summary_writer.h"
#include "ember/nn/safetensors.h"
#include "ember/optim/checkpoint.h"
#include "ember/optim/scheduler.h"
#include "flags.h"

using namespace ember;

namespace {

// ---- text: UTF-8 code points and the vocabulary ----

/// The code points of `bytes`; invalid UTF-8 (a bad lead or continuation byte, a truncated,
/// overlong or surrogate sequence, a value past U+10FFFF) is an error naming the byte offset.
std::vector<char32_t> decode_utf8(const std::string& bytes, const std::string& what) {
  std::vector<char32_t> out;
  out.reserve(bytes.size());
  const auto* s = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t n = bytes.size();
  for (std::size_t i = 0; i < n;) {
    const unsigned c = s[i];
    std::size_t len;
    char32_t cp;
    if (c < 0x80) len = 1, cp = c;
    else if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07;
    else throw Error(fmt::format("{}: invalid UTF-8 at byte offset {} (byte 0x{:02X} cannot start a character)", what, i, c));
    if (i + len > n)
      throw Error(fmt::format("{}: invalid UTF-8 at byte offset {} (the text ends inside a {}-byte character)", what, i, len));
    for (std::size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80)
        throw Error(fmt::format("{}: invalid UTF-8 at byte offset {} (byte 0x{:02X} is not a continuation byte)", what,
                                i + k, s[i + k]));
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
      throw Error(fmt::format("{}: invalid UTF-8 at byte offset {} (an overlong, surrogate or out-of-range character)",
                              what, i));
    out.push_back(cp);
    i += len;
  }
  return out;
}

std::string encode_utf8(char32_t cp) {
  std::string s;
  if (cp < 0x80) s += static_cast<char>(cp);
  else if (cp < 0x800) s += static_cast<char>(0xC0 | (cp >> 6)), s += static_cast<char>(0x80 | (cp & 0x3F));
  else if (cp < 0x10000)
    s += static_cast<char>(0xE0 | (cp >> 12)), s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F)),
        s += static_cast<char>(0x80 | (cp & 0x3F));
  else
    s += static_cast<char>(0xF0 | (cp >> 18)), s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F)),
        s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F)), s += static_cast<char>(0x80 | (cp & 0x3F));
  return s;
}

/// The characters of a text, sorted by code point (as the anchor's sorted(set(text))).
struct Vocabulary {
  std::vector<char32_t> chars;
  std::map<char32_t, std::int64_t> index;

  explicit Vocabulary(std::vector<char32_t> sorted) : chars(std::move(sorted)) {
    for (std::size_t i = 0; i < chars.size(); ++i) index[chars[i]] = static_cast<std::int64_t>(i);
  }
  static Vocabulary of(const std::vector<char32_t>& text) {
    const std::set<char32_t> set(text.begin(), text.end());
    return Vocabulary({set.begin(), set.end()});
  }
  std::int64_t size() const { return static_cast<std::int64_t>(chars.size()); }
  /// "10,32,33,...": the code points, for the checkpoint's metadata.
  std::string to_metadata() const {
    std::vector<std::uint32_t> points(chars.begin(), chars.end());
    return fmt::format("{}", fmt::join(points, ","));
  }
  static Vocabulary from_metadata(const std::string& text, const std::string& file) {
    std::vector<char32_t> chars;
    std::stringstream in(text);
    for (std::string item; std::getline(in, item, ',');) {
      char* end = nullptr;
      const unsigned long v = std::strtoul(item.c_str(), &end, 10);
      if (item.empty() || *end != '\0' || v > 0x10FFFF || (!chars.empty() && v <= chars.back()))
        throw Error(fmt::format("{}: the \"vocab\" metadata is malformed at '{}'", file, item));
      chars.push_back(static_cast<char32_t>(v));
    }
    if (chars.empty()) throw Error(fmt::format("{}: the \"vocab\" metadata is empty", file));
    return Vocabulary(std::move(chars));
  }
  std::string decode(const std::vector<std::int64_t>& ids) const {
    std::string s;
    for (auto id : ids) s += encode_utf8(chars[static_cast<std::size_t>(id)]);
    return s;
  }
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("{}: cannot open the file", path));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(fmt::format("{}: read error", path));
  return bytes;
}

// ---- the model ----

struct Config {
  std::int64_t vocab = 0, context = 64, layers = 4, heads = 4, width = 128;
};

/// Causal self-attention of q, k, v [B, heads, T, head_dim]: position i attends to positions <= i.
Tensor causal_attention(const Tensor& q, const Tensor& k, const Tensor& v) {
  const std::int64_t t = q.sizes()[2];
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.sizes()[3]));
  const Tensor future = logical_not(tril(ones({t, t}, DType::Bool)));
  const Tensor att = masked_fill(matmul(q, k.transpose(-2, -1)) * scale, future, -INFINITY);
  return matmul(softmax(att, -1), v);
}

/// Attention of new queries q [B, heads, 1, head_dim] to every cached key (all in their past).
Tensor attention_to_past(const Tensor& q, const Tensor& k, const Tensor& v) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.sizes()[3]));
  return matmul(softmax(matmul(q, k.transpose(-2, -1)) * scale, -1), v);
}

/// One layer's keys and values [B, heads, positions, head_dim] so far, for sampling.
struct KVCache {
  Tensor k, v;
};

struct BlockImpl : nn::Module {
  BlockImpl(std::int64_t width, std::int64_t heads) : heads(heads) {
    ln1 = register_module("ln1", nn::LayerNorm(nn::LayerNormOptions({width})));
    qkv = register_module("qkv", nn::Linear(width, 3 * width));
    proj = register_module("proj", nn::Linear(width, width));
    ln2 = register_module("ln2", nn::LayerNorm(nn::LayerNormOptions({width})));
    fc = register_module("fc", nn::Linear(width, 4 * width));
    out = register_module("out", nn::Linear(4 * width, width));
  }
  /// x [B, T, C]. With a cache: an empty one is filled with the T positions' keys and
  /// values; a filled one takes T = 1 new position, which attends to all it holds.
  Tensor forward(const Tensor& x, KVCache* cache = nullptr) {
    const std::int64_t b = x.sizes()[0], t = x.sizes()[1], c = x.sizes()[2];
    const TensorList parts = split(qkv->forward(ln1->forward(x)), c, 2);
    const auto heads_of = [&](const Tensor& z) { return z.reshape({b, t, heads, c / heads}).transpose(1, 2); };
    Tensor q = heads_of(parts[0]), k = heads_of(parts[1]), v = heads_of(parts[2]);
    Tensor y;
    if (cache == nullptr || !cache->k.defined()) {
      y = causal_attention(q, k, v);
      if (cache != nullptr) *cache = {k.contiguous(), v.contiguous()};
    } else {
      EMBER_CHECK(t == 1, "char_gpt: a filled key/value cache takes one new position at a time, got {}", t);
      cache->k = cat({cache->k, k}, 2);
      cache->v = cat({cache->v, v}, 2);
      y = attention_to_past(q, cache->k, cache->v);
    }
    const Tensor h = x + proj->forward(y.transpose(1, 2).reshape({b, t, c}));
    return h + out->forward(gelu(fc->forward(ln2->forward(h))));
  }
  std::int64_t heads;
  nn::LayerNorm ln1{nullptr}, ln2{nullptr};
  nn::Linear qkv{nullptr}, proj{nullptr}, fc{nullptr}, out{nullptr};
};

struct GPT : nn::Module {
  explicit GPT(const Config& cfg) : cfg(cfg) {
    tok = register_module("tok", nn::Embedding(cfg.vocab, cfg.width));
    pos = register_module("pos", nn::Embedding(cfg.context, cfg.width));
    auto list = register_module("blocks", std::make_shared<nn::Module>("ModuleList"));
    for (std::int64_t i = 0; i < cfg.layers; ++i)
      blocks.push_back(list->register_module(std::to_string(i), std::make_shared<BlockImpl>(cfg.width, cfg.heads)));
    ln = register_module("ln", nn::LayerNorm(nn::LayerNormOptions({cfg.width})));
    // The anchor's init: matrices ~ N(0, 0.02), the residual projections scaled by 1/sqrt(2 layers).
    NoGradGuard no_grad;
    for (auto& [name, p] : named_parameters()) {
      const bool residual = name.ends_with("proj.weight") || name.ends_with("out.weight");
      if (p.dim() == 2) nn::init::normal_(p, 0.0, residual ? 0.02 / std::sqrt(2.0 * cfg.layers) : 0.02);
      else if (name.ends_with("bias")) nn::init::zeros_(p);
    }
  }
  /// Logits [B, T, vocab] of idx [B, T] (int64), whose first position is `start`. With
  /// caches (one per layer), see BlockImpl::forward.
  Tensor forward(const Tensor& idx, std::vector<KVCache>* caches = nullptr, std::int64_t start = 0) {
    const std::int64_t t = idx.sizes()[1];
    Tensor x = tok->forward(idx) + pos->forward(arange(static_cast<double>(start), static_cast<double>(start + t)));
    for (std::size_t i = 0; i < blocks.size(); ++i) x = blocks[i]->forward(x, caches ? &(*caches)[i] : nullptr);
    return linear(ln->forward(x), tok->weight);  // the head is tied to the token embedding
  }
  Config cfg;
  nn::Embedding tok{nullptr}, pos{nullptr};
  std::vector<std::shared_ptr<BlockImpl>> blocks;
  nn::LayerNorm ln{nullptr};
};

// ---- batches ----

/// x and y [batch, context] int64 from random windows of `data` (y is x shifted by one).
std::pair<Tensor, Tensor> get_batch(const std::vector<std::int64_t>& data, std::int64_t batch, std::int64_t context,
                                    Generator& gen) {
  std::vector<std::int64_t> x(static_cast<std::size_t>(batch * context)), y(x.size());
  const std::int64_t span = static_cast<std::int64_t>(data.size()) - context - 1;
  for (std::int64_t r = 0; r < batch; ++r) {
    const std::int64_t i = gen.integer(0, span);
    for (std::int64_t j = 0; j < context; ++j) {
      x[static_cast<std::size_t>(r * context + j)] = data[static_cast<std::size_t>(i + j)];
      y[static_cast<std::size_t>(r * context + j)] = data[static_cast<std::size_t>(i + j + 1)];
    }
  }
  return {from_vector(x, Shape{batch, context}), from_vector(y, Shape{batch, context})};
}

Tensor lm_loss(GPT& model, const Tensor& x, const Tensor& y) {
  const Tensor logits = model.forward(x);
  return nn::F::cross_entropy(logits.reshape({-1, model.cfg.vocab}), y.reshape({-1}));
}

/// The mean loss over `batches` random batches of `data`, as the anchor evaluates.
double evaluate(GPT& model, const std::vector<std::int64_t>& data, std::int64_t batches, std::int64_t batch,
                Generator& gen) {
  NoGradGuard no_grad;
  model.eval();
  double sum = 0.0;
  for (std::int64_t i = 0; i < batches; ++i) {
    auto [x, y] = get_batch(data, batch, model.cfg.context, gen);
    sum += lm_loss(model, x, y).item<double>();
  }
  model.train();
  return sum / static_cast<double>(batches);
}

// ---- sampling ----

struct SampleOptions {
  std::int64_t count = 0, top_k = 0;
  double temperature = 1.0;
  bool cache = true;
};

/// Next-character logits [vocab] -> a sampled id (temperature, then top-k, then multinomial).
std::int64_t pick(const Tensor& logits, const SampleOptions& o, Generator& gen) {
  Tensor l = logits / o.temperature;
  if (o.top_k > 0 && o.top_k < l.numel()) {
    const double kth = topk(l, o.top_k).values[o.top_k - 1].item<double>();
    l = masked_fill(l, lt(l, scalar_tensor(kth, l.dtype())), -INFINITY);
  }
  return multinomial(softmax(l, -1), 1, false, &gen).item<std::int64_t>();
}

/// Appends o.count sampled ids to `ids`. The model sees a window of the last positions:
/// when it would pass the context, it restarts from the last context/2 positions (the
/// position embeddings are absolute, so a cache cannot slide). With the cache each new
/// id costs one position, and a restart one window; without it every id runs the whole
/// window. Both read the same windows, so they give the same logits. `logits_out`, when
/// given, receives each step's logits.
void generate(GPT& model, std::vector<std::int64_t>& ids, const SampleOptions& o, Generator& gen,
              std::vector<Tensor>* logits_out = nullptr) {
  NoGradGuard no_grad;
  model.eval();
  const std::int64_t context = model.cfg.context;
  std::size_t window_start = ids.size() > static_cast<std::size_t>(context) ? ids.size() - context : 0;
  std::vector<KVCache> caches;
  bool cache_valid = false;
  for (std::int64_t n = 0; n < o.count; ++n) {
    if (ids.size() - window_start > static_cast<std::size_t>(context)) {
      window_start = ids.size() - static_cast<std::size_t>(context / 2);
      cache_valid = false;
    }
    const std::int64_t len = static_cast<std::int64_t>(ids.size() - window_start);
    Tensor logits;
    if (o.cache && cache_valid) {
      const Tensor last = from_vector(std::vector<std::int64_t>{ids.back()}, Shape{1, 1});
      logits = model.forward(last, &caches, len - 1);
    } else {
      const std::vector<std::int64_t> window(ids.begin() + static_cast<std::ptrdiff_t>(window_start), ids.end());
      const Tensor idx = from_vector(window, Shape{1, len});
      if (o.cache) {
        caches.assign(model.blocks.size(), KVCache{});
        logits = model.forward(idx, &caches);
        cache_valid = true;
      } else {
        logits = model.forward(idx);
      }
    }
    const Tensor next_logits = logits.select(1, logits.sizes()[1] - 1).reshape({-1});
    if (logits_out) logits_out->push_back(next_logits.contiguous());
    ids.push_back(pick(next_logits, o, gen));
  }
}

// ---- checkpoint metadata ----

std::map<std::string, std::string> metadata_of(const Config& cfg, const Vocabulary& vocab, std::int64_t step) {
  return {{"format", "char_gpt"},
          {"vocab", vocab.to_metadata()},
          {"context", std::to_string(cfg.context)},
          {"layers", std::to_string(cfg.layers)},
          {"heads", std::to_string(cfg.heads)},
          {"width", std::to_string(cfg.width)},
          {"step", std::to_string(step)}};
}

std::int64_t meta_int(const std::map<std::string, std::string>& m, const std::string& key, const std::string& file) {
  const auto it = m.find(key);
  if (it == m.end()) throw Error(fmt::format("{}: not a char_gpt checkpoint (no \"{}\" in its metadata)", file, key));
  char* end = nullptr;
  const long long v = std::strtoll(it->second.c_str(), &end, 10);
  if (it->second.empty() || *end != '\0' || v < 0)
    throw Error(fmt::format("{}: metadata \"{}\" is '{}', not a count", file, key, it->second));
  return v;
}

}  // namespace

int main(int argc, char** argv) try {
  std::string text_path, logdir, save_path, resume_path, prompt;
  std::int64_t steps = 2000, layers = 4, heads = 4, width = 128, context = 64, batch = 12, warmup = 100;
  std::int64_t eval_interval = 500, eval_batches = 200, seed = 1337, sample = 0, top_k = 0;
  int threads = 2;
  double lr = 1e-3, min_lr = 1e-4, weight_decay = 0.1, clip = 1.0, temperature = 1.0, expect_val_loss = 0.0;
  bool no_cache = false, compare_cache = false;
  examples::Flags flags("char_gpt", "A character-level GPT trained on a UTF-8 text, and text sampled from it.");
  flags.add("text", text_path, "the UTF-8 text to train on (its last 10% is validation)")
      .add("steps", steps, "training steps in all (a resumed run continues up to this)", examples::Check::NonNegative)
      .add("layers", layers, "transformer blocks", examples::Check::Positive)
      .add("heads", heads, "attention heads (must divide --width)", examples::Check::Positive)
      .add("width", width, "embedding width", examples::Check::Positive)
      .add("context", context, "characters of context", examples::Check::Positive)
      .add("batch", batch, "sequences per step", examples::Check::Positive)
      .add("lr", lr, "peak learning rate (AdamW)", examples::Check::Positive)
      .add("min-lr", min_lr, "learning rate at the end of the cosine decay", examples::Check::NonNegative)
      .add("warmup", warmup, "steps of linear warm-up", examples::Check::NonNegative)
      .add("weight-decay", weight_decay, "AdamW weight decay of the matrices", examples::Check::NonNegative)
      .add("clip", clip, "gradient norm clipping (0: none)", examples::Check::NonNegative)
      .add("eval-interval", eval_interval, "steps between evaluations", examples::Check::Positive)
      .add("eval-batches", eval_batches, "random batches per evaluation", examples::Check::Positive)
      .add("threads", threads, "CPU threads", examples::Check::Positive)
      .add("seed", seed, "random seed (init, batches, sampling)", examples::Check::NonNegative)
      .add("logdir", logdir, "TensorBoard folder for the loss and learning-rate scalars")
      .add("save", save_path, "checkpoint to write after training (safetensors)")
      .add("resume", resume_path, "checkpoint to continue training or to sample from")
      .add("sample", sample, "characters to sample after training or from --resume", examples::Check::NonNegative)
      .add("temperature", temperature, "sampling temperature", examples::Check::Positive)
      .add("top-k", top_k, "sample from the k likeliest characters (0: all)", examples::Check::NonNegative)
      .add("prompt", prompt, "text the sample continues (its characters must be in the vocabulary)")
      .add("no-cache", no_cache, "sample without the key/value cache (every character runs the whole window)")
      .add("compare-cache", compare_cache, "sample with and without the cache and report the largest logit difference")
      .add("expect-val-loss", expect_val_loss, "exit 1 unless the final validation loss is below this (0: no check)",
           examples::Check::NonNegative);
  flags.parse(argc, argv);
  if (text_path.empty() && resume_path.empty()) throw examples::UsageError("--text or --resume is required");
  if (text_path.empty() && sample == 0) throw examples::UsageError("without --text, --resume needs --sample N");
  if (width % heads != 0) throw examples::UsageError(fmt::format("--heads: {} does not divide --width {}", heads, width));
  set_num_threads(threads);
  manual_seed(static_cast<std::uint64_t>(seed));

  // The architecture: from the flags, or from the checkpoint (which flags may not contradict).
  Config cfg{0, context, layers, heads, width};
  std::map<std::string, std::string> ckpt_meta;
  std::unique_ptr<Vocabulary> vocab;
  std::int64_t start_step = 0;
  if (!resume_path.empty()) {
    ckpt_meta = safetensors::load(resume_path).metadata;
    if (ckpt_meta.count("vocab") == 0)
      throw Error(fmt::format("{}: not a char_gpt checkpoint (no \"vocab\" in its metadata)", resume_path));
    vocab = std::make_unique<Vocabulary>(Vocabulary::from_metadata(ckpt_meta["vocab"], resume_path));
    const std::pair<const char*, std::int64_t*> arch[] = {
        {"context", &cfg.context}, {"layers", &cfg.layers}, {"heads", &cfg.heads}, {"width", &cfg.width}};
    for (const auto& [key, field] : arch) {
      const std::int64_t v = meta_int(ckpt_meta, key, resume_path);
      if (flags.given(key) && v != *field)
        throw examples::UsageError(
            fmt::format("--{} {}: the checkpoint {} was trained with {} {}", key, *field, resume_path, key, v));
      *field = v;
    }
    if (cfg.context <= 0 || cfg.layers <= 0 || cfg.heads <= 0 || cfg.width <= 0 || cfg.width % cfg.heads != 0)
      throw Error(fmt::format("{}: its architecture metadata is inconsistent", resume_path));
    start_step = meta_int(ckpt_meta, "step", resume_path);
  }

  // The text: code points, the vocabulary, the 90/10 split.
  std::vector<std::int64_t> train_ids, val_ids;
  if (!text_path.empty()) {
    const std::string bytes = read_file(text_path);
    if (bytes.empty()) throw Error(fmt::format("{}: the file is empty", text_path));
    const std::vector<char32_t> text = decode_utf8(bytes, text_path);
    const Vocabulary own = Vocabulary::of(text);
    if (vocab && vocab->chars != own.chars)
      throw Error(fmt::format("{}: the checkpoint was trained on another vocabulary ({} characters; {} has {}{})",
                              resume_path, vocab->size(), text_path, own.size(),
                              vocab->size() == own.size() ? ", not the same ones" : ""));
    if (!vocab) vocab = std::make_unique<Vocabulary>(own);
    const auto n = static_cast<std::int64_t>(text.size());
    const std::int64_t n_train = static_cast<std::int64_t>(0.9 * static_cast<double>(n));
    if (n - n_train < cfg.context + 2 || n_train < cfg.context + 2)
      throw Error(fmt::format("{}: {} characters are too short for a context of {} (the validation split, the last "
                              "10%, has {}; each split needs at least {})",
                              text_path, n, cfg.context, n - n_train, cfg.context + 2));
    for (std::int64_t i = 0; i < n; ++i)
      (i < n_train ? train_ids : val_ids).push_back(vocab->index.at(text[static_cast<std::size_t>(i)]));
  }
  cfg.vocab = vocab->size();

  // The prompt is checked before any training, so a bad one costs nothing.
  std::vector<std::int64_t> prompt_ids;
  {
    const std::vector<char32_t> p = decode_utf8(prompt, "--prompt");
    for (std::size_t i = 0; i < p.size(); ++i) {
      const auto it = vocab->index.find(p[i]);
      if (it == vocab->index.end())
        throw examples::UsageError(fmt::format("--prompt: character '{}' (U+{:04X}) at position {} is not in the "
                                               "vocabulary of {} characters",
                                               encode_utf8(p[i]), static_cast<std::uint32_t>(p[i]), i, vocab->size()));
      prompt_ids.push_back(it->second);
    }
  }

  GPT model(cfg);
  TensorList decay, rest;
  for (const auto& p : model.parameters()) (p.dim() >= 2 ? decay : rest).push_back(p);
  optim::AdamW opt({optim::OptimizerParamGroup(decay, optim::AdamWOptions(lr).betas({0.9, 0.99}).weight_decay(weight_decay)),
                    optim::OptimizerParamGroup(rest, optim::AdamWOptions(lr).betas({0.9, 0.99}).weight_decay(0.0))},
                   optim::AdamWOptions(lr).betas({0.9, 0.99}));
  // The anchor's schedule as a factor of the peak rate: linear warm-up, then cosine to min_lr.
  const auto factor = [&](std::int64_t step) {
    if (step < warmup) return static_cast<double>(step + 1) / static_cast<double>(warmup);
    const double r = static_cast<double>(step - warmup) / static_cast<double>(std::max<std::int64_t>(1, steps - warmup));
    return (min_lr + 0.5 * (1.0 + std::cos(M_PI * std::min(1.0, r))) * (lr - min_lr)) / lr;
  };
  optim::LambdaLR sched(opt, factor);
  if (!resume_path.empty()) {
    if (!text_path.empty()) {
      optim::load_checkpoint(resume_path, model, opt, sched);
    } else {  // sampling only: the model's tensors
      NamedTensors state;
      for (auto& [name, t] : safetensors::load(resume_path).tensors)
        if (name.rfind("model.", 0) == 0) state.emplace_back(name.substr(6), t);
      model.load_state_dict(state);
    }
  }
  fmt::print("char_gpt: {} characters of vocabulary, {} parameters, {} layers, {} heads, width {}, context {}\n",
             cfg.vocab, model.num_parameters(), cfg.layers, cfg.heads, cfg.width, cfg.context);

  Generator gen(static_cast<std::uint64_t>(seed) * 1000003ULL + static_cast<std::uint64_t>(start_step));
  double final_val = NAN;
  if (!text_path.empty() && start_step < steps) {
    fmt::print("training on {} ({} train, {} validation characters), steps {} to {}\n", text_path, train_ids.size(),
               val_ids.size(), start_step, steps);
    std::unique_ptr<logging::SummaryWriter> writer;
    if (!logdir.empty()) writer = std::make_unique<logging::SummaryWriter>(logdir);
    const TensorList params = model.parameters();
    double train_seconds = 0.0;
    std::int64_t chunk_start = start_step;
    auto progress = std::make_unique<logging::Progress>(
        std::min(steps, (start_step / eval_interval + 1) * eval_interval) - chunk_start,
        logging::ProgressOptions().title(fmt::format("steps {}-{}", start_step,
                                                     std::min(steps, (start_step / eval_interval + 1) * eval_interval))));
    for (std::int64_t step = start_step; step < steps; ++step) {
      const auto t0 = std::chrono::steady_clock::now();
      auto [x, y] = get_batch(train_ids, batch, cfg.context, gen);
      const Tensor loss = lm_loss(model, x, y);
      opt.zero_grad();
      loss.backward();
      if (clip > 0) nn::utils::clip_grad_norm_(params, clip);
      opt.step();
      sched.step();
      const double l = loss.item<double>();
      train_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      progress->update(step + 1 - chunk_start, {{"loss", l}}, batch);
      if (writer) {
        writer->add_scalar("loss/train_step", l, step + 1);
        writer->add_scalar("lr", sched.get_last_lr()[0], step + 1);
      }
      if ((step + 1) % eval_interval == 0 || step + 1 == steps) {
        const double tl = evaluate(model, train_ids, eval_batches, batch, gen);
        final_val = evaluate(model, val_ids, eval_batches, batch, gen);
        progress->finish({{"train_loss", tl}, {"val_loss", final_val}});
        fmt::print("step {}: train loss {:.4f}, val loss {:.4f} ({:.2f} ms/step)\n", step + 1, tl, final_val,
                   1000.0 * train_seconds / static_cast<double>(step + 1 - start_step));
        std::fflush(stdout);
        if (writer) {
          writer->add_scalar("loss/train", tl, step + 1);
          writer->add_scalar("loss/val", final_val, step + 1);
        }
        if (step + 1 < steps) {
          chunk_start = step + 1;
          progress = std::make_unique<logging::Progress>(std::min(steps, chunk_start + eval_interval) - chunk_start,
                                                         logging::ProgressOptions().title(
                                                             fmt::format("steps {}-{}", chunk_start,
                                                                         std::min(steps, chunk_start + eval_interval))));
        }
      }
    }
    progress.reset();
    fmt::print("trained {} steps in {:.2f} s: {:.2f} ms/step\n", steps - start_step, train_seconds,
               1000.0 * train_seconds / static_cast<double>(steps - start_step));
  } else if (!text_path.empty()) {
    final_val = evaluate(model, val_ids, eval_batches, batch, gen);
    fmt::print("step {}: val loss {:.4f} (nothing left to train up to --steps {})\n", start_step, final_val, steps);
  }
  if (!save_path.empty()) {
    optim::save_checkpoint(save_path, model, opt, sched, metadata_of(cfg, *vocab, std::max(steps, start_step)));
    fmt::print("saved {}\n", save_path);
  }

  if (sample > 0) {
    SampleOptions o{sample, top_k, temperature, !no_cache};
    std::vector<std::int64_t> ids = prompt_ids.empty() ? std::vector<std::int64_t>{0} : prompt_ids;
    const std::size_t first_new = prompt_ids.empty() ? 1 : ids.size();
    Generator sample_gen(static_cast<std::uint64_t>(seed));
    std::vector<Tensor> logits;
    const auto t0 = std::chrono::steady_clock::now();
    generate(model, ids, o, sample_gen, compare_cache ? &logits : nullptr);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const std::vector<std::int64_t> fresh(ids.begin() + static_cast<std::ptrdiff_t>(first_new), ids.end());
    fmt::print("--- sample ({} characters, {}, {:.0f} characters/s) ---\n{}{}\n---\n", sample,
               o.cache ? "key/value cache" : "no cache", static_cast<double>(sample) / seconds,
               prompt, vocab->decode(fresh));
    if (compare_cache) {
      std::vector<std::int64_t> ids2 = prompt_ids.empty() ? std::vector<std::int64_t>{0} : prompt_ids;
      Generator gen2(static_cast<std::uint64_t>(seed));
      std::vector<Tensor> logits2;
      SampleOptions o2 = o;
      o2.cache = !o.cache;
      const auto t1 = std::chrono::steady_clock::now();
      generate(model, ids2, o2, gen2, &logits2);
      const double seconds2 = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
      double diff = 0.0;
      for (std::size_t i = 0; i < logits.size() && i < logits2.size(); ++i)
        diff = std::max(diff, (logits[i] - logits2[i]).abs().max().item<double>());
      const bool same = ids == ids2;
      fmt::print("cache comparison: {:.0f} characters/s {}, {:.0f} characters/s {}; largest logit difference {:.3g}; "
                 "the characters are {}\n",
                 static_cast<double>(sample) / seconds, o.cache ? "cached" : "uncached",
                 static_cast<double>(sample) / seconds2, o2.cache ? "cached" : "uncached", diff,
                 same ? "the same" : "DIFFERENT");
      if (!same || diff > 1e-4) return 1;
    }
  }
  if (expect_val_loss > 0) {
    if (!(final_val < expect_val_loss)) {
      fmt::print(stderr, "char_gpt: validation loss {:.4f} is not below --expect-val-loss {}\n", final_val,
                 expect_val_loss);
      return 1;
    }
    fmt::print("validation loss {:.4f} is below {}\n", final_val, expect_val_loss);
  }
  return 0;
} catch (const examples::UsageError& e) {
  fmt::print(stderr, "char_gpt: {}\n", e.what());
  return 2;
} catch (const std::exception& e) {
  fmt::print(stderr, "char_gpt: {}\n", e.what());
  return 2;
}
