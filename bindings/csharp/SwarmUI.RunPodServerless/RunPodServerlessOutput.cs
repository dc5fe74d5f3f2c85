using System;
using System.Globalization;
using Newtonsoft.Json.Linq;
using SwarmPod.Native;
using SwarmUI.Media;
using SwarmUI.Utils;
using Image = SwarmUI.Utils.Image;

namespace SwarmPod.SwarmUIExtension;

/// <summary>Converts libswarmpod's progress events, images and summaries into what SwarmUI's generation pipeline takes.</summary>
public static class RunPodServerlessOutput
{
    /// <summary>Image metadata key (under sui_extra_data) for the estimated GPU-seconds of the generation up to that image.</summary>
    public const string GpuSecondsMetaKey = "runpod_gpu_seconds";

    /// <summary>Image metadata key (under sui_extra_data) for the estimated cost in dollars of those GPU-seconds.</summary>
    public const string EstimatedCostMetaKey = "runpod_estimated_cost";

    /// <summary>Builds the gen_progress object that SwarmUI forwards to the browser.</summary>
    /// <remarks>SwarmUI 0.9.8's page reads batch_index, request_id, overall_percent, current_percent, preview and
    /// metadata. "status_text" is extra: the page ignores it, while API clients can show it, and
    /// <see cref="RunPodServerlessWaitLog"/> writes the same text to SwarmUI's log.</remarks>
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

    /// <summary>Writes an image's GPU-seconds and, when a price is set, their estimated cost into the metadata values that
    /// SwarmUI copies into the next image passed to takeOutput. Removes both keys when the GPU-seconds are unknown, so an
    /// image never carries an earlier image's values.</summary>
    public static void SetCostMetadata(SwarmUI.Text2Image.T2IParamInput input, double? gpuSeconds, double costPerGpuSecond)
    {
        if (gpuSeconds is not double seconds)
        {
            input.ExtraMeta.Remove(GpuSecondsMetaKey);
            input.ExtraMeta.Remove(EstimatedCostMetaKey);
            return;
        }

        input.ExtraMeta[GpuSecondsMetaKey] = seconds.ToString("0.##", CultureInfo.InvariantCulture);
        if (costPerGpuSecond > 0)
        {
            input.ExtraMeta[EstimatedCostMetaKey] = $"${(seconds * costPerGpuSecond).ToString("0.######", CultureInfo.InvariantCulture)}";
        }
        else
        {
            input.ExtraMeta.Remove(EstimatedCostMetaKey);
        }
    }
}
