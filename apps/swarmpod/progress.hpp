// Human-readable progress and library log lines on stderr.
#pragma once

#include <swarmpod/swarmpod.h>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace swarmpod_cli {

// Prints progress events and library log lines to stderr, each prefixed with the
// elapsed time. While the phase is "generating" and stderr is a terminal, one
// progress bar line is redrawn in place. Otherwise plain lines are printed, thinned
// out so a long phase does not flood the log. All methods are thread-safe, because
// the library calls the log callback from its own threads.
class ProgressPrinter {
public:
    ProgressPrinter(bool quiet, bool terminal, int64_t expected_images);

    void on_progress(const swarmpod_progress &event);
    void on_log(int32_t level, const char *message);

    // Prints a line from the CLI itself; shown even with --quiet.
    void note(const std::string &text);

    // Ends an active progress bar line so the next output starts on a new line.
    void finish();

private:
    double elapsed_seconds() const;
    void print_line(double elapsed, const std::string &text);
    void draw_bar(double elapsed, const swarmpod_progress &event);
    void clear_bar();

    const bool quiet_;
    const bool terminal_;
    const int64_t expected_images_;
    const std::chrono::steady_clock::time_point start_;

    std::mutex mutex_;
    bool bar_visible_ = false;
    std::string bar_text_;
    int32_t last_phase_ = -1;
    std::string last_message_shape_;
    double last_line_elapsed_ = 0.0;
    int32_t last_batch_index_ = -1;
    int last_percent_step_ = -1;
};

} // namespace swarmpod_cli
