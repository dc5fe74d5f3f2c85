#include "swarm/large_strings.hpp"

#include <cstring>

namespace swarmpod::swarm {
namespace {

// The placeholder as JSON text, followed by the decimal index and a closing quote. The NUL
// escape keeps it apart from any text a worker sends on purpose: cut_large_strings rejects such text.
constexpr std::string_view kPlaceholderJson = "\\u0000swarmpod-cut-";
// The same placeholder once parsed.
constexpr std::string_view kPlaceholderParsed{"\0swarmpod-cut-", 14};

bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// The position of the next `c` in text[from, end), or npos.
std::size_t find_byte(std::string_view text, char c, std::size_t from) {
    if (from >= text.size()) return std::string_view::npos;
    const void* hit = std::memchr(text.data() + from, c, text.size() - from);
    return hit == nullptr ? std::string_view::npos : static_cast<std::size_t>(static_cast<const char*>(hit) - text.data());
}

// True when the quote at `quote` is escaped: an odd run of backslashes before it.
bool is_escaped(std::string_view text, std::size_t quote, std::size_t string_start) {
    std::size_t backslashes = 0;
    while (quote > string_start + backslashes && text[quote - 1 - backslashes] == '\\') ++backslashes;
    return backslashes % 2 == 1;
}

// True for a string that is a value, not a key: it begins after '[', ',' or ':' and ends
// before ',', ']' or '}'. Keys stay, so duplicate keys resolve as the parser resolves them.
bool is_value(std::string_view text, std::size_t open, std::size_t close) {
    std::size_t before = open;
    while (before > 0 && is_json_space(text[before - 1])) --before;
    if (before == 0) return false;
    const char prev = text[before - 1];
    if (prev != '[' && prev != ',' && prev != ':') return false;
    std::size_t after = close + 1;
    while (after < text.size() && is_json_space(text[after])) ++after;
    if (after >= text.size()) return false;
    const char next = text[after];
    return next == ',' || next == ']' || next == '}';
}

}  // namespace

std::optional<CutJson> cut_large_strings(std::string_view text, std::size_t min_length) {
    if (text.size() < min_length || text.find(kPlaceholderJson) != std::string_view::npos) return std::nullopt;
    CutJson cut;
    std::size_t copied = 0;  // text[0, copied) is already in cut.rest
    std::size_t at = 0;
    while (true) {
        const std::size_t open = find_byte(text, '"', at);
        if (open == std::string_view::npos) break;
        std::size_t close = find_byte(text, '"', open + 1);
        while (close != std::string_view::npos && is_escaped(text, close, open + 1)) close = find_byte(text, '"', close + 1);
        if (close == std::string_view::npos) break;
        const std::size_t length = close - open - 1;
        if (length >= min_length && find_byte(text.substr(0, close), '\\', open + 1) == std::string_view::npos &&
            is_value(text, open, close)) {
            if (cut.spans.empty()) cut.rest.reserve(1024);
            cut.rest.append(text, copied, open + 1 - copied);
            cut.rest.append(kPlaceholderJson).append(std::to_string(cut.spans.size()));
            cut.spans.push_back(TextSpan{open + 1, length});
            copied = close;
        }
        at = close + 1;
    }
    if (cut.spans.empty()) return std::nullopt;
    cut.rest.append(text, copied, std::string_view::npos);
    return cut;
}

std::optional<std::size_t> cut_index(std::string_view parsed_value) {
    if (parsed_value.size() <= kPlaceholderParsed.size() || parsed_value.substr(0, kPlaceholderParsed.size()) != kPlaceholderParsed) {
        return std::nullopt;
    }
    const std::string_view digits = parsed_value.substr(kPlaceholderParsed.size());
    if (digits.size() > 9) return std::nullopt;
    std::size_t index = 0;
    for (const char c : digits) {
        if (c < '0' || c > '9') return std::nullopt;
        index = index * 10 + static_cast<std::size_t>(c - '0');
    }
    return index;
}

}  // namespace swarmpod::swarm
