// Typed reads of the members of a JSON object that came from outside the process.
// nlohmann::json's value(key, default) throws type_error when the member exists with
// another type, so a worker that sends {"worker_id": 7} would escape every Error
// handler. These helpers treat a member of the wrong type as missing.
#pragma once

#include <limits>
#include <string>

#include <nlohmann/json.hpp>

namespace swarmpod {

// Returns the string member `key`, or `fallback` when `object` is not an object or the
// member is missing or not a string.
inline std::string string_member(const nlohmann::json& object, const char* key, const std::string& fallback = "") {
    if (!object.is_object()) return fallback;
    const auto it = object.find(key);
    if (it == object.end() || !it->is_string()) return fallback;
    return it->get<std::string>();
}

// Returns true only when the member `key` is the JSON boolean true.
inline bool true_member(const nlohmann::json& object, const char* key) {
    if (!object.is_object()) return false;
    const auto it = object.find(key);
    return it != object.end() && it->is_boolean() && it->get<bool>();
}

// Returns the number member `key` converted to int, truncating a fraction, or
// `fallback` when it is missing, not a number, or outside the range of int.
inline int int_member(const nlohmann::json& object, const char* key, int fallback) {
    if (!object.is_object()) return fallback;
    const auto it = object.find(key);
    if (it == object.end() || !it->is_number()) return fallback;
    // Compared as double, so a float such as 1e300 is rejected before the conversion.
    const double value = it->get<double>();
    if (!(value >= static_cast<double>(std::numeric_limits<int>::min()) &&
          value <= static_cast<double>(std::numeric_limits<int>::max()))) {
        return fallback;
    }
    return static_cast<int>(value);
}

}  // namespace swarmpod
