#pragma once
/// EMBER_OPTION: a field of an options struct with a chained setter and a
/// getter, so options read as Conv2dOptions(1, 32, 3).stride(1).padding(1).
#include <utility>

/// Declares a field with a chained setter `name(value)` and a getter `name()`.
#define EMBER_OPTION(Self, T, name, init)    \
 public:                                     \
  Self& name(T value) {                      \
    name##_ = std::move(value);              \
    return *this;                            \
  }                                          \
  const T& name() const { return name##_; }  \
                                             \
 private:                                    \
  T name##_ = init;
