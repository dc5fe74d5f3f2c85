// Reading SwarmUI request parameters, which may arrive as JSON numbers or as their text form.
#pragma once

#include <cstdint>
#include <optional>

#include <nlohmann/json.hpp>

namespace emulator {

// Returns an integer given as a number or as decimal text, or nullopt for anything else.
std::optional<std::int64_t> read_integer(const nlohmann::json& value);
// Returns body[key] as a bool ("true"/"false" text accepted), or `fallback` when absent or unreadable.
bool read_bool(const nlohmann::json& body, const char* key, bool fallback);

} // namespace emulator
