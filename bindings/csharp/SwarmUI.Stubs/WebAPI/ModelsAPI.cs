using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using Newtonsoft.Json.Linq;

namespace SwarmUI.WebAPI;

/// <summary>Stub of SwarmUI's model routes.</summary>
public static class ModelsAPI
{
    /// <summary>Model providers by unique id; each maps a subtype to model name → net object, or null for none.</summary>
    public static ConcurrentDictionary<string, Func<string, Dictionary<string, JObject>>> ExtraModelProviders = new();
}
