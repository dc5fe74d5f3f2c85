#include "models.hpp"

#include <algorithm>
#include <fstream>
#include <set>
#include <stdexcept>

namespace emulator {
namespace {

const std::set<std::string> known_subtypes = {"Stable-Diffusion", "VAE", "LoRA", "Embedding", "ControlNet",
                                              "Clip", "ClipVision", "Wildcards"};

std::string lower(std::string text)
{
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

std::string strip_extension(const std::string& name)
{
    auto dot = name.rfind('.');
    auto slash = name.rfind('/');
    if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) {
        return name;
    }
    return name.substr(0, dot);
}

// Fills every field SwarmUI's T2IModel.ToNetObject emits, so a client parser sees the full shape.
nlohmann::json with_defaults(nlohmann::json model)
{
    const std::string name = model.at("name").get<std::string>();
    auto slash = name.rfind('/');
    int width = model.value("standard_width", 512);
    int height = model.value("standard_height", 512);
    nlohmann::json defaults = {
        {"subtype", "Stable-Diffusion"},
        {"title", strip_extension(slash == std::string::npos ? name : name.substr(slash + 1))},
        {"author", ""},
        {"description", ""},
        {"preview_image", "imgs/model_placeholder.jpg"},
        {"loaded", false},
        {"architecture", "stable-diffusion-v1"},
        {"class", "Stable Diffusion v1"},
        {"compat_class", "stable-diffusion-v1"},
        {"resolution", std::to_string(width) + "x" + std::to_string(height)},
        {"standard_width", width},
        {"standard_height", height},
        {"license", ""},
        {"date", "2024-01-01"},
        {"prediction_type", ""},
        {"usage_hint", ""},
        {"trigger_phrase", ""},
        {"merged_from", ""},
        {"tags", nullptr},
        {"is_supported_model_format", true},
        {"is_negative_embedding", false},
        {"lora_default_weight", ""},
        {"lora_default_confinement", ""},
        {"local", true},
        {"time_created", 1704067200000},
        {"time_modified", 1704067200000},
        {"hash", ""},
        {"hash_sha256", ""},
        {"special_format", ""},
    };
    for (auto& [key, value] : defaults.items()) {
        if (!model.contains(key)) {
            model[key] = value;
        }
    }
    return model;
}

} // namespace

ModelCatalog ModelCatalog::built_in()
{
    ModelCatalog catalog;
    catalog.models_ = {
        with_defaults({{"name", "OfficialStableDiffusion/sd_xl_base_1.0.safetensors"},
                       {"title", "Stable Diffusion XL 1.0 (Base)"},
                       {"author", "Stability AI"},
                       {"description", "The base model of Stable Diffusion XL 1.0."},
                       {"architecture", "stable-diffusion-xl-v1-base"},
                       {"class", "Stable Diffusion XL 1.0-Base"},
                       {"compat_class", "stable-diffusion-xl-v1"},
                       {"standard_width", 1024},
                       {"standard_height", 1024},
                       {"license", "openrail++"},
                       {"date", "2023-07-26"}}),
        with_defaults({{"name", "Flux/flux1-dev-fp8.safetensors"},
                       {"title", "Flux.1 Dev (FP8)"},
                       {"author", "Black Forest Labs"},
                       {"description", "Flux.1 Dev, a 12B guidance-distilled rectified flow transformer."},
                       {"architecture", "Flux.1-dev"},
                       {"class", "Flux.1 Dev"},
                       {"compat_class", "flux-1"},
                       {"standard_width", 1024},
                       {"standard_height", 1024},
                       {"license", "flux-1-dev-non-commercial-license"},
                       {"date", "2024-08-01"}}),
        with_defaults({{"name", "OfficialStableDiffusion/v1-5-pruned-emaonly.safetensors"},
                       {"title", "Stable Diffusion v1.5"},
                       {"author", "Runway"},
                       {"description", "Stable Diffusion v1.5, EMA-only weights."},
                       {"standard_width", 512},
                       {"standard_height", 512},
                       {"license", "creativeml-openrail-m"},
                       {"date", "2022-10-20"}}),
        with_defaults({{"name", "detail-tweaker-xl.safetensors"},
                       {"subtype", "LoRA"},
                       {"title", "Detail Tweaker XL"},
                       {"architecture", "stable-diffusion-xl-v1-base/lora"},
                       {"class", "Stable Diffusion XL 1.0-Base LoRA"},
                       {"compat_class", "stable-diffusion-xl-v1"},
                       {"standard_width", 1024},
                       {"standard_height", 1024},
                       {"lora_default_weight", "1"}}),
    };
    return catalog;
}

ModelCatalog ModelCatalog::from_file(const std::string& path)
{
    std::ifstream in(path);
    if (!in) {
        throw std::runtime_error("cannot open models file " + path);
    }
    auto parsed = nlohmann::json::parse(in, nullptr, false);
    if (!parsed.is_array()) {
        throw std::runtime_error("models file " + path + " is not a JSON list");
    }
    ModelCatalog catalog;
    for (const auto& entry : parsed) {
        if (!entry.is_object() || !entry.contains("name") || !entry["name"].is_string()) {
            throw std::runtime_error("models file " + path + ": every entry needs a string \"name\"");
        }
        try {
            catalog.models_.push_back(with_defaults(entry));
        } catch (const nlohmann::json::exception& error) {
            throw std::runtime_error("models file " + path + ": invalid field in model " + entry["name"].dump() +
                                     ": " + error.what());
        }
    }
    return catalog;
}

std::optional<std::string> ModelCatalog::find_checkpoint(const std::string& requested) const
{
    const std::string wanted = lower(requested);
    std::optional<std::string> best;
    for (const auto& model : models_) {
        if (model["subtype"] != "Stable-Diffusion") {
            continue;
        }
        const std::string name = model["name"].get<std::string>();
        const std::string clean = lower(name);
        if (clean == wanted || lower(strip_extension(name)) == wanted) {
            return name;
        }
        if (clean.find(wanted) != std::string::npos && (!best || name.size() < best->size())) {
            best = name;
        }
    }
    return best;
}

std::optional<nlohmann::json> ModelCatalog::list(const std::string& subtype, const std::string& path,
                                                 int depth) const
{
    if (known_subtypes.count(subtype) == 0) {
        return std::nullopt;
    }
    std::string prefix = path;
    while (!prefix.empty() && prefix.back() == '/') {
        prefix.pop_back();
    }
    if (!prefix.empty()) {
        prefix += '/';
    }
    depth = std::clamp(depth, 1, 20);

    std::set<std::string> folders;
    auto files = nlohmann::json::array();
    for (const auto& model : models_) {
        const std::string name = model["name"].get<std::string>();
        if (model["subtype"] != subtype || name.compare(0, prefix.size(), prefix) != 0) {
            continue;
        }
        const std::string rest = name.substr(prefix.size());
        auto slashes = std::count(rest.begin(), rest.end(), '/');
        // Every folder level between `path` and the file, down to `depth`, is listed once.
        for (std::size_t at = rest.find('/'), level = 1; at != std::string::npos && level <= std::size_t(depth);
             at = rest.find('/', at + 1), ++level) {
            folders.insert(prefix + rest.substr(0, at));
        }
        if (slashes < depth) {
            auto entry = model;
            entry.erase("subtype");
            files.push_back(std::move(entry));
        }
    }
    return nlohmann::json{{"folders", folders}, {"files", files}};
}

} // namespace emulator
