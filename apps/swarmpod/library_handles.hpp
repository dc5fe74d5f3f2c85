// RAII owners for libswarmpod handles, strings and the log callback.
#pragma once

#include "progress.hpp"

#include <swarmpod/swarmpod.h>

#include <memory>
#include <string>

namespace swarmpod_cli {

struct BackendFree {
    void operator()(swarmpod_backend *backend) const { swarmpod_backend_free(backend); }
};
using BackendHandle = std::unique_ptr<swarmpod_backend, BackendFree>;

struct GenerationFree {
    void operator()(swarmpod_generation *generation) const { swarmpod_generation_free(generation); }
};
using GenerationHandle = std::unique_ptr<swarmpod_generation, GenerationFree>;

struct LibraryStringFree {
    void operator()(char *text) const { swarmpod_string_free(text); }
};
using LibraryString = std::unique_ptr<char, LibraryStringFree>;

// A failed library call: its status and the message that explains it.
struct LibraryFailure {
    int32_t status = SWARMPOD_OK;
    std::string message;
};

// Returns the status with the calling thread's last error message (or the status's
// generic text when there is none). Call it right after the failed call, before
// any other swarmpod call on this thread replaces the message.
LibraryFailure capture_failure(int32_t status);

// Routes library log lines to `printer` at `min_level` while alive. Create it before
// the backend and destroy it after, because freeing a backend logs the release of
// its workers.
class LogCallbackScope {
public:
    LogCallbackScope(ProgressPrinter &printer, int32_t min_level);
    ~LogCallbackScope();
    LogCallbackScope(const LogCallbackScope &) = delete;
    LogCallbackScope &operator=(const LogCallbackScope &) = delete;
};

} // namespace swarmpod_cli
