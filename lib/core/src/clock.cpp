#include "core/clock.hpp"

namespace ib::core {

Clock& system_clock() {
  static SystemClock clock;
  return clock;
}

}  // namespace ib::core
