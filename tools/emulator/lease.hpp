// The v2 worker image's job handler: "lease" hands out a URL and token until the worker goes idle.
#pragma once

#include <cstdint>

#include "jobs.hpp"

namespace emulator {

void start_lease_job(const Config& config, Worker& worker, Job& job, std::int64_t now);
void run_lease_timer(const Config& config, Worker& worker, Job& job, std::int64_t now);

} // namespace emulator
