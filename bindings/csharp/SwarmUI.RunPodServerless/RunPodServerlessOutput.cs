using System;
using System.Globalization;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;
using SwarmPod.Native;
using SwarmUI.Media;
using SwarmUI.Utils;
using Image = SwarmUI.Utils.Image;

namespace SwarmPod.SwarmUIExtension;

/// <summary>Converts libswarmpod's progress events, images and summaries into what SwarmUI's generation pipeline takes.</summary>
public static class RunPodServerlessOutput
{
    /// <summary>Image metadata key (under sui_extra_data) for the GPU-seconds billed for the generation.</summary>
    public const string GpuSecondsMetaKey = "runpod_gpu_seconds";

    /// <summary>Image metadata key (under sui_extra_data) for the estimated cost of the generation in dollars.</summary>
    public const string EstimatedCostMetaKey = "runpod_estimated_cost";

    /// <summary>Builds the gen_progress object that SwarmUI forwards to the browser.</summary>
    /// <remarks>"status_text" is extra: SwarmUI 0.9.8's page ignores it, while API clients can show it.</remarks>
    public static JObject ToGenProgress(SwarmPodProgress progress, string batchId, string requestId)
    {
        JObject output = new()
        {
            ["batch_index"] = batchId,
            ["request_id"] = requestId,
            ["overall_percent"] = progress.OverallPercent ?? 0,
            ["current_percent"] = progress.CurrentPercent ?? 0,
            ["status_text"] = StatusText(progress),
        };
        if (progress.Preview is not null && progress.Preview.Length > 0)
        {
            string mime = string.IsNullOrWhiteSpace(progress.PreviewMime) ? "image/jpeg" : progress.PreviewMime;
            output["preview"] = $"data:{mime};base64,{Convert.ToBase64String(progress.Preview)}";
        }

        return output;
    }

    /// <summary>Builds a status line from the phase, the elapsed time and the estimate,
    /// such as "Waking RunPod worker (42 s, about 30 s left)".</summary>
    public static string StatusText(SwarmPodProgress progress)
    {
        string action = progress.Phase switch
        {
            SwarmPodPhase.Queued => "Waiting for a RunPod worker",
            SwarmPodPhase.StartingWorker => "Waking RunPod worker",
            SwarmPodPhase.LoadingBackends => "Starting SwarmUI on the RunPod worker",
            SwarmPodPhase.LoadingModel => "Loading the model on the RunPod worker",
            SwarmPodPhase.Generating => "Generating on the RunPod worker",
            SwarmPodPhase.Done => "Done",
            _ => "Working",
        };
        long elapsed = (long)Math.Round(progress.Elapsed.TotalSeconds);
        if (progress.EstimatedRemaining is TimeSpan remaining && progress.Phase != SwarmPodPhase.Done)
        {
            return $"{action} ({elapsed} s, about {(long)Math.Ceiling(remaining.TotalSeconds)} s left)";
        }

        return $"{action} ({elapsed} s)";
    }

    /// <summary>Wraps a delivered image in SwarmUI's image type, with the media type registered for its MIME type.</summary>
    /// <exception cref="SwarmReadableErrorException">The image has a MIME type SwarmUI does not register.</exception>
    public static Image ToImage(SwarmPodImage image)
    {
        if (!MediaType.TypesByMimeType.TryGetValue(image.Mime, out MediaType type))
        {
            throw new SwarmReadableErrorException(
                $"The RunPod worker returned image {image.BatchIndex} as '{image.Mime}', a type SwarmUI does not know; set the worker's image format to PNG or JPEG.");
        }

        return new Image(image.Data, type);
    }

    /// <summary>Reads "gpu_seconds" and "estimated_cost" from a generation summary; each is null when absent or the text is not JSON.</summary>
    public static (double? GpuSeconds, double? EstimatedCost) ReadCost(string summaryJson)
    {
        if (string.IsNullOrWhiteSpace(summaryJson))
        {
            return (null, null);
        }

        try
        {
            if (JToken.Parse(summaryJson) is not JObject summary)
            {
                return (null, null);
            }

            return (NumberOrNull(summary["gpu_seconds"]), NumberOrNull(summary["estimated_cost"]));
        }
        catch (JsonException)
        {
            return (null, null);
        }
    }

    /// <summary>Writes the GPU-seconds and, when a price is set, the estimated cost into the metadata values that SwarmUI
    /// applies to the images passed to takeOutput afterwards.</summary>
    public static void AddCostMetadata(SwarmUI.Text2Image.T2IParamInput input, string summaryJson, double costPerGpuSecond)
    {
        (double? gpuSeconds, double? estimatedCost) = ReadCost(summaryJson);
        if (gpuSeconds is double seconds)
        {
            input.ExtraMeta[GpuSecondsMetaKey] = seconds.ToString("0.##", CultureInfo.InvariantCulture);
        }

        if (estimatedCost is double cost && costPerGpuSecond > 0)
        {
            input.ExtraMeta[EstimatedCostMetaKey] = $"${cost.ToString("0.######", CultureInfo.InvariantCulture)}";
        }
    }

    /// <summary>Returns the token as a double when it is a number, else null.</summary>
    private static double? NumberOrNull(JToken token)
    {
        return token?.Type is JTokenType.Integer or JTokenType.Float ? (double)token : null;
    }
}
