// Small helpers shared by the emulator: clock, random ids, base64, FNV-1a.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace emulator {

// Milliseconds since the emulator started, from a monotonic clock.
std::int64_t now_ms();

// RunPod-like job id: a random UUID with a region suffix, e.g. "4f0c...-e1".
std::string make_job_id(bool sync);
// RunPod-like worker id: 14 lower-case letters and digits.
std::string make_worker_id();
// Random lower-case hex string of `length` characters (SwarmUI session ids use 40).
std::string make_hex_id(std::size_t length);
// Random URL-safe base64 text of `length` characters, like Python's secrets.token_urlsafe.
std::string make_url_safe_token(std::size_t length);

// Uniform random number in [0, 1).
double random_unit();

std::string base64_encode(std::string_view bytes);

std::uint64_t fnv1a64(std::string_view bytes);
// Lower-case, zero-padded 16-digit hex of `value`.
std::string hex16(std::uint64_t value);

// Constant-time comparison, so a token check does not leak the matching prefix length.
bool equal_constant_time(std::string_view a, std::string_view b);


// True when `text` nests arrays or objects deeper than `max_depth`. nlohmann's parser
// recurses once per level, so a body nested 100,000 deep would overflow the stack; the
// emulator answers such a body as malformed instead of parsing it.
bool json_too_deep(std::string_view text, int max_depth = 256);

} // namespace emulator
