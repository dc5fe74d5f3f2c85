// Human-readable progress and library log lines on stderr.
#pragma once

#include <swarmpod/swarmpod.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace swarmpod_cli {

// Prints progress events and library log lines to stderr, each prefixed with the
// elapsed time. While the phase is "generating" and stderr is a terminal, one
// progress bar line is redrawn in place. Otherwise plain lines are printed, thinned
// out so a long phase does not flood the log. All methods are thread-safe, because
// the library calls the log callback from its own threads.
//
// On a terminal a background thread redraws the bar every 200 ms, so its elapsed time
// and ETA keep moving while the library sends no events (it may report only when
// an image is done).
class ProgressPrinter {
public:
    ProgressPrinter(bool quiet, bool terminal, int64_t expected_images);
    ~ProgressPrinter();
    ProgressPrinter(const ProgressPrinter &) = delete;
    ProgressPrinter &operator=(const ProgressPrinter &) = delete;

    void on_progress(const swarmpod_progress &event);
    void on_log(int32_t level, const char *message);

    // Prints a line from the CLI itself; shown even with --quiet.
    void note(const std::string &text);

    // Ends an active progress bar line so the next output starts on a new line, and
    // stops the redraw thread.
    void finish();

private:
    // The latest generating event's numbers, kept to redraw the bar between events.
    struct BarState {
        double fraction = -1.0;
        int32_t batch_index = -1;
        double remaining_seconds = -1.0;
        double reported_at = 0.0; // elapsed_seconds() when the event arrived
    };

    double elapsed_seconds() const;
    void print_line(double elapsed, const std::string &text);
    void draw_bar(double elapsed);
    void clear_bar();
    void redraw_periodically();

    const bool quiet_;
    const bool terminal_;
    const int64_t expected_images_;
    const std::chrono::steady_clock::time_point start_;

    std::mutex mutex_;
    std::condition_variable stop_redraw_;
    bool stopping_ = false;
    bool bar_visible_ = false;
    bool generating_ = false;
    BarState bar_;
    std::string bar_text_;
    int32_t last_phase_ = -1;
    std::string last_message_shape_;
    double last_line_elapsed_ = 0.0;
    int32_t last_batch_index_ = -1;
    int last_percent_step_ = -1;
    std::thread redraw_thread_; // last, so it starts after every other member
};

} // namespace swarmpod_cli
