#include "core/paths.hpp"

#include <cstdlib>

namespace swarmpod {

std::string cache_directory(const std::string& configured) {
    if (!configured.empty()) return configured;
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && xdg[0] == '/') {
        return std::string(xdg) + "/swarmpod";
    }
    if (const char* home = std::getenv("HOME"); home != nullptr && home[0] != '\0') {
        return std::string(home) + "/.cache/swarmpod";
    }
    return "";
}

}  // namespace swarmpod
