#include "core/host.hpp"

#include <cctype>

namespace swarmpod {

bool is_loopback_host(const std::string& host) {
    if (host == "localhost" || host == "[::1]") return true;
    if (host.rfind("127.", 0) != 0) return false;
    // Require a dotted quad of digits so that "127.example.com" does not pass.
    int dots = 0;
    for (char c : host) {
        if (c == '.') ++dots;
        else if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    }
    return dots == 3;
}

}  // namespace swarmpod
