#include "library_handles.hpp"

namespace swarmpod_cli {
namespace {

void SWARMPOD_CALL forward_log(void *user_data, int32_t level, const char *message) {
    // An exception must not unwind into the library's C frames.
    try {
        static_cast<ProgressPrinter *>(user_data)->on_log(level, message);
    } catch (...) {
    }
}

} // namespace

LibraryFailure capture_failure(int32_t status) {
    LibraryFailure failure;
    failure.status = status;
    const char *message = swarmpod_last_error_message();
    failure.message = message != nullptr && *message != '\0' ? message : swarmpod_strerror(status);
    return failure;
}

LogCallbackScope::LogCallbackScope(ProgressPrinter &printer, int32_t min_level) {
    if (min_level < SWARMPOD_LOG_OFF) {
        swarmpod_set_log_callback(forward_log, &printer, min_level);
    }
}

LogCallbackScope::~LogCallbackScope() {
    swarmpod_set_log_callback(nullptr, nullptr, SWARMPOD_LOG_OFF);
}

} // namespace swarmpod_cli
