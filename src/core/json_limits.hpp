// Limits on JSON text before it reaches nlohmann::json.
//
// nlohmann::json 3.11 parses and destroys without recursion, but copying, comparing and
// dump() recurse once per nesting level. A body of 100 000 nested arrays parses fine and
// then overflows the stack on the first copy or dump, so every JSON text from outside
// (a RunPod or worker reply, the host's config or request) is checked with
// json_depth_exceeds first.
#pragma once

#include <cstddef>
#include <string_view>

namespace swarmpod {

// Real RunPod and SwarmUI documents nest fewer than 20 levels; 256 leaves ample room
// and keeps the recursion of copy and dump far below any thread's stack size.
constexpr std::size_t kMaxJsonDepth = 256;

// Returns true when `text` opens more than `max_depth` arrays or objects at once.
// Brackets inside JSON strings are skipped. The text need not be valid JSON: this only
// decides whether parsing it is safe.
inline bool json_depth_exceeds(std::string_view text, std::size_t max_depth = kMaxJsonDepth) noexcept {
    std::size_t depth = 0;
    bool in_string = false;
    bool escaped = false;
    for (const char c : text) {
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
            if (++depth > max_depth) return true;
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
    return false;
}

}  // namespace swarmpod
