using Newtonsoft.Json.Linq;

namespace SwarmUI.Utils;

/// <summary>Stub of SwarmUI's general helpers.</summary>
public static class Utilities
{
    /// <summary>Returns the object that API routes use to report an error.</summary>
    public static JObject ErrorObj(string message, string error_id)
    {
        return new JObject { ["error"] = message, ["error_id"] = error_id };
    }
}
