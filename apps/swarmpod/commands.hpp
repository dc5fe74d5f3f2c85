// Entry points of the CLI commands. Each returns the process exit code and throws
// UsageError for a command line it cannot run.
#pragma once

#include "options.hpp"

namespace swarmpod_cli {

int run_generate(const GenerateOptions &options);
int run_health(const HealthOptions &options);

} // namespace swarmpod_cli
