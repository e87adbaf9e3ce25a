#include "ember/core/device.h"

#include "ember/core/error.h"

namespace ember {

Device::Device(DeviceType type, int index) : type_(type) {
  EMBER_CHECK(type == DeviceType::CPU, "Device: Ember runs on the CPU only, not on CUDA (device index {})", index);
}

Device::Device(const std::string& name) : Device(DeviceType::CPU) {
  EMBER_CHECK(name == "cpu" || name.rfind("cpu:", 0) == 0, "Device: Ember runs on the CPU only, not on \"{}\"", name);
}

}  // namespace ember
