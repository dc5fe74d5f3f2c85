#include "integration/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <stdexcept>

extern char** environ;

namespace swarmpod::testing {

namespace {

std::string name_of(const std::string& entry) { return entry.substr(0, entry.find('=')); }

}  // namespace

SpawnedProcess spawn_process(const std::vector<std::string>& args, const std::vector<std::string>& set,
                             const std::vector<std::string>& unset) {
    // Each child gets an empty cache folder unless the test sets one: the library keeps
    // detected protocols, cold starts and model lists there, and they must not leak from
    // one test into another or into the user's own cache.
    std::vector<std::string> set_all = set;
    const bool cache_given = std::any_of(set.begin(), set.end(), [](const std::string& s) {
        return name_of(s) == "XDG_CACHE_HOME";
    });
    if (!cache_given) {
        static std::atomic<int> counter{0};
        const std::filesystem::path cache = std::filesystem::temp_directory_path() /
                                            ("swarmpod-child-cache-" + std::to_string(getpid()) + "-" +
                                             std::to_string(++counter));
        set_all.push_back("XDG_CACHE_HOME=" + cache.string());
    }
    std::vector<std::string> environment;
    for (char** entry = environ; *entry != nullptr; ++entry) {
        const std::string text(*entry);
        const std::string name = name_of(text);
        const bool dropped = std::find(unset.begin(), unset.end(), name) != unset.end() ||
                             std::any_of(set_all.begin(), set_all.end(),
                                         [&](const std::string& s) { return name_of(s) == name; });
        if (!dropped) environment.push_back(text);
    }
    environment.insert(environment.end(), set_all.begin(), set_all.end());

    std::vector<std::string> argv_storage = args;
    std::vector<char*> argv;
    for (auto& arg : argv_storage) argv.push_back(arg.data());
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (auto& entry : environment) envp.push_back(entry.data());
    envp.push_back(nullptr);

    int out_pipe[2];
    int err_pipe[2];
    if (pipe(out_pipe) != 0 || pipe(err_pipe) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
    posix_spawn_file_actions_addclose(&actions, out_pipe[0]);
    posix_spawn_file_actions_addclose(&actions, err_pipe[0]);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    sigset_t defaults;
    sigemptyset(&defaults);
    for (int signal_number : {SIGPIPE, SIGHUP, SIGINT, SIGTERM}) sigaddset(&defaults, signal_number);
    posix_spawnattr_setsigdefault(&attributes, &defaults);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    pid_t pid = 0;
    const int spawned = posix_spawn(&pid, argv[0], &actions, &attributes, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    close(out_pipe[1]);
    close(err_pipe[1]);
    if (spawned != 0) {
        close(out_pipe[0]);
        close(err_pipe[0]);
        throw std::runtime_error("cannot start " + args[0] + ": " + std::strerror(spawned));
    }
    return SpawnedProcess{pid, out_pipe[0], err_pipe[0]};
}


ProcessResult run_process(const std::vector<std::string>& args, const std::vector<std::string>& set,
                          const std::vector<std::string>& unset, int timeout_ms) {
    const SpawnedProcess child = spawn_process(args, set, unset);
    const pid_t pid = child.pid;
    ProcessResult result;
    pollfd fds[2] = {{child.out, POLLIN, 0}, {child.err, POLLIN, 0}};
    std::string* sinks[2] = {&result.out, &result.err};
    int open_count = 2;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (open_count > 0) {
        if (std::chrono::steady_clock::now() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, nullptr, 0);
            close(child.out);
            close(child.err);
            throw std::runtime_error(args[0] + " ran longer than " + std::to_string(timeout_ms) + " ms");
        }
        if (poll(fds, 2, 100) <= 0) continue;
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP)) == 0) continue;
            char buffer[4096];
            const ssize_t got = read(fds[i].fd, buffer, sizeof buffer);
            if (got > 0) {
                sinks[i]->append(buffer, static_cast<std::size_t>(got));
            } else {
                close(fds[i].fd);
                fds[i].fd = -1;
                --open_count;
            }
        }
    }
    int status = 0;
    waitpid(pid, &status, 0);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return result;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < text.size()) {
        const std::size_t end = text.find('\n', start);
        if (end == std::string::npos) {
            lines.push_back(text.substr(start));
            break;
        }
        lines.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return lines;
}

}  // namespace swarmpod::testing
