// Shared by the fuzz targets that read JSON: parses the input as the library parses
// JSON from the network (depth checked first, no exceptions), or returns nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/json_limits.hpp"

namespace swarmpod::fuzz {

inline std::optional<nlohmann::json> parse_json(const uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    if (json_depth_exceeds(text)) return std::nullopt;
    nlohmann::json parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded()) return std::nullopt;
    return parsed;
}

}  // namespace swarmpod::fuzz
