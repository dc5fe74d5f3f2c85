#include "util.hpp"

#include <array>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <random>

namespace emulator {
namespace {

const auto start_time = std::chrono::steady_clock::now();

std::mt19937_64& random_engine()
{
    static std::mt19937_64 engine{std::random_device{}()};
    return engine;
}

std::mutex& random_mutex()
{
    static std::mutex mutex;
    return mutex;
}

std::uint64_t random_u64()
{
    std::lock_guard<std::mutex> lock(random_mutex());
    return random_engine()();
}

std::string random_from_alphabet(std::string_view alphabet, std::size_t length)
{
    std::string out;
    out.reserve(length);
    for (std::size_t i = 0; i < length; ++i) {
        out.push_back(alphabet[random_u64() % alphabet.size()]);
    }
    return out;
}

} // namespace

std::int64_t now_ms()
{
    auto elapsed = std::chrono::steady_clock::now() - start_time;
    return std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count();
}

double random_unit()
{
    return static_cast<double>(random_u64() >> 11) / 9007199254740992.0;
}

std::string make_hex_id(std::size_t length)
{
    return random_from_alphabet("0123456789abcdef", length);
}

std::string make_job_id(bool sync)
{
    std::string uuid = make_hex_id(8) + "-" + make_hex_id(4) + "-4" + make_hex_id(3) + "-" +
                       std::string(1, "89ab"[random_u64() % 4]) + make_hex_id(3) + "-" + make_hex_id(12);
    return (sync ? "sync-" : "") + uuid + "-e1";
}

std::string make_worker_id()
{
    return random_from_alphabet("abcdefghijklmnopqrstuvwxyz0123456789", 14);
}

std::string make_url_safe_token(std::size_t length)
{
    return random_from_alphabet("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", length);
}

std::string base64_encode(std::string_view bytes)
{
    static constexpr char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    while (i + 3 <= bytes.size()) {
        auto chunk = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16 |
                     static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8 |
                     static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 2]));
        out.push_back(table[chunk >> 18 & 63]);
        out.push_back(table[chunk >> 12 & 63]);
        out.push_back(table[chunk >> 6 & 63]);
        out.push_back(table[chunk & 63]);
        i += 3;
    }
    std::size_t rest = bytes.size() - i;
    if (rest > 0) {
        std::uint32_t chunk = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
        if (rest == 2) {
            chunk |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
        }
        out.push_back(table[chunk >> 18 & 63]);
        out.push_back(table[chunk >> 12 & 63]);
        out.push_back(rest == 2 ? table[chunk >> 6 & 63] : '=');
        out.push_back('=');
    }
    return out;
}

std::uint64_t fnv1a64(std::string_view bytes)
{
    std::uint64_t hash = 0xcbf29ce484222325ULL;
    for (char c : bytes) {
        hash ^= static_cast<unsigned char>(c);
        hash *= 0x100000001b3ULL;
    }
    return hash;
}

std::string hex16(std::uint64_t value)
{
    std::array<char, 17> text{};
    std::snprintf(text.data(), text.size(), "%016llx", static_cast<unsigned long long>(value));
    return std::string(text.data(), 16);
}

bool equal_constant_time(std::string_view a, std::string_view b)
{
    if (a.size() != b.size()) {
        return false;
    }
    unsigned char diff = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        diff = static_cast<unsigned char>(diff | (a[i] ^ b[i]));
    }
    return diff == 0;
}


bool json_too_deep(std::string_view text, int max_depth)
{
    int depth = 0;
    bool in_string = false;
    bool escaped = false;
    for (char c : text) {
        if (in_string) {
            if (escaped) {
                escaped = false;
            } else if (c == '\\') {
                escaped = true;
            } else if (c == '"') {
                in_string = false;
            }
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max_depth) {
                return true;
            }
        } else if (c == ']' || c == '}') {
            --depth;
        }
    }
    return false;
}

} // namespace emulator
