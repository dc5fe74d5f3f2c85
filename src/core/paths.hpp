// Where swarmpod keeps its small persistent files (model lists, job journal, timings).
#pragma once

#include <string>

namespace swarmpod {

// Returns `configured` when set, else $XDG_CACHE_HOME/swarmpod, else $HOME/.cache/swarmpod.
// Returns "" when none of them can be determined. Does not create the directory.
std::string cache_directory(const std::string& configured);

}  // namespace swarmpod
