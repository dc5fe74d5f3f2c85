using System.Collections.Generic;

namespace SwarmUI.WebAPI;

/// <summary>Stub of SwarmUI's basic API routes.</summary>
public static class BasicAPIFeatures
{
    /// <summary>Key types that /API/SetAPIKey accepts.</summary>
    public static HashSet<string> AcceptedAPIKeyTypes = ["stability_api", "civitai_api", "huggingface_api"];
}
