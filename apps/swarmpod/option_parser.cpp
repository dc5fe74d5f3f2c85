#include "option_parser.hpp"

#include "errors.hpp"

#include <algorithm>
#include <charconv>
#include <sstream>

namespace swarmpod_cli {
namespace {

// Optimal string alignment distance: Levenshtein plus adjacent transpositions,
// so "--widht" is one edit away from "--width".
std::size_t edit_distance(const std::string &a, const std::string &b) {
    const std::size_t rows = a.size() + 1;
    const std::size_t cols = b.size() + 1;
    std::vector<std::size_t> d(rows * cols, 0);
    auto at = [cols, &d](std::size_t i, std::size_t j) -> std::size_t & { return d[i * cols + j]; };
    for (std::size_t i = 0; i < rows; ++i) {
        at(i, 0) = i;
    }
    for (std::size_t j = 0; j < cols; ++j) {
        at(0, j) = j;
    }
    for (std::size_t i = 1; i < rows; ++i) {
        for (std::size_t j = 1; j < cols; ++j) {
            const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            at(i, j) = std::min({at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
                at(i, j) = std::min(at(i, j), at(i - 2, j - 2) + 1);
            }
        }
    }
    return at(rows - 1, cols - 1);
}

const OptionSpec *find_spec(const std::vector<OptionSpec> &specs, const std::string &name) {
    for (const OptionSpec &spec : specs) {
        if (!spec.name.empty() && spec.name == name) {
            return &spec;
        }
    }
    return nullptr;
}

std::string unknown_option_message(const std::vector<OptionSpec> &specs, const std::string &name) {
    std::vector<std::string> names;
    names.reserve(specs.size() + 1);
    for (const OptionSpec &spec : specs) {
        if (!spec.name.empty()) {
            names.push_back(spec.name);
        }
    }
    names.push_back("--help");
    std::string message = "unknown option '" + name + "'";
    const std::string suggestion = closest_match(name, names);
    if (!suggestion.empty()) {
        message += " (did you mean '" + suggestion + "'?)";
    }
    return message;
}

} // namespace

std::string closest_match(const std::string &input, const std::vector<std::string> &candidates) {
    // A unique abbreviation such as "--neg" for "--negative" wins over edit distance.
    std::string prefix_match;
    int prefix_matches = 0;
    for (const std::string &candidate : candidates) {
        if (input.size() >= 4 && candidate.compare(0, input.size(), input) == 0) {
            prefix_match = candidate;
            ++prefix_matches;
        }
    }
    if (prefix_matches == 1) {
        return prefix_match;
    }

    std::string best;
    std::size_t best_distance = 0;
    for (const std::string &candidate : candidates) {
        const std::size_t distance = edit_distance(input, candidate);
        if (best.empty() || distance < best_distance) {
            best = candidate;
            best_distance = distance;
        }
    }
    // Allow about one typo per four characters, and at least two.
    const std::size_t allowed = std::max<std::size_t>(2, input.size() / 4);
    return !best.empty() && best_distance <= allowed ? best : "";
}

bool parse_options(const std::vector<OptionSpec> &specs, const std::vector<std::string> &args) {
    for (const std::string &arg : args) {
        if (arg == "-h" || arg == "--help") {
            return false;
        }
    }

    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string &arg = args[i];
        if (arg.size() < 3 || arg.compare(0, 2, "--") != 0) {
            throw UsageError("unexpected argument '" + arg +
                             "' (quote values that contain spaces, e.g. --prompt \"a red fox\")");
        }

        // Only the part before '=' is ever echoed, so an inline value never
        // reaches an error message.
        const std::size_t equals = arg.find('=');
        const std::string name = arg.substr(0, equals);
        const OptionSpec *spec = find_spec(specs, name);
        if (spec == nullptr) {
            throw UsageError(unknown_option_message(specs, name));
        }

        if (spec->value_name.empty()) {
            if (equals != std::string::npos) {
                throw UsageError("option '" + name + "' takes no value; remove '=...'");
            }
            spec->apply("");
            continue;
        }

        if (equals != std::string::npos) {
            spec->apply(arg.substr(equals + 1));
        } else if (i + 1 < args.size()) {
            spec->apply(args[++i]);
        } else {
            throw UsageError("missing value for '" + name + "'; write " + name + " " + spec->value_name);
        }
    }
    return true;
}

std::string format_options_help(const std::vector<OptionSpec> &specs) {
    constexpr std::size_t kHelpColumn = 32;
    std::ostringstream out;
    for (const OptionSpec &spec : specs) {
        if (spec.name.empty()) {
            out << '\n' << spec.help << ":\n";
            continue;
        }
        std::string left = "  " + spec.name;
        if (!spec.value_name.empty()) {
            left += " " + spec.value_name;
        }
        out << left;
        if (left.size() + 2 > kHelpColumn) {
            out << '\n' << std::string(kHelpColumn, ' ');
        } else {
            out << std::string(kHelpColumn - left.size(), ' ');
        }
        for (const char c : spec.help) {
            out << c;
            if (c == '\n') {
                out << std::string(kHelpColumn, ' ');
            }
        }
        out << '\n';
    }
    return out.str();
}

int64_t parse_integer(const std::string &value, const std::string &option, int64_t min, int64_t max) {
    int64_t result = 0;
    const char *first = value.data();
    const char *last = value.data() + value.size();
    const auto [end, error] = std::from_chars(first, last, result);
    if (value.empty() || error != std::errc() || end != last || result < min || result > max) {
        throw UsageError("invalid value '" + value + "' for " + option + "; expected an integer from " +
                         std::to_string(min) + " to " + std::to_string(max));
    }
    return result;
}

std::optional<std::size_t> invalid_utf8_offset(std::string_view text) {
    std::size_t i = 0;
    while (i < text.size()) {
        const auto lead = static_cast<unsigned char>(text[i]);
        std::size_t length = 0;
        unsigned char second_min = 0x80;
        unsigned char second_max = 0xBF;
        if (lead < 0x80) {
            length = 1;
        } else if (lead >= 0xC2 && lead <= 0xDF) {
            length = 2;
        } else if (lead >= 0xE0 && lead <= 0xEF) {
            length = 3;
            // E0 needs A0.. to rule out overlong forms; ED stops at 9F to rule out surrogates.
            second_min = lead == 0xE0 ? 0xA0 : 0x80;
            second_max = lead == 0xED ? 0x9F : 0xBF;
        } else if (lead >= 0xF0 && lead <= 0xF4) {
            length = 4;
            // F0 needs 90.. to rule out overlong forms; F4 stops at 8F, which is U+10FFFF.
            second_min = lead == 0xF0 ? 0x90 : 0x80;
            second_max = lead == 0xF4 ? 0x8F : 0xBF;
        } else {
            return i;
        }
        if (length > text.size() - i) {
            return i;
        }
        for (std::size_t k = 1; k < length; ++k) {
            const auto byte = static_cast<unsigned char>(text[i + k]);
            const unsigned char min = k == 1 ? second_min : 0x80;
            const unsigned char max = k == 1 ? second_max : 0xBF;
            if (byte < min || byte > max) {
                return i;
            }
        }
        i += length;
    }
    return std::nullopt;
}

void require_utf8(const std::string &value, const std::string &source) {
    const std::optional<std::size_t> offset = invalid_utf8_offset(value);
    if (offset) {
        throw UsageError("invalid " + source + ": the value is not valid UTF-8 (invalid byte at offset " +
                         std::to_string(*offset) + "); pass it as UTF-8 text, for example from a terminal "
                         "with a UTF-8 locale such as LANG=C.UTF-8");
    }
}

} // namespace swarmpod_cli
