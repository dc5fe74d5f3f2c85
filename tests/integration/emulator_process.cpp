#include "integration/emulator_process.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include <httplib.h>

extern char** environ;

namespace swarmpod::testing {

EmulatorProcess::EmulatorProcess(std::vector<std::string> extra_args) {
    std::vector<std::string> args = {SWARMPOD_EMULATOR_PATH, "--listen", "127.0.0.1:0", "--quiet"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);

    int out_pipe[2];
    if (pipe(out_pipe) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, out_pipe[0]);
    pid_t pid = 0;
    const int spawned = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(out_pipe[1]);
    if (spawned != 0) {
        close(out_pipe[0]);
        throw std::runtime_error(std::string("cannot start ") + SWARMPOD_EMULATOR_PATH + ": " + std::strerror(spawned));
    }
    pid_ = pid;

    // Read the first stdout line: "swarmpod-emulator listening on http://127.0.0.1:<port>".
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
        pollfd fd{out_pipe[0], POLLIN, 0};
        if (poll(&fd, 1, 100) <= 0) continue;
        char buffer[256];
        const ssize_t got = read(out_pipe[0], buffer, sizeof buffer);
        if (got <= 0) break;
        line.append(buffer, static_cast<std::size_t>(got));
    }
    close(out_pipe[0]);
    const auto colon = line.rfind(':');
    if (line.find("listening on") == std::string::npos || colon == std::string::npos) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
        throw std::runtime_error("swarmpod-emulator did not report its port; first output: '" + line + "'");
    }
    port_ = std::stoi(line.substr(colon + 1));
}

EmulatorProcess::~EmulatorProcess() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 50; ++i) {
        if (waitpid(pid_, nullptr, WNOHANG) == pid_) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
}

nlohmann::json EmulatorProcess::ledger() const {
    httplib::Client client("127.0.0.1", port_);
    client.set_read_timeout(5, 0);
    auto reply = client.Get("/admin/ledger");
    if (!reply || reply->status != 200) throw std::runtime_error("GET /admin/ledger failed");
    return nlohmann::json::parse(reply->body);
}

namespace {

// The cache folders this process made, removed when it exits.
struct CacheFolders {
    std::mutex mutex;
    std::vector<std::string> paths;
    ~CacheFolders() {
        std::error_code ignored;
        for (const std::string& path : paths) std::filesystem::remove_all(path, ignored);
    }
};

}  // namespace

std::string emulator_config(const EmulatorProcess& emulator, const std::string& extra_fields) {
    // Each backend gets its own cache folder: cold-start history, saved protocols, model
    // lists and the job journal persist there, and must not leak from one test (or
    // benchmark) into another. Process ids are reused, so a folder left by an earlier
    // process with this id is emptied first.
    static CacheFolders folders;
    static std::atomic<int> counter{0};
    const std::string cache = (std::filesystem::temp_directory_path() /
                               ("swarmpod-test-" + std::to_string(getpid()) + "-" + std::to_string(++counter)))
                                  .string();
    {
        std::error_code ignored;
        std::filesystem::remove_all(cache, ignored);
        std::lock_guard<std::mutex> lock(folders.mutex);
        folders.paths.push_back(cache);
    }
    std::string config = "{\"EndpointId\": \"test-endpoint\", \"ApiBaseUrl\": \"" + emulator.api_base() +
                         "\", \"AllowInsecureWorkerUrls\": true, \"StartupTimeoutSec\": 30, "
                         "\"GenerationTimeoutSec\": 60, \"PollIntervalMs\": 500, \"ModelCachePath\": \"" + cache +
                         "\"";
    if (!extra_fields.empty()) config += ", " + extra_fields;
    return config + "}";
}

int closed_loopback_port() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    socklen_t length = sizeof address;
    getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    const int port = ntohs(address.sin_port);
    close(fd);
    return port;
}

}  // namespace swarmpod::testing
