#include "runpod/retry.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cmath>
#include <ctime>
#include <random>
#include <string_view>

namespace swarmpod::runpod {

namespace {

// One day: a Retry-After beyond this is treated as this, and max_delay caps it anyway.
constexpr long long kMaxRetryAfterSeconds = 24LL * 3600;

std::string_view trim(std::string_view text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
    return text;
}

bool all_digits(std::string_view text) {
    return !text.empty() &&
           std::all_of(text.begin(), text.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

int parse_digits(std::string_view text) {
    int value = 0;
    for (char c : text) value = value * 10 + (c - '0');
    return value;
}

// Parses an IMF-fixdate such as "Sun, 06 Nov 1994 08:49:37 GMT" into seconds since the
// epoch. By hand rather than with strptime, whose %a and %b depend on the locale.
// NOTE: the obsolete RFC 850 and asctime forms that RFC 9110 also allows are not read.
std::optional<std::time_t> parse_imf_fixdate(std::string_view text) {
    static constexpr std::array<std::string_view, 7> kDays{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr std::array<std::string_view, 12> kMonths{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    // Layout: "Www, DD Mmm YYYY HH:MM:SS GMT", 29 characters.
    if (text.size() != 29 || text.substr(3, 2) != ", " || text[7] != ' ' || text[11] != ' ' || text[16] != ' ' ||
        text[19] != ':' || text[22] != ':' || text.substr(25) != " GMT") {
        return std::nullopt;
    }
    if (std::find(kDays.begin(), kDays.end(), text.substr(0, 3)) == kDays.end()) return std::nullopt;
    const auto month = std::find(kMonths.begin(), kMonths.end(), text.substr(8, 3));
    if (month == kMonths.end()) return std::nullopt;
    const std::string_view day = text.substr(5, 2), year = text.substr(12, 4), hour = text.substr(17, 2),
                           minute = text.substr(20, 2), second = text.substr(23, 2);
    if (!all_digits(day) || !all_digits(year) || !all_digits(hour) || !all_digits(minute) || !all_digits(second)) {
        return std::nullopt;
    }

    std::tm parts{};
    parts.tm_mday = parse_digits(day);
    parts.tm_mon = static_cast<int>(month - kMonths.begin());
    parts.tm_year = parse_digits(year) - 1900;
    parts.tm_hour = parse_digits(hour);
    parts.tm_min = parse_digits(minute);
    parts.tm_sec = parse_digits(second);
    // 60 allows a leap second.
    if (parts.tm_mday < 1 || parts.tm_mday > 31 || parts.tm_hour > 23 || parts.tm_min > 59 || parts.tm_sec > 60) {
        return std::nullopt;
    }
    const std::time_t seconds = timegm(&parts);
    if (seconds == static_cast<std::time_t>(-1)) return std::nullopt;
    return seconds;
}

// Returns a uniform value in [0, 1). thread_local, so no lock is needed.
double unit_random() {
    thread_local std::mt19937_64 engine{std::random_device{}()};
    return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
}

}  // namespace

bool is_retryable_status(long status) noexcept {
    return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

std::optional<Millis> parse_retry_after(const std::string& value) {
    const std::string_view text = trim(value);
    if (text.empty()) return std::nullopt;

    if (all_digits(text)) {
        if (text.size() > 12) return std::chrono::seconds(kMaxRetryAfterSeconds);
        const long long seconds = std::stoll(std::string(text));
        return std::chrono::seconds(std::min(seconds, kMaxRetryAfterSeconds));
    }

    const auto at = parse_imf_fixdate(text);
    if (!at) return std::nullopt;
    // Clamp in whole seconds first: system_clock counts nanoseconds in 64 bits, so a
    // date past the year 2262 would overflow in from_time_t.
    const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    if (*at <= now) return Millis(0);
    if (*at - now >= static_cast<std::time_t>(kMaxRetryAfterSeconds)) return std::chrono::seconds(kMaxRetryAfterSeconds);
    const auto target = std::chrono::system_clock::from_time_t(*at);
    const auto delay = std::chrono::duration_cast<Millis>(target - std::chrono::system_clock::now());
    return std::clamp(delay, Millis(0), Millis(std::chrono::seconds(kMaxRetryAfterSeconds)));
}

Millis backoff_delay(const RetryPolicy& policy, int attempt, std::optional<Millis> retry_after) {
    const Millis cap = std::max(Millis(0), policy.max_delay);
    if (retry_after) return std::clamp(*retry_after, Millis(0), cap);

    // base * 2^(attempt-1) in double, so a large attempt saturates instead of overflowing.
    const int exponent = std::clamp(attempt, 1, 62) - 1;
    const double base_ms = static_cast<double>(std::max(Millis(0), policy.base_delay).count());
    const double cap_ms = static_cast<double>(cap.count());
    const double grown_ms = std::min(cap_ms, base_ms * std::ldexp(1.0, exponent));
    const double jittered_ms = grown_ms * (1.0 + 0.5 * unit_random());
    // max_delay caps every delay, so near the cap the jitter can only be cut off.
    return Millis(static_cast<Millis::rep>(std::min(cap_ms, jittered_ms)));
}

}  // namespace swarmpod::runpod
