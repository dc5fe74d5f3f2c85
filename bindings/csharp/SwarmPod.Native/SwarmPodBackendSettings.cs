using System.IO;
using System.Text;
using System.Text.Json;

namespace SwarmPod.Native;

/// <summary>Typed form of the config JSON that swarmpod_backend_new takes.</summary>
/// <remarks>A null property is left out of the JSON, so the library applies its own default.
/// The library validates every value and names the field of an invalid one.</remarks>
public sealed class SwarmPodBackendSettings
{
    /// <summary>RunPod Serverless endpoint id; required.</summary>
    public string? EndpointId { get; set; }

    /// <summary>RunPod API key; when null, each call's key is used.</summary>
    public string? RunPodApiKey { get; set; }

    /// <summary>Base URL of the RunPod API (library default "https://api.runpod.ai/v2").</summary>
    public string? ApiBaseUrl { get; set; }

    /// <summary>Submits jobs with /run and polls, rather than /runsync.</summary>
    public bool? UseAsync { get; set; }

    /// <summary>Maximum number of workers leased at once.</summary>
    public int? MaxConcurrent { get; set; }

    /// <summary>Interval between RunPod status polls, in milliseconds.</summary>
    public int? PollIntervalMs { get; set; }

    /// <summary>Time allowed for a worker to become ready, in seconds.</summary>
    public int? StartupTimeoutSec { get; set; }

    /// <summary>Time allowed for one generation once the worker is ready, in seconds.</summary>
    public int? GenerationTimeoutSec { get; set; }

    /// <summary>Refreshes the model list automatically.</summary>
    public bool? AutoRefresh { get; set; }

    /// <summary>Time a worker lease is kept after a generation, in seconds.</summary>
    public int? KeepWarmSec { get; set; }

    /// <summary>Worker protocol: "auto", "v1" or "v2".</summary>
    public string? WorkerProtocol { get; set; }

    /// <summary>Accepts worker URLs outside the RunPod proxy allow-list, including plain HTTP and loopback; for tests only.</summary>
    public bool? AllowInsecureWorkerUrls { get; set; }

    /// <summary>Path of a PEM file with the CA certificates to trust.</summary>
    public string? CaBundle { get; set; }

    /// <summary>Talks to the worker over WebSocket; false falls back to plain HTTP.</summary>
    public bool? UseWebSocket { get; set; }

    /// <summary>Largest WebSocket message accepted, in MiB (1 to 2048, default 256); one message carries one image as base64.</summary>
    public int? MaxWebSocketMessageMiB { get; set; }

    /// <summary>File in which the model list is cached between runs.</summary>
    public string? ModelCachePath { get; set; }

    /// <summary>Price of one GPU-second, used for cost estimates.</summary>
    public double? CostPerGpuSecond { get; set; }

    /// <summary>Serializes the properties that are set into the config JSON object.</summary>
    public string ToJson()
    {
        using MemoryStream buffer = new();
        using (Utf8JsonWriter writer = new(buffer))
        {
            writer.WriteStartObject();
            WriteString(writer, nameof(EndpointId), EndpointId);
            WriteString(writer, nameof(RunPodApiKey), RunPodApiKey);
            WriteString(writer, nameof(ApiBaseUrl), ApiBaseUrl);
            WriteBool(writer, nameof(UseAsync), UseAsync);
            WriteInt(writer, nameof(MaxConcurrent), MaxConcurrent);
            WriteInt(writer, nameof(PollIntervalMs), PollIntervalMs);
            WriteInt(writer, nameof(StartupTimeoutSec), StartupTimeoutSec);
            WriteInt(writer, nameof(GenerationTimeoutSec), GenerationTimeoutSec);
            WriteBool(writer, nameof(AutoRefresh), AutoRefresh);
            WriteInt(writer, nameof(KeepWarmSec), KeepWarmSec);
            WriteString(writer, nameof(WorkerProtocol), WorkerProtocol);
            WriteBool(writer, nameof(AllowInsecureWorkerUrls), AllowInsecureWorkerUrls);
            WriteString(writer, nameof(CaBundle), CaBundle);
            WriteBool(writer, nameof(UseWebSocket), UseWebSocket);
            WriteInt(writer, nameof(MaxWebSocketMessageMiB), MaxWebSocketMessageMiB);
            WriteString(writer, nameof(ModelCachePath), ModelCachePath);
            if (CostPerGpuSecond is double cost)
            {
                if (!double.IsFinite(cost))
                {
                    throw new System.ArgumentException(
                        $"CostPerGpuSecond is {cost}; set it to a finite number of currency units per GPU-second, or leave it null.",
                        nameof(CostPerGpuSecond));
                }

                writer.WriteNumber(nameof(CostPerGpuSecond), cost);
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteString(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is not null)
        {
            writer.WriteString(name, value);
        }
    }

    private static void WriteBool(Utf8JsonWriter writer, string name, bool? value)
    {
        if (value is bool flag)
        {
            writer.WriteBoolean(name, flag);
        }
    }

    private static void WriteInt(Utf8JsonWriter writer, string name, int? value)
    {
        if (value is int number)
        {
            writer.WriteNumber(name, number);
        }
    }
}
