#include "swarm_params.hpp"

#include <algorithm>
#include <cctype>
#include <string>

namespace emulator {

std::optional<std::int64_t> read_integer(const nlohmann::json& value)
{
    if (value.is_number_integer()) {
        return value.get<std::int64_t>();
    }
    if (value.is_number_float()) {
        return static_cast<std::int64_t>(value.get<double>());
    }
    if (value.is_string()) {
        const auto& text = value.get_ref<const std::string&>();
        try {
            std::size_t used = 0;
            auto parsed = std::stoll(text, &used);
            if (used == text.size()) {
                return parsed;
            }
        } catch (const std::exception&) {
            return std::nullopt;
        }
    }
    return std::nullopt;
}

bool read_bool(const nlohmann::json& body, const char* key, bool fallback)
{
    if (!body.contains(key)) {
        return fallback;
    }
    const auto& value = body[key];
    if (value.is_boolean()) {
        return value.get<bool>();
    }
    if (value.is_string()) {
        std::string text = value.get<std::string>();
        std::transform(text.begin(), text.end(), text.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        return text == "true";
    }
    return fallback;
}

} // namespace emulator
