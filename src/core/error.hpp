// Error model shared by every layer below the C ABI.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace swarmpod {

// Mirrors the SWARMPOD_E_* codes of include/swarmpod/swarmpod.h; values must match.
enum class Status : int32_t {
    ok = 0,
    invalid_argument = -1,
    invalid_config = -2,
    out_of_memory = -3,
    internal = -4,
    network = -5,
    timeout = -6,
    cancelled = -7,
    auth = -8,
    not_found = -9,
    rate_limited = -10,
    server = -11,
    bad_response = -12,
    job_failed = -13,
    worker = -14,
    worker_url_rejected = -15,
    image_invalid = -16,
    no_api_key = -17,
    tls = -18,
    too_large = -19,
    shutting_down = -20,
};

const char* status_name(Status status) noexcept;

// The one exception type thrown inside libswarmpod. The C ABI guard turns it into a
// status code plus the thread's last error message. Messages must be safe to show to
// a user: never put a key or token in one (log::redact is applied again at the ABI).
class Error : public std::runtime_error {
public:
    Error(Status status, const std::string& message) : std::runtime_error(message), status_(status) {}
    Status status() const noexcept { return status_; }

private:
    Status status_;
};

}  // namespace swarmpod
