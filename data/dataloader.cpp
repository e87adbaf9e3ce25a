// The worker thread and the consumer share one bounded queue under a mutex:
// the worker waits while it is full, the consumer while it is empty, and a stop
// flag set by the destructor wakes the worker so it can be joined. An error is
// queued like a batch, so the consumer sees the batches before it, then the error.
#include "ember/data/dataloader.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <numeric>
#include <thread>

#include "ember/autograd/grad_mode.h"
#include "ember/core/factory.h"

namespace ember::data {

class DataLoader::Epoch {
 public:
  Epoch(std::shared_ptr<const Dataset> dataset, std::vector<std::int64_t> order, std::int64_t batch_size,
        std::int64_t num_batches, int prefetch)
      : dataset_(std::move(dataset)),
        order_(std::move(order)),
        batch_size_(batch_size),
        num_batches_(num_batches),
        prefetch_(static_cast<std::size_t>(prefetch)) {
    if (prefetch_ > 0 && num_batches_ > 0) worker_ = std::thread([this] { work(); });
  }

  ~Epoch() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    not_full_.notify_all();
    if (worker_.joinable()) worker_.join();
  }

  Epoch(const Epoch&) = delete;
  Epoch& operator=(const Epoch&) = delete;

  /// Makes the next batch current; false at the end of the epoch. Rethrows a loading error.
  bool next() {
    if (consumed_ >= num_batches_) return false;
    if (prefetch_ == 0) {
      try {
        current_ = load(consumed_++);
      } catch (...) {
        consumed_ = num_batches_;
        throw;
      }
      return true;
    }
    Item item;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      not_empty_.wait(lock, [&] { return !queue_.empty() || worker_done_; });
      if (queue_.empty()) return false;  // unreachable: the worker queues every batch or an error
      item = std::move(queue_.front());
      queue_.pop_front();
    }
    not_full_.notify_one();
    if (item.error) {
      consumed_ = num_batches_;
      std::rethrow_exception(item.error);
    }
    current_ = std::move(item.batch);
    ++consumed_;
    return true;
  }

  const Example& current() const { return current_; }

 private:
  struct Item {
    Example batch;
    std::exception_ptr error;
  };

  // Batch b: the examples at order_[b * B, min(N, (b + 1) * B)).
  Example load(std::int64_t b) const {
    NoGradGuard no_grad;  // loading is never part of a graph
    const auto first = order_.begin() + b * batch_size_;
    const auto last = order_.begin() + std::min<std::int64_t>(static_cast<std::int64_t>(order_.size()),
                                                               (b + 1) * batch_size_);
    return dataset_->get_batch(std::vector<std::int64_t>(first, last));
  }

  void work() {
    for (std::int64_t b = 0; b < num_batches_; ++b) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (stop_) break;
      }
      Item item;
      try {
        item.batch = load(b);
      } catch (...) {
        item.error = std::current_exception();
      }
      const bool failed = item.error != nullptr;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        not_full_.wait(lock, [&] { return stop_ || queue_.size() < prefetch_; });
        if (stop_) break;
        queue_.push_back(std::move(item));
      }
      not_empty_.notify_one();
      if (failed) break;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      worker_done_ = true;
    }
    not_empty_.notify_all();
  }

  const std::shared_ptr<const Dataset> dataset_;
  const std::vector<std::int64_t> order_;
  const std::int64_t batch_size_;
  const std::int64_t num_batches_;
  const std::size_t prefetch_;
  std::int64_t consumed_ = 0;  // batches handed to the consumer (consumer thread only)
  Example current_;            // consumer thread only

  std::mutex mutex_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::deque<Item> queue_;
  bool stop_ = false;
  bool worker_done_ = false;
  std::thread worker_;  // last: started once everything above exists
};

DataLoader::Iterator::Iterator(std::shared_ptr<Epoch> epoch) : epoch_(std::move(epoch)) {
  if (!epoch_->next()) epoch_.reset();
}

const Example& DataLoader::Iterator::operator*() const {
  EMBER_CHECK(epoch_ != nullptr, "DataLoader: dereferencing the end iterator");
  return epoch_->current();
}

DataLoader::Iterator& DataLoader::Iterator::operator++() {
  EMBER_CHECK(epoch_ != nullptr, "DataLoader: incrementing the end iterator");
  try {
    if (!epoch_->next()) epoch_.reset();
  } catch (...) {
    epoch_.reset();  // the epoch is over; joins the worker, which has stopped
    throw;
  }
  return *this;
}

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options)
    : dataset_(std::move(dataset)), options_(options) {
  EMBER_CHECK(dataset_ != nullptr, "DataLoader: got a null dataset");
  EMBER_CHECK(options_.batch_size() >= 1, "DataLoader: batch_size must be at least 1, got {}", options_.batch_size());
  EMBER_CHECK(options_.prefetch() >= 0, "DataLoader: prefetch must be non-negative, got {}", options_.prefetch());
  EMBER_CHECK(!(options_.sampler() && options_.shuffle()), "DataLoader: sampler option is mutually exclusive with shuffle");
}

std::int64_t DataLoader::size() const {
  const std::int64_t n = options_.sampler() ? options_.sampler()->size(dataset_->size()) : dataset_->size();
  const std::int64_t b = options_.batch_size();
  return options_.drop_last() ? n / b : (n + b - 1) / b;
}

DataLoader::Iterator DataLoader::begin() const {
  const std::int64_t n = dataset_->size();
  EMBER_CHECK(n >= 0, "DataLoader: the dataset reports a negative size {}", n);
  std::vector<std::int64_t> order;
  if (options_.sampler()) {
    order = options_.sampler()->indices(n);
    const std::int64_t expected = options_.sampler()->size(n);
    EMBER_CHECK(static_cast<std::int64_t>(order.size()) == expected,
                "DataLoader: the sampler gave {} indices, its size() says {}", order.size(), expected);
    for (std::int64_t i : order)
      EMBER_CHECK(i >= 0 && i < n, "DataLoader: the sampler gave index {} for a dataset of size {}", i, n);
  } else if (options_.shuffle()) {
    order = randperm(n).to_vector<std::int64_t>();  // on this thread: reproducible under manual_seed
  } else {
    order.resize(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), std::int64_t{0});
  }
  return Iterator(std::make_shared<Epoch>(dataset_, std::move(order), options_.batch_size(), size(),
                                          options_.prefetch()));
}

}  // namespace ember::data
