#include "terminal.hpp"

#ifdef _WIN32
#include <io.h>
#else
#include <unistd.h>
#endif

namespace swarmpod_cli {

bool stderr_is_terminal() {
#ifdef _WIN32
    return _isatty(2) != 0;
#else
    return isatty(STDERR_FILENO) != 0;
#endif
}

void write_stderr_signal_safe(const char *text, std::size_t size) {
#ifdef _WIN32
    (void)_write(2, text, static_cast<unsigned int>(size));
#else
    while (size > 0) {
        const ssize_t written = write(STDERR_FILENO, text, size);
        if (written <= 0) {
            return;
        }
        text += written;
        size -= static_cast<std::size_t>(written);
    }
#endif
}

} // namespace swarmpod_cli
