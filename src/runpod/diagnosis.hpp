// Turns an endpoint's /health counters into the case a waiting user needs to know.
#pragma once

#include <string>

#include "runpod/job.hpp"

namespace swarmpod::runpod {

struct Diagnosis {
    std::string code;     // ready, busy, no_workers, initializing, throttled, unhealthy
    std::string message;  // what it means and what to do
};

Diagnosis diagnose(const Health& health);

}  // namespace swarmpod::runpod
