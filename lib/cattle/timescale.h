// Kubernetes' durations, shrunk by one --time-scale for tests and demos. At scale 1 every
// duration is Kubernetes' default.
#pragma once

#include <chrono>

#include "cattle/clock.h"

namespace cattle {

class TimeScale {
 public:
  explicit TimeScale(double factor = 1.0) : factor_(factor > 0 ? factor : 1.0) {}
  double factor() const { return factor_; }
  // `d` divided by the factor.
  Duration operator()(Duration d) const {
    return std::chrono::duration_cast<Duration>(std::chrono::duration<double, std::nano>(d.count() / factor_));
  }
  Duration Seconds(double s) const { return (*this)(std::chrono::duration_cast<Duration>(std::chrono::duration<double>(s))); }

 private:
  double factor_;
};

}  // namespace cattle
