// Long string values taken out of a JSON text before it is parsed.
//
// nlohmann's lexer keeps two growing copies of every string it reads, so parsing a reply
// that carries data URLs of 64 MiB costs several times their size. cut_large_strings
// replaces each long value without escapes by a short placeholder and records the value's
// position in the original text. The rest then parses cheaply, and the caller reads the
// values in place, without a copy.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace swarmpod::swarm {

// Values at least this long are cut out.
inline constexpr std::size_t kLargeStringValue = 64 * 1024;

// The position of a cut value in the original text: the bytes between its quotes.
struct TextSpan {
    std::size_t offset = 0;
    std::size_t length = 0;
};

struct CutJson {
    std::string rest;             // the text, each cut value replaced by a placeholder string
    std::vector<TextSpan> spans;  // the cut values in text order; placeholder i is spans[i]
};

// Cuts every string value (not key) of `text` that is at least `min_length` bytes long and contains
// no backslash. Returns nothing when there is no such value, and when the text already
// contains the placeholder's prefix (so a worker cannot forge one). The scan trusts the quotes it
// finds; text that is not valid JSON gives a `rest` that does not parse either.
std::optional<CutJson> cut_large_strings(std::string_view text, std::size_t min_length = kLargeStringValue);

// Returns the index into CutJson::spans of a parsed placeholder string, or nothing when it
// is not a placeholder.
std::optional<std::size_t> cut_index(std::string_view parsed_value);

}  // namespace swarmpod::swarm
