// Exit codes, status names and the single error line the CLI prints on failure.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace swarmpod_cli {

// Process exit codes; docs/cli.md and the --help text list the same values.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitAuth = 3;
inline constexpr int kExitNotFound = 4;
inline constexpr int kExitTimeout = 5;
inline constexpr int kExitCancelled = 6;

// A command line the CLI cannot run. The message is the text after "swarmpod: error: ".
class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Maps a SWARMPOD_* status to the exit code (0 for SWARMPOD_OK).
int exit_code_for_status(int32_t status);

// Returns the snake_case name of a status ("ok", "auth", "not_found", ...), the
// value of "status" in --json output.
std::string status_name(int32_t status);

// Registers a secret (an API key) that must never reach the terminal. Every line
// that goes through print_error or redact has it replaced by "***". Strings shorter
// than 6 characters are ignored.
void add_secret(const std::string &secret);

// Returns `text` with every registered secret replaced by "***".
std::string redact(std::string text);

// Prints "swarmpod: error: <message>" to stderr as one line, secrets redacted.
void print_error(const std::string &message);

// Prints a usage error line that points at the command's --help.
void print_usage_error(const std::string &message, const std::string &command);

} // namespace swarmpod_cli
