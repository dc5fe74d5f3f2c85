// UTF-8 repair for text that crosses the C ABI: error messages and JSON quote what a worker
// or RunPod sent, which may be any bytes.
#pragma once

#include <string>
#include <string_view>

namespace swarmpod {

// Returns `text` with every byte that does not belong to a valid UTF-8 sequence (stray
// continuation bytes, truncated or overlong sequences, surrogates, code points above
// U+10FFFF) replaced by U+FFFD. Valid text comes back unchanged.
std::string to_valid_utf8(std::string_view text);

}  // namespace swarmpod
