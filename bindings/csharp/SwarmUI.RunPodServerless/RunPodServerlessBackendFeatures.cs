using System;
using System.Collections.Generic;
using System.Linq;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;
using SwarmPod.Native;
using SwarmUI.Utils;

namespace SwarmPod.SwarmUIExtension;

public partial class RunPodServerlessBackend
{
    /// <summary>Feature flags reported until a worker of the endpoint has been read: the flags that SwarmUI 0.9.8's ComfyUI
    /// backend reports whatever custom nodes are installed, leaving out "folderslash" and the "comfy_*" node flags, which no
    /// parameter requires.</summary>
    /// <remarks>The public SwarmUI RunPod worker images run SwarmUI with a ComfyUI backend. Reporting no flags would hide
    /// every ComfyUI-only parameter on the Generate tab and refuse such requests until some generation had woken a worker.
    /// A wrong guess costs at most one request that the worker's SwarmUI refuses, after which the worker's own flags are
    /// stored and used.</remarks>
    public static readonly IReadOnlyList<string> AssumedFeatures = ["comfyui", "refiners", "controlnet", "endstepsearly", "seamless", "video"];

    /// <summary>The flags <see cref="SupportedFeatures"/> returns; replaced as a whole, never changed in place.</summary>
    private volatile string[] _features = [.. AssumedFeatures];

    /// <summary>True once the flags came from a worker of this endpoint (now or in an earlier run), false while
    /// <see cref="AssumedFeatures"/> are used.</summary>
    private volatile bool _featuresFromWorker;

    /// <inheritdoc/>
    /// <remarks>The feature flags of the worker's SwarmUI as libswarmpod last read and stored them, or
    /// <see cref="AssumedFeatures"/> before any worker of the endpoint was read.</remarks>
    public override IEnumerable<string> SupportedFeatures => _features;

    /// <summary>True when <see cref="SupportedFeatures"/> came from a worker, false while they are <see cref="AssumedFeatures"/>.</summary>
    public bool FeaturesFromWorker => _featuresFromWorker;

    /// <summary>Takes the feature flags that libswarmpod stored for the endpoint, which wakes no worker. Keeps the current
    /// flags when none are stored yet or they cannot be read.</summary>
    internal void LoadFeatures(SwarmPodBackend native)
    {
        string[] stored;
        try
        {
            stored = ParseFeatures(native.FeaturesJson());
        }
        catch (Exception ex) when (ex is SwarmPodException or EntryPointNotFoundException or JsonException or FormatException or ObjectDisposedException)
        {
            Logs.Debug($"[RunPodServerless] Backend '{Title}' (id {BackendId}) could not read the stored feature flags: {ex.Message}");
            return;
        }

        if (stored is null)
        {
            return;
        }

        if (!_featuresFromWorker || !stored.SequenceEqual(_features))
        {
            Logs.Debug($"[RunPodServerless] Backend '{Title}' (id {BackendId}) uses the worker's feature flags: {string.Join(", ", stored)}");
        }

        _features = stored;
        _featuresFromWorker = true;
    }

    /// <summary>Returns the flags of a swarmpod_backend_features object, or null when its "features" is null.</summary>
    /// <exception cref="FormatException">The text is not such an object.</exception>
    internal static string[] ParseFeatures(string json)
    {
        if (JToken.Parse(json) is not JObject root || !root.TryGetValue("features", out JToken features))
        {
            throw new FormatException("The feature flags from libswarmpod are not an object with a 'features' field.");
        }

        if (features.Type == JTokenType.Null)
        {
            return null;
        }

        if (features is not JArray list)
        {
            throw new FormatException($"The feature flags from libswarmpod are a {features.Type}, not an array.");
        }

        return [.. list.Where(flag => flag.Type == JTokenType.String).Select(flag => (string)flag).Distinct()];
    }
}
