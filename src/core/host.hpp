// Host-name checks shared by the API base URL and worker URL rules.
#pragma once

#include <string>

namespace swarmpod {

// True for "localhost", "[::1]" and dotted-quad 127.x.y.z addresses. Lower-case input expected.
bool is_loopback_host(const std::string& host);

}  // namespace swarmpod
