// The worker's model catalogue: built-in or loaded from --models-file.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace emulator {

class ModelCatalog {
public:
    // Three realistic checkpoints (SDXL, Flux, SD 1.5) and one LoRA.
    static ModelCatalog built_in();
    // Reads a JSON list of model objects. Each needs "name"; "subtype" defaults to "Stable-Diffusion" and every
    // other SwarmUI field gets a default. Throws std::runtime_error with the reason on a bad file.
    static ModelCatalog from_file(const std::string& path);

    // Matches as SwarmUI does: exact name, name without extension, then the shortest name containing `requested`.
    std::optional<std::string> find_checkpoint(const std::string& requested) const;

    // The ListModels reply for `subtype` under folder `path`, or nullopt for an unknown subtype.
    std::optional<nlohmann::json> list(const std::string& subtype, const std::string& path, int depth) const;

    std::size_t size() const { return models_.size(); }

private:
    std::vector<nlohmann::json> models_;
};

} // namespace emulator
