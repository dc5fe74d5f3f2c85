using System;
using System.Linq;
using Newtonsoft.Json.Linq;

namespace SwarmPod.SwarmUIExtension;

/// <summary>Removes secrets from JSON that routes return.</summary>
public static class RunPodServerlessRedaction
{
    /// <summary>Returns a copy of <paramref name="json"/> without any property whose name contains "key", "token",
    /// "secret" or "password", at any depth.</summary>
    /// <remarks>libswarmpod promises that its status JSON holds no key or token; this is a second layer.</remarks>
    public static JObject WithoutSecrets(JObject json)
    {
        JObject copy = (JObject)json.DeepClone();
        foreach (JProperty property in copy.Descendants().OfType<JProperty>().ToList())
        {
            if (IsSecretName(property.Name))
            {
                property.Remove();
            }
        }

        return copy;
    }

    /// <summary>Tells whether a property name marks a secret.</summary>
    private static bool IsSecretName(string name)
    {
        return name.Contains("key", StringComparison.OrdinalIgnoreCase)
            || name.Contains("token", StringComparison.OrdinalIgnoreCase)
            || name.Contains("secret", StringComparison.OrdinalIgnoreCase)
            || name.Contains("password", StringComparison.OrdinalIgnoreCase);
    }
}
