using System;
using System.Collections.Generic;
using System.Linq;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;
using SwarmUI.Core;

namespace SwarmPod.SwarmUIExtension;

/// <summary>Turns libswarmpod's model lists into the net objects SwarmUI's model lists read, and serves them to
/// <c>ModelsAPI.ExtraModelProviders</c>.</summary>
public static class RunPodServerlessModels
{
    /// <summary>The model subtypes SwarmUI 0.9.8 keeps lists for, which are the ones libswarmpod caches.</summary>
    public static readonly string[] Subtypes = ["Stable-Diffusion", "VAE", "LoRA", "Embedding", "ControlNet", "Clip", "ClipVision"];

    /// <summary>Preview image SwarmUI shows for a model without one.</summary>
    public const string PlaceholderPreview = "imgs/model_placeholder.jpg";

    /// <summary>Parses the JSON of <c>swarmpod_backend_list_models</c> into model name → net object, skipping entries without a name.</summary>
    /// <exception cref="JsonException">The text is not JSON.</exception>
    /// <exception cref="FormatException">The JSON is not an object with a "models" array.</exception>
    public static Dictionary<string, JObject> ParseList(string json)
    {
        if (JToken.Parse(json) is not JObject root || root["models"] is not JArray models)
        {
            throw new FormatException("The model list from libswarmpod is not an object with a \"models\" array.");
        }

        Dictionary<string, JObject> result = [];
        foreach (JToken entry in models)
        {
            if (entry is JObject model && WithModelDefaults(model) is JObject complete)
            {
                result[$"{complete["name"]}"] = complete;
            }
        }

        return result;
    }

    /// <summary>Returns a copy of a model object with every field that SwarmUI's <c>T2IModel.FromNetObject</c> casts without
    /// a fallback set to a value of the right type, or null when the model has no name.</summary>
    /// <remarks>SwarmUI builds one model list for all providers, so one entry with a missing "loaded" or
    /// "standard_width" would break the whole list.</remarks>
    public static JObject WithModelDefaults(JObject model)
    {
        string name = model["name"]?.Type == JTokenType.String ? $"{model["name"]}".Trim() : "";
        if (name.Length == 0)
        {
            return null;
        }

        JObject result = (JObject)model.DeepClone();
        result["name"] = name;
        result["title"] = TextOr(model["title"], name.Contains('/') ? name[(name.LastIndexOf('/') + 1)..] : name);
        result["description"] = TextOr(model["description"], "");
        result["preview_image"] = TextOr(model["preview_image"], PlaceholderPreview);
        result["architecture"] = TextOr(model["architecture"], "");
        result["class"] = TextOr(model["class"], "");
        result["loaded"] = model["loaded"]?.Type == JTokenType.Boolean && (bool)model["loaded"];
        result["standard_width"] = IntOr(model["standard_width"], 0);
        result["standard_height"] = IntOr(model["standard_height"], 0);
        result["is_supported_model_format"] = model["is_supported_model_format"]?.Type != JTokenType.Boolean || (bool)model["is_supported_model_format"];
        result["local"] = false;
        return result;
    }

    /// <summary>Model provider for <c>ModelsAPI.ExtraModelProviders</c>: the union of the in-memory lists of every running
    /// RunPod Serverless backend for one subtype. Reads memory only and never throws, because SwarmUI calls it often.</summary>
    public static Dictionary<string, JObject> Provide(string subtype)
    {
        Dictionary<string, JObject> result = [];
        try
        {
            IEnumerable<RunPodServerlessBackend> backends = Program.Backends?.RunningBackendsOfType<RunPodServerlessBackend>() ?? [];
            foreach (RunPodServerlessBackend backend in backends.ToArray())
            {
                foreach ((string name, JObject model) in backend.RemoteModelsFor(subtype))
                {
                    result.TryAdd(name, model);
                }
            }
        }
        catch (Exception ex)
        {
            // The backend list changed while it was read; the next call sees the new list.
            SwarmUI.Utils.Logs.Debug($"[RunPodServerless] Model provider for '{subtype}' skipped a changing backend list: {ex.Message}");
        }

        return result;
    }

    /// <summary>Returns the token's text when it is a non-empty string, else the fallback.</summary>
    private static string TextOr(JToken token, string fallback)
    {
        return token?.Type == JTokenType.String && $"{token}".Length > 0 ? $"{token}" : fallback;
    }

    /// <summary>Returns the token as an int when it is a whole number in range, else the fallback.</summary>
    private static int IntOr(JToken token, int fallback)
    {
        if (token?.Type == JTokenType.Integer)
        {
            long value = (long)token;
            return value is >= 0 and <= int.MaxValue ? (int)value : fallback;
        }

        if (token?.Type == JTokenType.Float)
        {
            double value = (double)token;
            return value >= 0 && value <= int.MaxValue && value == Math.Floor(value) ? (int)value : fallback;
        }

        return fallback;
    }
}
