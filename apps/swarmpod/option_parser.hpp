// Table-driven parsing of "--name value", "--name=value" and "--flag" arguments.
#pragma once

#include <cstdint>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace swarmpod_cli {

// One option, or a help section heading when `name` is empty and `help` is the title.
struct OptionSpec {
    std::string name;       // with the dashes, e.g. "--width"
    std::string value_name; // placeholder shown in help ("N", "URL"); empty for a flag
    std::string help;       // may contain '\n' for continuation lines
    // Stores the value (empty for a flag). Throws UsageError for an invalid value.
    std::function<void(const std::string &value)> apply;
};

// Parses `args` (the arguments after the command name) against `specs`.
// Returns false when -h or --help was given, so the caller prints help instead.
// Throws UsageError naming the offending argument and, for a misspelled option,
// the closest known one.
bool parse_options(const std::vector<OptionSpec> &specs, const std::vector<std::string> &args);

// Formats the option table as indented help lines.
std::string format_options_help(const std::vector<OptionSpec> &specs);

// Returns the candidate closest to `input` by edit distance (adjacent transpositions
// count as one edit), or "" when none is close enough to be a likely typo.
std::string closest_match(const std::string &input, const std::vector<std::string> &candidates);

// Parses a whole decimal integer in [min, max]; throws UsageError naming `option`.
int64_t parse_integer(const std::string &value, const std::string &option, int64_t min, int64_t max);

// Returns the offset of the first byte of `text` that is not part of a valid UTF-8
// sequence (overlong forms, surrogates and code points above U+10FFFF are invalid),
// or std::nullopt when all of `text` is valid UTF-8.
std::optional<std::size_t> invalid_utf8_offset(std::string_view text);

// Throws UsageError naming `source` (an option or environment variable) when `value`
// is not valid UTF-8, as every text in the library's JSON must be. The message gives
// the byte offset and never the value, which may be an API key.
void require_utf8(const std::string &value, const std::string &source);

} // namespace swarmpod_cli
