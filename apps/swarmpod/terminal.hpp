// The few operating-system calls the CLI needs beyond the C++ standard library.
#pragma once

#include <cstddef>

namespace swarmpod_cli {

// Returns true when stderr is an interactive terminal, so a progress bar can be
// redrawn in place.
bool stderr_is_terminal();

// Writes raw bytes to stderr with no buffering and no locks; safe in a signal handler.
void write_stderr_signal_safe(const char *text, std::size_t size);

} // namespace swarmpod_cli
