// swarm::cut_large_strings on any text, with a short cut length so that the fuzzer reaches
// cut values. Whenever the text parses as JSON, its cut form must parse too, and putting
// each cut value back in place of its placeholder must give the same JSON.
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz_json.hpp"
#include "swarm/large_strings.hpp"

namespace {

using nlohmann::json;

// Replaces every placeholder string in `value` by the text of its span; returns false
// for a placeholder that names no span or is a key.
bool put_back(json& value, std::string_view text, const swarmpod::swarm::CutJson& cut) {
    if (value.is_string()) {
        const auto index = swarmpod::swarm::cut_index(value.get_ref<const std::string&>());
        if (!index) return true;
        if (*index >= cut.spans.size()) return false;
        value = std::string(text.substr(cut.spans[*index].offset, cut.spans[*index].length));
        return true;
    }
    if (value.is_object()) {
        for (auto& [key, member] : value.items()) {
            // Keys are never cut.
            if (swarmpod::swarm::cut_index(key) || !put_back(member, text, cut)) return false;
        }
        return true;
    }
    if (value.is_array()) {
        for (json& item : value) {
            if (!put_back(item, text, cut)) return false;
        }
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto cut = swarmpod::swarm::cut_large_strings(text, 4);
    if (!cut) return 0;
    for (const auto& span : cut->spans) {
        if (span.offset + span.length > text.size() || span.length < 4) std::abort();
    }
    const auto original = swarmpod::fuzz::parse_json(data, size);
    if (!original) return 0;
    json rest = json::parse(cut->rest, nullptr, /*allow_exceptions=*/false);
    if (rest.is_discarded()) std::abort();
    if (!put_back(rest, text, *cut) || rest != *original) std::abort();
    return 0;
}
