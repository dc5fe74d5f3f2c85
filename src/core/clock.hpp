// Monotonic deadlines used by every wait and poll loop.
#pragma once

#include <algorithm>
#include <chrono>

namespace swarmpod {

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

class Deadline {
public:
    Deadline() : at_(Clock::time_point::max()) {}
    explicit Deadline(Clock::time_point at) : at_(at) {}
    static Deadline in(Millis duration) { return Deadline(Clock::now() + duration); }
    static Deadline never() { return Deadline(); }

    bool expired() const { return Clock::now() >= at_; }
    Clock::time_point at() const { return at_; }
    // Time left, clamped at zero; a very large value for Deadline::never().
    Millis remaining() const {
        if (at_ == Clock::time_point::max()) return Millis(24LL * 3600 * 1000);
        return std::max(Millis(0), std::chrono::duration_cast<Millis>(at_ - Clock::now()));
    }

private:
    Clock::time_point at_;
};

}  // namespace swarmpod
