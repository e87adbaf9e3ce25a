// Workers and the consumer share one state under a mutex. A worker claims the
// next batch number (claims go in order), prepares it without the lock, and
// puts it into that batch's slot; the consumer waits for the slot of the batch
// it needs next, so delivery is in order whatever the timing. A worker may
// claim batch b only while b < consumed + workers * prefetch (the bound on
// batches held ahead). An error fills its slot like a batch and stops further
// claims: every batch before it was claimed earlier and still arrives, then
// the consumer rethrows the error. The destructor sets the stop flag, wakes
// the workers and joins them.
#include "ember/data/dataloader.h"

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <numeric>
#include <optional>
#include <thread>

#include "ember/autograd/grad_mode.h"
#include "ember/core/factory.h"
#include "ember/data/transforms.h"

namespace ember::data {

class DataLoader::Epoch {
 public:
  Epoch(std::shared_ptr<const Dataset> dataset, std::vector<std::int64_t> order, std::int64_t batch_size,
        std::int64_t num_batches, int workers, int prefetch, std::int64_t epoch)
      : dataset_(std::move(dataset)),
        order_(std::move(order)),
        batch_size_(batch_size),
        num_batches_(num_batches),
        workers_(prefetch > 0 ? workers : 0),
        ahead_(static_cast<std::int64_t>(std::max(workers, 1)) * std::max(prefetch, 1)),
        epoch_(epoch),
        slots_(static_cast<std::size_t>(workers_ > 0 ? num_batches : 0)) {
    const int n = static_cast<int>(std::min<std::int64_t>(workers_, num_batches_));
    threads_.reserve(static_cast<std::size_t>(std::max(n, 0)));
    for (int w = 0; w < n; ++w) threads_.emplace_back([this] { work(); });
  }

  ~Epoch() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    can_claim_.notify_all();
    for (auto& t : threads_) t.join();
  }

  Epoch(const Epoch&) = delete;
  Epoch& operator=(const Epoch&) = delete;

  /// Makes the next batch current; false at the end of the epoch. Rethrows a loading error.
  bool next() {
    if (consumed_ >= num_batches_) return false;
    if (workers_ == 0) {
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
      auto& slot = slots_[static_cast<std::size_t>(consumed_)];
      ready_.wait(lock, [&] { return slot.has_value(); });
      item = std::move(*slot);
      slot.reset();
      consumed_ = item.error ? num_batches_ : consumed_ + 1;  // an error ends the epoch
    }
    can_claim_.notify_all();
    if (item.error) std::rethrow_exception(item.error);
    current_ = std::move(item.batch);
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
    EpochScope epoch(epoch_);
    const auto first = order_.begin() + b * batch_size_;
    const auto last = order_.begin() + std::min<std::int64_t>(static_cast<std::int64_t>(order_.size()),
                                                               (b + 1) * batch_size_);
    return dataset_->get_batch(std::vector<std::int64_t>(first, last));
  }

  void work() {
    for (;;) {
      std::int64_t b;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        can_claim_.wait(lock, [&] { return stop_ || failed_ || next_ >= num_batches_ || next_ < consumed_ + ahead_; });
        if (stop_ || failed_ || next_ >= num_batches_) return;
        b = next_++;
      }
      Item item;
      try {
        item.batch = load(b);
      } catch (...) {
        item.error = std::current_exception();
      }
      const bool failed = item.error != nullptr;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (failed) failed_ = true;
        slots_[static_cast<std::size_t>(b)] = std::move(item);
      }
      ready_.notify_all();
      if (failed) can_claim_.notify_all();
    }
  }

  const std::shared_ptr<const Dataset> dataset_;
  const std::vector<std::int64_t> order_;
  const std::int64_t batch_size_;
  const std::int64_t num_batches_;
  const int workers_;          // 0: load on the consumer's thread
  const std::int64_t ahead_;   // batches claimed beyond the consumer, at most
  const std::int64_t epoch_;
  Example current_;            // consumer thread only

  std::mutex mutex_;
  std::condition_variable ready_;      // a slot was filled
  std::condition_variable can_claim_;  // the consumer moved on, an error stopped claims, or stop
  std::vector<std::optional<Item>> slots_;  // batch b's result until the consumer takes it
  std::int64_t consumed_ = 0;  // batches handed to the consumer (written by it, under the mutex)
  std::int64_t next_ = 0;      // the next batch a worker claims
  bool failed_ = false;
  bool stop_ = false;
  std::vector<std::thread> threads_;  // last: started once everything above exists
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
  EMBER_CHECK(options_.num_workers() >= 0 && options_.num_workers() <= 256,
              "DataLoader: num_workers must be in [0, 256], got {}", options_.num_workers());
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
                                          options_.num_workers(), options_.prefetch(), epoch_++));
}

}  // namespace ember::data
