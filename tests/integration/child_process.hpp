// Runs a program (the swarmpod CLI) as a child process and collects its output.
#pragma once

#include <string>
#include <vector>

namespace swarmpod::testing {

struct ProcessResult {
    int exit_code = -1;  // the exit status, or 128 + signal number when a signal ended it
    std::string out;     // everything written to stdout
    std::string err;     // everything written to stderr
};

// A started child process and the read ends of its stdout and stderr pipes.
struct SpawnedProcess {
    int pid = -1;
    int out = -1;
    int err = -1;
};

// Starts `args` (args[0] is the program path) with stdin from /dev/null and stdout and
// stderr on pipes, with the environment as run_process sets it. SIGPIPE, SIGHUP, SIGINT
// and SIGTERM start at their default actions and no signal is blocked, whatever this
// process does with them. Throws std::runtime_error when the program cannot start.
SpawnedProcess spawn_process(const std::vector<std::string>& args, const std::vector<std::string>& set = {},
                             const std::vector<std::string>& unset = {});

// Runs `args` (args[0] is the program path) with the current environment, minus the
// variables named in `unset`, plus the NAME=VALUE entries of `set`. Kills the child
// and fails the test by throwing when it runs longer than `timeout_ms`.
ProcessResult run_process(const std::vector<std::string>& args, const std::vector<std::string>& set = {},
                          const std::vector<std::string>& unset = {}, int timeout_ms = 60000);

// Splits text into lines without their '\n'; a final line without '\n' counts too.
std::vector<std::string> lines_of(const std::string& text);

}  // namespace swarmpod::testing
