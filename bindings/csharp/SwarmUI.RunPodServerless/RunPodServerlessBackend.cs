using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;
using SwarmPod.Native;
using SwarmUI.Accounts;
using SwarmUI.Backends;
using SwarmUI.Core;
using SwarmUI.Text2Image;
using SwarmUI.Utils;
using Image = SwarmUI.Utils.Image;

namespace SwarmPod.SwarmUIExtension;

/// <summary>SwarmUI backend that sends each generation to a RunPod Serverless endpoint through libswarmpod.</summary>
public partial class RunPodServerlessBackend : AbstractT2IBackend
{
    /// <summary>Message shown when neither the backend settings nor the user hold a RunPod API key.</summary>
    public const string MissingKeyMessage = "RunPod API key not found: set it in User Settings → API Keys, or in the backend settings";

    /// <summary>The typed settings.</summary>
    public RunPodServerlessSettings Settings => SettingsRaw as RunPodServerlessSettings;

    /// <summary>The native backend, or null before Init, after Shutdown and after a failed Init.</summary>
    internal volatile SwarmPodBackend Native;

    /// <summary>In-memory copy of the model lists: subtype → model name → net object. Read by the model provider.</summary>
    private readonly ConcurrentDictionary<string, Dictionary<string, JObject>> _remoteModels = new();

    /// <summary>Allows one model refresh at a time, so two requests do not wake two workers.</summary>
    private readonly SemaphoreSlim _refreshLock = new(1, 1);

    /// <summary>Last error of a generation or refresh, for the status route; never contains a key.</summary>
    private volatile string _lastError = "";

    /// <summary>The model refresh that Init started because AutoRefresh is on, or a completed task.</summary>
    internal Task AutoRefreshTask = Task.CompletedTask;

    /// <summary>SwarmUI's id of this backend, or -1 when it was created outside the backend handler.</summary>
    public int BackendId => AbstractBackendData?.ID ?? -1;

    /// <summary>Number of models in the in-memory lists, over all subtypes.</summary>
    public int ModelCount => _remoteModels.Values.Sum(list => list.Count);

    /// <summary>Creates the native backend and loads the cached model list. Wakes no worker unless AutoRefresh is on and
    /// the settings hold a RunPod API key.</summary>
    /// <remarks>Problems that retrying cannot fix (a missing library, invalid settings) set the status to ERRORED with the
    /// reason in the load status, rather than throwing into SwarmUI's init retries.</remarks>
    public override Task Init()
    {
        SwarmPodBackend previous = Native;
        Native = null;
        previous?.Dispose();
        RunPodServerlessSettings settings = Settings;

        AddLoadStatus("Loading libswarmpod...");
        try
        {
            string loadedFrom = SwarmPodNativeLibrary.Load();
            Logs.Debug($"[RunPodServerless] libswarmpod {SwarmPodBackend.NativeVersion} loaded from {loadedFrom}.");
        }
        catch (Exception ex) when (ex is DllNotFoundException or InvalidOperationException)
        {
            return FailInit($"libswarmpod could not be loaded: {ex.Message}");
        }

        AddLoadStatus($"Checking the settings for endpoint '{settings.EndpointId}'...");
        SwarmPodBackend created;
        try
        {
            SwarmPodBackendSettings nativeSettings = ToNativeSettings(settings);
            nativeSettings.ModelCachePath = ModelCachePathFor(settings.EndpointId);
            created = SwarmPodBackend.Create(nativeSettings);
        }
        catch (SwarmPodException ex) when (ex.Status == SwarmPodStatus.InvalidConfig)
        {
            return FailInit($"Invalid settings: {ex.Message}");
        }
        catch (ArgumentException ex)
        {
            return FailInit($"Invalid settings: {ex.Message}");
        }

        Native = created;
        MaxUsages = Math.Max(1, settings.MaxConcurrent);
        Models = new ConcurrentDictionary<string, List<string>>();
        AddLoadStatus("Loading the cached model list and feature flags (this wakes no worker)...");
        LoadCachedModels(created);
        LoadFeatures(created);
        AddLoadStatus($"Ready for endpoint '{settings.EndpointId}' with {ModelCount} cached models and "
            + $"{(FeaturesFromWorker ? "the worker's" : "assumed")} feature flags; a worker starts on the first generation.");
        Status = BackendStatus.RUNNING;

        if (settings.AutoRefresh && !string.IsNullOrWhiteSpace(settings.RunPodApiKey))
        {
            AddLoadStatus("AutoRefresh is on: waking a worker to read its model list, which bills GPU time.");
            AutoRefreshTask = Task.Run(AutoRefreshModels);
        }
        else if (settings.AutoRefresh)
        {
            AddLoadStatus("AutoRefresh is on, but the backend settings have no RunPod API key, so the model list was not refreshed. "
                + "Set RunPodApiKey, or refresh through the RunPodServerlessRefreshModels route with your own key.");
        }

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

    /// <summary>Records the model name and returns true. Wakes no worker: the worker loads the model as part of the generation.</summary>
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

    /// <summary>Generates on a RunPod worker, sending progress as gen_progress objects and each image to <paramref name="takeOutput"/>
    /// as soon as libswarmpod delivers it.</summary>
    /// <remarks>Before each image is passed on, its GPU-seconds so far (and their cost, with a price set) go into
    /// <c>ExtraMeta</c>, which SwarmUI copies into that image's metadata while takeOutput runs. Images passed on before a
    /// failure or an interrupt stay with SwarmUI. The waiting before the worker generates also goes to SwarmUI's log
    /// (<see cref="RunPodServerlessWaitLog"/>), because SwarmUI's page does not show the progress text.</remarks>
    /// <exception cref="SwarmUserErrorException">The user lacks the permission or a RunPod API key, or RunPod rejected the key.</exception>
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
        string apiKey = ResolveApiKey(user);
        string request = BuildRequest(user_input).ToString(Formatting.None);
        string requestId = $"{user_input.UserRequestId}";
        RunPodServerlessWaitLog waitLog = new($"Generation {requestId} on backend {BackendId} ('{Title}')");

        try
        {
            await native.GenerateAsync(
                request,
                apiKey,
                onProgress: progress =>
                {
                    waitLog.Report(progress);
                    takeOutput(RunPodServerlessOutput.ToGenProgress(progress, batchId, requestId));
                },
                onImage: image => PassOnImage(user_input, image, takeOutput),
                cancellationToken: user_input.InterruptToken);
        }
        catch (OperationCanceledException ex)
        {
            if (ex is TaskCanceledException)
            {
                throw;
            }

            // SwarmUI treats TaskCanceledException as a silent interrupt.
            throw new TaskCanceledException("The RunPod Serverless generation was interrupted.", ex, ex.CancellationToken);
        }
        catch (SwarmPodException ex) when (ex.Status is SwarmPodStatus.NoApiKey or SwarmPodStatus.Auth)
        {
            _lastError = ex.Message;
            throw new SwarmUserErrorException($"RunPod rejected the request: {ex.Message}");
        }
        catch (SwarmPodException ex)
        {
            _lastError = ex.Message;
            Logs.Error($"[RunPodServerless] Generation {requestId} on endpoint '{Settings.EndpointId}' (backend {BackendId}) failed: {ex.Message}");
            throw new SwarmReadableErrorException($"RunPod Serverless generation failed: {ex.Message}");
        }
        catch (ObjectDisposedException)
        {
            throw new SwarmReadableErrorException($"RunPod Serverless backend '{Title}' was shut down during the generation.");
        }
        finally
        {
            // libswarmpod stores the worker's feature flags after the generation, and also after an error the worker reported.
            LoadFeatures(native);
        }
    }

    /// <summary>Builds the GenerateText2Image body for one backend call: the input's parameters with <c>images</c> set to 1.</summary>
    /// <remarks>SwarmUI runs a request for N images as N backend calls, and each call's input still contains <c>images: N</c>,
    /// so forwarding it would make N × N images on the worker. SwarmUI's own remote backend (SwarmSwarmBackend.BuildRequest) sets
    /// 1 the same way. <c>batchsize</c>, the number of images in one call, is forwarded unchanged.</remarks>
    internal static JObject BuildRequest(T2IParamInput user_input)
    {
        JObject request = user_input.ToJSON();
        request["images"] = 1;
        return request;
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
            WorkerProtocol = settings.WorkerProtocol?.Trim(),
            CostPerGpuSecond = settings.CostPerGpuSecond,
            ApiBaseUrl = settings.ApiBaseUrl?.Trim(),
            AllowInsecureWorkerUrls = settings.AllowInsecureWorkerUrls,
            UseWebSocket = settings.UseWebSocket,
            MaxWebSocketMessageMiB = settings.MaxWebSocketMessageMiB,
        };
    }

    /// <summary>Returns the folder libswarmpod keeps its caches in (model lists and feature flags as
    /// <c>models_&lt;endpoint&gt;.json</c>, cold-start and generation times, the job journal): <c>Data/RunPodServerless</c>
    /// below SwarmUI's data folder.</summary>
    /// <remarks>Earlier versions passed <c>Data/RunPodServerless/models_&lt;endpoint&gt;.json</c>, which libswarmpod
    /// made a folder. When that folder exists it is used as before, so its model list and its job journal (jobs a
    /// crash left running, cancelled at the next start) are not lost. libswarmpod accepts only letters, digits, '-'
    /// and '_' in an endpoint id, so the id is safe in a path.</remarks>
    internal static string ModelCachePathFor(string endpointId)
    {
        string folder = Path.GetFullPath(Path.Combine(Program.DataDir, "RunPodServerless"));
        string olderFolder = Path.Combine(folder, $"models_{endpointId?.Trim()}.json");
        if (Directory.Exists(olderFolder))
        {
            return olderFolder;
        }
        Directory.CreateDirectory(folder);
        return folder;
    }

    /// <summary>Returns the key to pass with a call: null when the settings hold one (libswarmpod uses it first),
    /// else the user's <c>runpod_api</c> key.</summary>
    /// <exception cref="SwarmUserErrorException">Neither the settings nor the user hold a key.</exception>
    internal string ResolveApiKey(User user)
    {
        if (!string.IsNullOrWhiteSpace(Settings.RunPodApiKey))
        {
            return null;
        }

        string userKey = user?.GetGenericData(RunPodServerlessExtension.ApiKeyType, "key");
        if (string.IsNullOrWhiteSpace(userKey))
        {
            throw new SwarmUserErrorException(MissingKeyMessage);
        }

        return userKey.Trim();
    }

    /// <summary>Passes one delivered image to SwarmUI at once, with its GPU-seconds so far in the metadata values.</summary>
    /// <remarks>Runs on the generating thread inside libswarmpod's image callback. SwarmUI's takeOutput copies
    /// <c>ExtraMeta</c> into the image's metadata before it returns, so the next image's values cannot reach this one.</remarks>
    private void PassOnImage(T2IParamInput input, SwarmPodImage image, Action<object> takeOutput)
    {
        Image converted = RunPodServerlessOutput.ToImage(image);
        RunPodServerlessOutput.SetCostMetadata(input, image.GpuSeconds, Settings.CostPerGpuSecond);
        takeOutput(converted);
    }

    /// <summary>Logs an init failure, records it in the load status and sets the status to ERRORED.</summary>
    private Task FailInit(string message)
    {
        _lastError = message;
        AddLoadStatus(message);
        Logs.Error($"[RunPodServerless] Backend '{Title}' (id {BackendId}) could not start: {message}");
        Status = BackendStatus.ERRORED;
        return Task.CompletedTask;
    }
}
