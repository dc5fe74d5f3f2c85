// One retry policy for every RunPod call: 429 and 5xx with exponential backoff, jitter
// and Retry-After (seconds or HTTP-date), capped per attempt and by the caller's deadline.
#pragma once

#include <optional>
#include <string>

#include "core/clock.hpp"

namespace swarmpod::runpod {

struct RetryPolicy {
    int max_attempts = 5;          // counting the first
    Millis base_delay{500};        // delay before retry n is base * 2^(n-1) * (1 + U[0, 0.5))
    Millis max_delay{30000};       // cap on any single delay, Retry-After included
};

bool is_retryable_status(long status) noexcept;  // 429, 500, 502, 503, 504

// Parses a Retry-After value: delta seconds or an HTTP-date (RFC 9110). Returns the
// delay from now, or nothing when the value is absent or unreadable.
std::optional<Millis> parse_retry_after(const std::string& value);

// Delay before retry `attempt` (1-based), honouring `retry_after` when present.
Millis backoff_delay(const RetryPolicy& policy, int attempt, std::optional<Millis> retry_after);

}  // namespace swarmpod::runpod
