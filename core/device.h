#pragma once
/// LibTorch's device names, for programs ported from it: Ember runs on the CPU,
/// so Device(kCPU) is the one device, .to(device) changes nothing, and asking
/// for CUDA is an error that says so.
#include <string>

namespace ember {

enum class DeviceType { CPU, CUDA };
inline constexpr DeviceType kCPU = DeviceType::CPU;
inline constexpr DeviceType kCUDA = DeviceType::CUDA;

class Device {
 public:
  /// Throws for anything but the CPU.
  Device(DeviceType type, int index = -1);  // NOLINT(google-explicit-constructor): LibTorch's spelling
  /// "cpu" (LibTorch also parses "cuda:0", which Ember refuses).
  explicit Device(const std::string& name);
  DeviceType type() const { return type_; }
  bool is_cpu() const { return type_ == DeviceType::CPU; }
  bool is_cuda() const { return false; }
  bool operator==(const Device& other) const { return type_ == other.type_; }

 private:
  DeviceType type_;
};

namespace cuda {
/// No CUDA in Ember: LibTorch programs that ask take their CPU path.
inline bool is_available() { return false; }
inline int device_count() { return 0; }
}  // namespace cuda

}  // namespace ember
