using System.Collections.Generic;
using System.Text.Json.Nodes;

namespace SwarmPod.Native;

/// <summary>Outcome of a successful generation.</summary>
public sealed class GenerationResult
{
    /// <summary>Every image the library delivered, in delivery order.</summary>
    public required IReadOnlyList<SwarmPodImage> Images { get; init; }

    /// <summary>The library's JSON summary (images, worker id, job ids, timings, GPU-seconds), or "" when it wrote none.</summary>
    public required string SummaryJson { get; init; }

    /// <summary><see cref="SummaryJson"/> parsed, or null when it is empty or not a JSON object.</summary>
    public JsonObject? Summary
    {
        get
        {
            if (string.IsNullOrEmpty(SummaryJson))
            {
                return null;
            }

            try
            {
                return JsonNode.Parse(SummaryJson) as JsonObject;
            }
            catch (System.Text.Json.JsonException)
            {
                return null;
            }
        }
    }
}
