#include "progress.hpp"

#include "errors.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <iostream>

namespace swarmpod_cli {
namespace {

// A phase's status message is printed again after this many seconds even when
// only its numbers changed, e.g. "Waking RunPod worker (12 s)".
constexpr double kRepeatSeconds = 10.0;
constexpr int kBarWidth = 24;

const char *phase_name(int32_t phase) {
    switch (phase) {
    case SWARMPOD_PHASE_QUEUED: return "queued";
    case SWARMPOD_PHASE_STARTING_WORKER: return "starting worker";
    case SWARMPOD_PHASE_LOADING_BACKENDS: return "loading backends";
    case SWARMPOD_PHASE_LOADING_MODEL: return "loading model";
    case SWARMPOD_PHASE_GENERATING: return "generating";
    case SWARMPOD_PHASE_DONE: return "done";
    default: return "working";
    }
}

const char *level_prefix(int32_t level) {
    switch (level) {
    case SWARMPOD_LOG_TRACE: return "trace: ";
    case SWARMPOD_LOG_DEBUG: return "debug: ";
    case SWARMPOD_LOG_WARN: return "warning: ";
    case SWARMPOD_LOG_ERROR: return "error: ";
    default: return "";
    }
}

// Returns "<phase>: <message>", without the phase name when the message already
// starts with it ("Done: 2 images" stays as it is).
std::string phase_line(int32_t phase, const std::string &message) {
    const std::string name = phase_name(phase);
    if (message.empty()) {
        return name;
    }
    if (message.size() >= name.size()) {
        bool same = true;
        for (std::size_t i = 0; i < name.size() && same; ++i) {
            same = std::tolower(static_cast<unsigned char>(message[i])) == name[i];
        }
        if (same) {
            return message;
        }
    }
    return name + ": " + message;
}

// The message with its digits removed, so "(12 s)" and "(14 s)" compare equal.
std::string message_shape(const std::string &message) {
    std::string shape;
    for (const char c : message) {
        if (std::isdigit(static_cast<unsigned char>(c)) == 0) {
            shape += c;
        }
    }
    return shape;
}

std::string format_elapsed(double seconds) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "[%6.1fs] ", seconds);
    return buffer;
}

std::string format_percent(double fraction) {
    const long percent = std::lround(std::fmin(std::fmax(fraction, 0.0), 1.0) * 100.0);
    char buffer[8];
    std::snprintf(buffer, sizeof buffer, "%ld%%", percent);
    return buffer;
}

// The overall fraction when the library reports it, else the current image's.
double event_fraction(const swarmpod_progress &event) {
    return event.overall_percent >= 0.0 ? event.overall_percent : event.current_percent;
}

} // namespace

ProgressPrinter::ProgressPrinter(bool quiet, bool terminal, int64_t expected_images)
    : quiet_(quiet), terminal_(terminal), expected_images_(expected_images),
      start_(std::chrono::steady_clock::now()) {
    if (terminal_ && !quiet_) {
        redraw_thread_ = std::thread([this] { redraw_periodically(); });
    }
}

ProgressPrinter::~ProgressPrinter() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    stop_redraw_.notify_all();
    if (redraw_thread_.joinable()) {
        redraw_thread_.join();
    }
}

void ProgressPrinter::redraw_periodically() {
    constexpr auto kRedrawInterval = std::chrono::milliseconds(200);
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stop_redraw_.wait_for(lock, kRedrawInterval, [this] { return stopping_; })) {
        if (generating_) {
            try {
                draw_bar(elapsed_seconds());
            } catch (...) {
                // A failed stderr write only loses one redraw.
            }
        }
    }
}

double ProgressPrinter::elapsed_seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void ProgressPrinter::on_progress(const swarmpod_progress &event) {
    if (quiet_) {
        return;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    // The CLI's own clock, not event.elapsed_seconds, so progress and log lines share
    // one time base and their timestamps never go backwards.
    const double elapsed = elapsed_seconds();
    const std::string message = event.message != nullptr ? redact(event.message) : "";

    if (event.phase == SWARMPOD_PHASE_GENERATING) {
        if (terminal_) {
            generating_ = true;
            bar_ = BarState{event_fraction(event), event.batch_index, event.estimated_remaining_seconds, elapsed};
            draw_bar(elapsed);
        } else {
            const double fraction = event_fraction(event);
            const int step = fraction >= 0.0 ? static_cast<int>(fraction * 10.0) : -1;
            if (event.phase != last_phase_ || event.batch_index != last_batch_index_ ||
                step != last_percent_step_) {
                std::string text = "generating:";
                if (fraction >= 0.0) {
                    text += " " + format_percent(fraction);
                }
                if (expected_images_ > 1 && event.batch_index >= 0) {
                    text += " image " + std::to_string(event.batch_index + 1) + "/" +
                            std::to_string(expected_images_);
                }
                if (!message.empty()) {
                    text += " " + message;
                }
                print_line(elapsed, text);
            }
            last_percent_step_ = step;
        }
        last_phase_ = event.phase;
        last_batch_index_ = event.batch_index;
        return;
    }

    generating_ = false;
    if (bar_visible_) {
        // Leave the last bar state on screen as a finished line.
        std::cerr << '\n';
        bar_visible_ = false;
    }
    bar_text_.clear();
    const std::string shape = message_shape(message);
    if (event.phase != last_phase_ || shape != last_message_shape_ ||
        elapsed - last_line_elapsed_ >= kRepeatSeconds) {
        print_line(elapsed, phase_line(event.phase, message));
        last_message_shape_ = shape;
    }
    last_phase_ = event.phase;
    last_batch_index_ = event.batch_index;
}

void ProgressPrinter::on_log(int32_t level, const char *message) {
    std::lock_guard<std::mutex> lock(mutex_);
    print_line(elapsed_seconds(), level_prefix(level) + redact(message != nullptr ? message : ""));
}

void ProgressPrinter::note(const std::string &text) {
    std::lock_guard<std::mutex> lock(mutex_);
    print_line(elapsed_seconds(), redact(text));
}

void ProgressPrinter::finish() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
        generating_ = false;
        if (bar_visible_) {
            std::cerr << '\n' << std::flush;
            bar_visible_ = false;
        }
        bar_text_.clear();
    }
    stop_redraw_.notify_all();
}

void ProgressPrinter::print_line(double elapsed, const std::string &text) {
    clear_bar();
    std::cerr << format_elapsed(elapsed) << text << '\n';
    last_line_elapsed_ = elapsed;
    if (!bar_text_.empty()) {
        std::cerr << bar_text_;
        bar_visible_ = true;
    }
    std::cerr << std::flush;
}

void ProgressPrinter::draw_bar(double elapsed) {
    const double fraction = bar_.fraction;
    const int filled = fraction >= 0.0 ? static_cast<int>(std::fmin(fraction, 1.0) * kBarWidth) : 0;
    std::string text = format_elapsed(elapsed) + "generating [" + std::string(static_cast<std::size_t>(filled), '#') +
                       std::string(static_cast<std::size_t>(kBarWidth - filled), '.') + "] ";
    const std::string percent = fraction >= 0.0 ? format_percent(fraction) : "?%";
    text += std::string(percent.size() < 4 ? 4 - percent.size() : 0, ' ') + percent;
    if (expected_images_ > 1 && bar_.batch_index >= 0) {
        text += "  image " + std::to_string(bar_.batch_index + 1) + "/" + std::to_string(expected_images_);
    }
    if (bar_.remaining_seconds >= 0.0) {
        const double remaining = std::fmax(bar_.remaining_seconds - (elapsed - bar_.reported_at), 0.0);
        text += "  ETA " + std::to_string(std::lround(remaining)) + " s";
    }
    if (text == bar_text_ && bar_visible_) {
        return;
    }
    clear_bar();
    bar_text_ = text;
    std::cerr << bar_text_ << std::flush;
    bar_visible_ = true;
}

void ProgressPrinter::clear_bar() {
    if (bar_visible_) {
        // Carriage return, then erase to the end of the line (ANSI "EL").
        std::cerr << "\r\x1b[K";
        bar_visible_ = false;
    }
}

} // namespace swarmpod_cli
