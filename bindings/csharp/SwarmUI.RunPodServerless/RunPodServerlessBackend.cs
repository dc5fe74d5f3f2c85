using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using FreneticUtilities.FreneticDataSyntax;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;
using SwarmPod.Native;
using SwarmUI.Accounts;
using SwarmUI.Backends;
using SwarmUI.Core;
using SwarmUI.Media;
using SwarmUI.Text2Image;
using SwarmUI.Utils;
using Image = SwarmUI.Utils.Image;

namespace SwarmPod.SwarmUIExtension;

/// <summary>SwarmUI backend that sends each generation to a RunPod Serverless endpoint through libswarmpod.</summary>
public class RunPodServerlessBackend : AbstractT2IBackend
{
    /// <summary>Message shown when neither the backend settings nor the user hold a RunPod API key.</summary>
    public const string MissingKeyMessage = "RunPod API key not found: set it in User Settings → API Keys, or in the backend settings";

    /// <summary>Settings of one RunPod Serverless backend; each field maps to the libswarmpod config field of the same name.</summary>
    public class RunPodServerlessSettings : AutoConfiguration
    {
        /// <summary>RunPod Serverless endpoint id.</summary>
        [ConfigComment("ID of the RunPod Serverless endpoint whose workers run SwarmUI, as shown in the RunPod console (for example 'abc123xyz').")]
        public string EndpointId = "";

        /// <summary>Whether jobs are submitted with /run and polled.</summary>
        [ConfigComment("Submit RunPod jobs with /run and poll their status. When false, /runsync is used.")]
        public bool UseAsync = true;

        /// <summary>Maximum number of workers leased at once.</summary>
        [ConfigComment("Maximum number of RunPod workers this backend uses at once, which is also the number of generations it runs in parallel.")]
        public int MaxConcurrent = 10;

        /// <summary>Interval between RunPod status polls, in milliseconds.</summary>
        [ConfigComment("Milliseconds between RunPod job status polls.")]
        public int PollIntervalMs = 2000;

        /// <summary>Time allowed for a worker to become ready, in seconds.</summary>
        [ConfigComment("Seconds to wait for a worker to start and become ready. Cold starts usually take 1 to 4 minutes.")]
        public int StartupTimeoutSec = 120;

        /// <summary>Time allowed for one generation, in seconds.</summary>
        [ConfigComment("Seconds allowed for one generation once the worker is ready.")]
        public int GenerationTimeoutSec = 300;

        /// <summary>RunPod API key used for every user.</summary>
        [ConfigComment("RunPod API key used for every user of this backend. Leave empty to use each user's own key from User Settings → API Keys.")]
        [ValueIsSecret]
        public string RunPodApiKey = "";

        /// <summary>Whether the model list is refreshed automatically.</summary>
        [ConfigComment("Refresh the worker's model list automatically. Listing models wakes a worker, which bills GPU time.")]
        public bool AutoRefresh = false;

        /// <summary>Time a worker is kept after a generation, in seconds.</summary>
        [ConfigComment("Seconds a worker is kept after a generation so the next one skips the cold start. The worker bills for this time.")]
        public int KeepWarmSec = 30;

        /// <summary>Worker protocol: auto, v1 or v2.</summary>
        [ConfigComment("Protocol of the worker image: 'auto' detects it, 'v1' or 'v2' forces one.")]
        public string WorkerProtocol = "auto";

        /// <summary>Price of one GPU-second, for cost estimates.</summary>
        [ConfigComment("Price of one GPU-second of this endpoint's GPU, used only for cost estimates. 0 turns estimates off.")]
        public double CostPerGpuSecond = 0;

        /// <summary>Base URL of the RunPod API.</summary>
        [ConfigComment("Base URL of the RunPod Serverless API. Change it only to use a test server.")]
        public string ApiBaseUrl = "https://api.runpod.ai/v2";

        /// <summary>Whether worker URLs outside the RunPod proxy allow-list are accepted.</summary>
        [ConfigComment("Accept worker URLs outside https://*.proxy.runpod.net, including plain HTTP. For test servers only.")]
        public bool AllowInsecureWorkerUrls = false;

        /// <summary>Whether the worker is reached over WebSocket.</summary>
        [ConfigComment("Talk to the worker over WebSocket, which streams progress and previews. When false, plain HTTP is used.")]
        public bool UseWebSocket = true;
    }

    /// <summary>The typed settings.</summary>
    public RunPodServerlessSettings Settings => SettingsRaw as RunPodServerlessSettings;

    /// <summary>The native backend, or null before Init and after Shutdown.</summary>
    internal volatile SwarmPodBackend Native;

    /// <inheritdoc/>
    /// <remarks>NOTE: the worker's features are unknown until a worker is woken, so requests that need a feature flag are not routed here.</remarks>
    public override IEnumerable<string> SupportedFeatures => [];

    /// <summary>Creates the native backend from the settings. Wakes no worker and bills nothing.</summary>
    public override Task Init()
    {
        SwarmPodBackend previous = Native;
        Native = null;
        previous?.Dispose();

        RunPodServerlessSettings settings = Settings;
        SwarmPodBackend created;
        try
        {
            created = SwarmPodBackend.Create(ToNativeSettings(settings));
        }
        catch (SwarmPodException ex) when (ex.Status == SwarmPodStatus.InvalidConfig)
        {
            // Retrying cannot fix a setting, so report it and stop instead of throwing into SwarmUI's retry loop.
            AddLoadStatus($"Invalid settings: {ex.Message}");
            Logs.Error($"RunPod Serverless backend '{Title}' has invalid settings: {ex.Message}");
            Status = BackendStatus.ERRORED;
            return Task.CompletedTask;
        }

        Native = created;
        MaxUsages = Math.Max(1, settings.MaxConcurrent);
        AddLoadStatus($"Ready for endpoint {settings.EndpointId}; a worker starts on the first generation.");
        Status = BackendStatus.RUNNING;
        return Task.CompletedTask;
    }

    /// <summary>Frees the native backend, which cancels running generations and ends every RunPod job it started.</summary>
    public override Task Shutdown()
    {
        SwarmPodBackend native = Native;
        Native = null;
        Status = BackendStatus.DISABLED;
        native?.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>Records the model name; the worker loads the model as part of the generation.</summary>
    public override Task<bool> LoadModel(T2IModel model, T2IParamInput input)
    {
        CurrentModelName = model.Name;
        return Task.FromResult(true);
    }

    /// <summary>Generates and returns the images without live progress.</summary>
    public override async Task<Image[]> Generate(T2IParamInput user_input)
    {
        List<Image> images = [];
        await GenerateLive(user_input, "0", output =>
        {
            if (output is Image image)
            {
                images.Add(image);
            }
        });
        return [.. images];
    }

    /// <summary>Generates on a RunPod worker, sending progress as gen_progress objects and each finished image to <paramref name="takeOutput"/>.</summary>
    /// <exception cref="SwarmUserErrorException">The user lacks the permission or a RunPod API key.</exception>
    /// <exception cref="SwarmReadableErrorException">The generation failed; the message gives the reason.</exception>
    /// <exception cref="TaskCanceledException">The user interrupted the generation.</exception>
    public override async Task GenerateLive(T2IParamInput user_input, string batchId, Action<object> takeOutput)
    {
        User user = user_input.SourceSession?.User;
        if (user is not null && !user.HasPermission(RunPodServerlessExtension.PermUseRunPodServerless))
        {
            throw new SwarmUserErrorException(
                $"You do not have the permission '{RunPodServerlessExtension.PermUseRunPodServerless.DisplayName}' "
                + $"({RunPodServerlessExtension.PermUseRunPodServerless.ID}); ask an administrator to grant it.");
        }

        SwarmPodBackend native = Native ?? throw new SwarmReadableErrorException(
            $"RunPod Serverless backend '{Title}' is not running (status {Status}); check its settings in the Backends tab.");
        string apiKey = ResolveUserApiKey(user_input);
        string request = user_input.ToJSON().ToString(Formatting.None);
        string requestId = $"{user_input.UserRequestId}";

        try
        {
            await native.GenerateAsync(
                request,
                apiKey,
                onProgress: progress => takeOutput(ToGenProgress(progress, batchId, requestId)),
                onImage: image => takeOutput(ToImage(image)),
                cancellationToken: user_input.InterruptToken);
        }
        catch (OperationCanceledException ex) when (ex is not TaskCanceledException)
        {
            // SwarmUI treats TaskCanceledException as a silent interrupt.
            throw new TaskCanceledException("The RunPod Serverless generation was interrupted.", ex, ex.CancellationToken);
        }
        catch (SwarmPodException ex) when (ex.Status is SwarmPodStatus.NoApiKey or SwarmPodStatus.Auth)
        {
            throw new SwarmUserErrorException($"RunPod rejected the request: {ex.Message}");
        }
        catch (SwarmPodException ex)
        {
            Logs.Error($"RunPod Serverless generation {requestId} on endpoint {Settings.EndpointId} failed: {ex.Message}");
            throw new SwarmReadableErrorException($"RunPod Serverless generation failed: {ex.Message}");
        }
        catch (ObjectDisposedException)
        {
            throw new SwarmReadableErrorException($"RunPod Serverless backend '{Title}' was shut down during the generation.");
        }
    }

    /// <summary>Maps the SwarmUI settings onto libswarmpod's config.</summary>
    internal static SwarmPodBackendSettings ToNativeSettings(RunPodServerlessSettings settings)
    {
        return new SwarmPodBackendSettings
        {
            EndpointId = settings.EndpointId?.Trim() ?? "",
            UseAsync = settings.UseAsync,
            MaxConcurrent = settings.MaxConcurrent,
            PollIntervalMs = settings.PollIntervalMs,
            StartupTimeoutSec = settings.StartupTimeoutSec,
            GenerationTimeoutSec = settings.GenerationTimeoutSec,
            RunPodApiKey = string.IsNullOrWhiteSpace(settings.RunPodApiKey) ? null : settings.RunPodApiKey.Trim(),
            AutoRefresh = settings.AutoRefresh,
            KeepWarmSec = settings.KeepWarmSec,
            WorkerProtocol = settings.WorkerProtocol,
            CostPerGpuSecond = settings.CostPerGpuSecond,
            ApiBaseUrl = settings.ApiBaseUrl,
            AllowInsecureWorkerUrls = settings.AllowInsecureWorkerUrls,
            UseWebSocket = settings.UseWebSocket,
        };
    }

    /// <summary>Returns the user's key when the settings hold none; the settings key takes precedence in libswarmpod.</summary>
    /// <exception cref="SwarmUserErrorException">Neither the settings nor the user hold a key.</exception>
    private string ResolveUserApiKey(T2IParamInput input)
    {
        if (!string.IsNullOrWhiteSpace(Settings.RunPodApiKey))
        {
            return null;
        }

        string userKey = input.SourceSession?.User?.GetGenericData(RunPodServerlessExtension.ApiKeyType, "key");
        if (string.IsNullOrWhiteSpace(userKey))
        {
            throw new SwarmUserErrorException(MissingKeyMessage);
        }

        return userKey.Trim();
    }

    /// <summary>Builds the gen_progress object that SwarmUI forwards to the browser.</summary>
    internal static JObject ToGenProgress(SwarmPodProgress progress, string batchId, string requestId)
    {
        JObject output = new()
        {
            ["batch_index"] = batchId,
            ["request_id"] = requestId,
            ["overall_percent"] = progress.OverallPercent ?? 0,
            ["current_percent"] = progress.CurrentPercent ?? 0,
        };
        if (progress.Preview is not null && progress.Preview.Length > 0)
        {
            string mime = progress.PreviewMime ?? "image/jpeg";
            output["preview"] = $"data:{mime};base64,{Convert.ToBase64String(progress.Preview)}";
        }

        return output;
    }

    /// <summary>Wraps a delivered image in SwarmUI's image type.</summary>
    /// <exception cref="SwarmReadableErrorException">The image has a MIME type SwarmUI does not register.</exception>
    internal static Image ToImage(SwarmPodImage image)
    {
        if (!MediaType.TypesByMimeType.TryGetValue(image.Mime, out MediaType type))
        {
            throw new SwarmReadableErrorException(
                $"The RunPod worker returned image {image.BatchIndex} as '{image.Mime}', a type SwarmUI does not know; set the worker's image format to PNG or JPEG.");
        }

        return new Image(image.Data, type);
    }
}
