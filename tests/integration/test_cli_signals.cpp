// The swarmpod CLI under the signals a terminal session sends: a hang-up cancels the
// generation like Ctrl-C, and a closed output pipe does not end the process. In both cases
// the emulator's ledger must show no job left running.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "integration/child_process.hpp"
#include "integration/emulator_process.hpp"

namespace {

using nlohmann::json;
using swarmpod::testing::EmulatorProcess;

using Child = swarmpod::testing::SpawnedProcess;

// Starts the CLI with an empty cache folder of its own and the emulator's test key.
Child spawn_child(const std::vector<std::string>& args, const std::string& cache) {
    return swarmpod::testing::spawn_process(args, {"XDG_CACHE_HOME=" + cache, "RUNPOD_API_KEY=test-key"});
}

// Waits for the child to end and returns its exit status, or 128 + the signal that ended
// it. Kills it and returns -1 after `timeout_ms`. Output on open pipes is read and dropped.
int wait_exit(Child& child, int timeout_ms) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < give_up) {
        int status = 0;
        if (waitpid(child.pid, &status, WNOHANG) == child.pid) {
            return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
        }
        for (int fd : {child.out, child.err}) {
            if (fd < 0) continue;
            pollfd ready{fd, POLLIN, 0};
            char buffer[4096];
            if (poll(&ready, 1, 0) > 0 && read(fd, buffer, sizeof buffer) < 0) break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill(child.pid, SIGKILL);
    waitpid(child.pid, nullptr, 0);
    return -1;
}

void close_pipes(Child& child) {
    for (int* fd : {&child.out, &child.err}) {
        if (*fd >= 0) close(*fd);
        *fd = -1;
    }
}

bool nothing_runs(const json& ledger) {
    return ledger.value("running_jobs", -1) == 0 && ledger.value("queued_jobs", -1) == 0;
}

class CliSignals : public ::testing::Test {
protected:
    void SetUp() override {
        directory_ = std::filesystem::temp_directory_path() / ("swarmpod-cli-signals-" + std::to_string(getpid()));
        std::filesystem::create_directories(directory_);
    }
    void TearDown() override { std::filesystem::remove_all(directory_); }

    std::vector<std::string> generate_args(const EmulatorProcess& emulator) const {
        return {SWARMPOD_CLI_PATH, "generate", "--endpoint", "test-endpoint", "--api-base", emulator.api_base(),
                "--allow-insecure-worker-urls", "--prompt", "a red fox", "--width", "64", "--height", "64",
                "--poll-interval-ms", "100", "--out", (directory_ / "fox.png").string()};
    }

    std::filesystem::path directory_;
};

// A closed terminal sends SIGHUP. Its default action ended the CLI with the lease job
// still billing; it now cancels the generation as Ctrl-C does, and exits with 129.
TEST_F(CliSignals, HangUpEndsTheJob) {
    EmulatorProcess emulator({"--protocol", "v2", "--cold-start-ms", "200", "--generation-ms", "5000"});
    Child child = spawn_child(generate_args(emulator), (directory_ / "cache").string());

    // Hang up once the worker generates.
    const json busy = emulator.wait_for_ledger([](const json& l) { return l.value("generations", 0) >= 1; }, 15000);
    ASSERT_GE(busy.value("generations", 0), 1) << busy.dump();
    kill(child.pid, SIGHUP);

    EXPECT_EQ(wait_exit(child, 10000), 128 + SIGHUP);
    close_pipes(child);
    const json ledger = emulator.wait_for_ledger(nothing_runs, 5000);
    EXPECT_TRUE(nothing_runs(ledger)) << ledger.dump();
}

// `swarmpod generate ... | head -1`: the reader is gone before the CLI writes its progress.
// SIGPIPE ended the CLI mid-generation with the job still billing; the generation now
// finishes, the image is saved and the job ends.
TEST_F(CliSignals, ClosedOutputPipeDoesNotLeaveJob) {
    EmulatorProcess emulator({"--protocol", "v2", "--cold-start-ms", "200", "--generation-ms", "300"});
    Child child = spawn_child(generate_args(emulator), (directory_ / "cache").string());
    close_pipes(child);

    EXPECT_EQ(wait_exit(child, 30000), 0);
    EXPECT_TRUE(std::filesystem::exists(directory_ / "fox.png"));
    const json ledger = emulator.wait_for_ledger(nothing_runs, 5000);
    EXPECT_TRUE(nothing_runs(ledger)) << ledger.dump();
}

}  // namespace
