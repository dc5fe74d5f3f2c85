using System;
using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using SwarmPod.Native.Interop;

namespace SwarmPod.Native;

/// <summary>One RunPod Serverless endpoint served by libswarmpod: its workers, leases and caches.</summary>
/// <remarks>Thread-safe: several generations may run at once on one instance.</remarks>
public sealed unsafe class SwarmPodBackend : IDisposable
{
    private readonly BackendHandle _handle;

    // The key from the config, masked in exception messages in addition to each call's key.
    private readonly string? _configApiKey;

    // Cancellation handles of the generations in flight, so that Dispose can cancel them.
    private readonly ConcurrentDictionary<GenerationHandle, byte> _activeGenerations = new();

    private int _disposed;

    private SwarmPodBackend(BackendHandle handle, string? configApiKey)
    {
        _handle = handle;
        _configApiKey = configApiKey;
    }

    /// <summary>Version of the loaded libswarmpod as "major.minor.patch".</summary>
    /// <exception cref="DllNotFoundException">libswarmpod could not be located.</exception>
    public static string NativeVersion
    {
        get
        {
            NativeLibraryLoader.EnsureLoaded();
            return Marshal.PtrToStringUTF8(NativeMethods.swarmpod_version_string()) ?? "";
        }
    }

    /// <summary>Version of the loaded libswarmpod encoded as major * 10000 + minor * 100 + patch.</summary>
    public static uint NativeVersionNumber
    {
        get
        {
            NativeLibraryLoader.EnsureLoaded();
            return NativeMethods.swarmpod_version();
        }
    }

    /// <summary>Path or name from which libswarmpod was loaded.</summary>
    public static string NativeLibraryPath
    {
        get
        {
            NativeLibraryLoader.EnsureLoaded();
            return NativeLibraryLoader.LoadedFrom;
        }
    }

    /// <summary>Creates a backend from a config JSON object. Sends nothing to RunPod.</summary>
    /// <param name="configJson">Settings as documented for swarmpod_backend_new, such as
    /// <c>{"EndpointId": "abc123", "MaxConcurrent": 4}</c>.</param>
    /// <exception cref="SwarmPodException">Status <see cref="SwarmPodStatus.InvalidConfig"/> with a message naming the field.</exception>
    public static SwarmPodBackend Create(string configJson)
    {
        ArgumentNullException.ThrowIfNull(configJson);
        RejectNul(configJson, nameof(configJson));
        NativeLibraryLoader.EnsureLoaded();

        string? configApiKey = ReadConfigApiKey(configJson);
        int status = NativeMethods.swarmpod_backend_new(configJson, out BackendHandle handle);
        if (status != 0)
        {
            string detail = Ensure.LastErrorMessage();
            handle.Dispose();
            throw Ensure.Failure(status, detail, [configApiKey], resultJson: null);
        }

        if (handle.IsInvalid)
        {
            throw new SwarmPodException(SwarmPodStatus.Internal, "swarmpod_backend_new returned success without a backend handle.");
        }

        return new SwarmPodBackend(handle, configApiKey);
    }

    /// <summary>Creates a backend from typed settings. Sends nothing to RunPod.</summary>
    /// <exception cref="SwarmPodException">Status <see cref="SwarmPodStatus.InvalidConfig"/> with a message naming the field.</exception>
    public static SwarmPodBackend Create(SwarmPodBackendSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return Create(settings.ToJson());
    }

    /// <summary>Generates the images of one SwarmUI request and blocks until every image is delivered.</summary>
    /// <remarks>
    /// The callbacks run on the calling thread, one at a time, while this method blocks. An exception
    /// thrown by a callback cancels the generation and is rethrown here after the native call returns.
    /// </remarks>
    /// <param name="requestJson">A GenerateText2Image body as SwarmUI's T2IParamInput.ToJSON() makes it.</param>
    /// <param name="apiKey">The user's RunPod key; the backend's RunPodApiKey takes precedence.</param>
    /// <param name="onProgress">Receives progress events, or null.</param>
    /// <param name="onImage">Receives each finished image, or null; images are also returned in the result.</param>
    /// <param name="cancellationToken">Cancels the generation; the library ends the RunPod jobs it started.</param>
    /// <returns>The delivered images and the library's summary.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled; the inner
    /// exception is the library's <see cref="SwarmPodStatus.Cancelled"/> failure when the call had started.</exception>
    /// <exception cref="SwarmPodException">The library reported a failure.</exception>
    public GenerationResult Generate(
        string requestJson,
        string? apiKey = null,
        Action<SwarmPodProgress>? onProgress = null,
        Action<SwarmPodImage>? onImage = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requestJson);
        RejectNul(requestJson, nameof(requestJson));
        RejectNul(apiKey, nameof(apiKey));
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        cancellationToken.ThrowIfCancellationRequested();

        int status = NativeMethods.swarmpod_generation_new(out GenerationHandle generation);
        if (status != 0)
        {
            string detail = Ensure.LastErrorMessage();
            generation.Dispose();
            throw Ensure.Failure(status, detail, secrets: null, resultJson: null);
        }

        using (generation)
        {
            return GenerateWith(generation, requestJson, apiKey, onProgress, onImage, cancellationToken);
        }
    }

    /// <summary>Runs <see cref="Generate"/> on a dedicated thread, so the caller's thread pool is not blocked.</summary>
    /// <remarks>The callbacks run on that dedicated thread. A cancelled token gives a cancelled task.</remarks>
    public Task<GenerationResult> GenerateAsync(
        string requestJson,
        string? apiKey = null,
        Action<SwarmPodProgress>? onProgress = null,
        Action<SwarmPodImage>? onImage = null,
        CancellationToken cancellationToken = default)
    {
        return Task.Factory.StartNew(
            () => Generate(requestJson, apiKey, onProgress, onImage, cancellationToken),
            cancellationToken,
            TaskCreationOptions.LongRunning | TaskCreationOptions.DenyChildAttach,
            TaskScheduler.Default);
    }

    /// <summary>Reads the endpoint's RunPod /health, which starts no job, and returns it with a diagnosis.</summary>
    /// <param name="apiKey">The user's RunPod key; the backend's RunPodApiKey takes precedence.</param>
    /// <returns>The object <c>{"endpoint_id", "jobs", "workers", "diagnosis", "message"}</c>.</returns>
    /// <exception cref="SwarmPodException">The library reported a failure, or the reply is not a JSON object.</exception>
    public JsonObject EndpointHealth(string? apiKey = null)
    {
        string json = EndpointHealthJson(apiKey);
        JsonNode? parsed;
        try
        {
            parsed = JsonNode.Parse(json);
        }
        catch (JsonException ex)
        {
            throw new SwarmPodException(SwarmPodStatus.BadResponse, $"swarmpod_endpoint_health returned invalid JSON: {ex.Message}", json);
        }

        if (parsed is not JsonObject health)
        {
            throw new SwarmPodException(SwarmPodStatus.BadResponse, "swarmpod_endpoint_health returned JSON that is not an object.", json);
        }

        return health;
    }

    /// <summary>Same as <see cref="EndpointHealth"/>, returning the library's JSON text unparsed.</summary>
    public string EndpointHealthJson(string? apiKey = null)
    {
        RejectNul(apiKey, nameof(apiKey));
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

        bool addedReference = false;
        try
        {
            _handle.DangerousAddRef(ref addedReference);
            nint jsonPointer = 0;
            int status = NativeMethods.swarmpod_endpoint_health(_handle.DangerousGetHandle(), apiKey, &jsonPointer);
            string detail = status != 0 ? Ensure.LastErrorMessage() : "";
            string? json = Ensure.TakeOwnedString(jsonPointer);
            if (status != 0)
            {
                throw Ensure.Failure(status, detail, [apiKey, _configApiKey], json);
            }

            return json ?? "{}";
        }
        finally
        {
            if (addedReference)
            {
                _handle.DangerousRelease();
            }
        }
    }

    /// <summary>Lists the models of one SwarmUI model subtype as the library's JSON object
    /// <c>{"subtype", "source", "updated_at", "models": [...]}</c>.</summary>
    /// <param name="subtype">A SwarmUI model subtype such as "Stable-Diffusion" or "LoRA".</param>
    /// <param name="refresh">False returns the cached list and never starts a worker; true reads the list from a
    /// worker, starting one when none is held (this bills GPU time), and updates the cache.</param>
    /// <param name="apiKey">The user's RunPod key, needed only for a refresh; the backend's RunPodApiKey takes precedence.</param>
    /// <exception cref="SwarmPodException">The library reported a failure.</exception>
    /// <exception cref="EntryPointNotFoundException">The loaded libswarmpod predates swarmpod_backend_list_models.</exception>
    public string ListModelsJson(string subtype, bool refresh, string? apiKey = null)
    {
        ArgumentNullException.ThrowIfNull(subtype);
        RejectNul(subtype, nameof(subtype));
        RejectNul(apiKey, nameof(apiKey));
        return CallForJson("swarmpod_backend_list_models", [apiKey, _configApiKey], (backend, output) =>
            NativeMethods.swarmpod_backend_list_models(backend, subtype, refresh ? 1 : 0, apiKey, output));
    }

    /// <summary>Returns the library's status snapshot of this backend as JSON: endpoint, protocol, workers, counts,
    /// model count, GPU-seconds and estimated cost of this session, and the last error. Sends nothing over the network.</summary>
    /// <exception cref="SwarmPodException">The library reported a failure.</exception>
    /// <exception cref="EntryPointNotFoundException">The loaded libswarmpod predates swarmpod_backend_status.</exception>
    public string StatusJson()
    {
        return CallForJson("swarmpod_backend_status", [_configApiKey], (backend, output) => NativeMethods.swarmpod_backend_status(backend, output));
    }

    /// <summary>Returns the SwarmUI feature flags of the endpoint's workers as JSON,
    /// <c>{"features": [...] or null, "updated_at": unix seconds or null}</c>, where "features" is null until a worker of
    /// this endpoint was read. Sends nothing over the network and never starts a worker.</summary>
    /// <exception cref="SwarmPodException">The library reported a failure.</exception>
    /// <exception cref="EntryPointNotFoundException">The loaded libswarmpod predates swarmpod_backend_features.</exception>
    public string FeaturesJson()
    {
        return CallForJson("swarmpod_backend_features", [_configApiKey], (backend, output) => NativeMethods.swarmpod_backend_features(backend, output));
    }

    /// <summary>Releases one held worker now, or when the generation using it ends.</summary>
    /// <exception cref="SwarmPodException">Status <see cref="SwarmPodStatus.NotFound"/> when no held worker has that id.</exception>
    /// <exception cref="EntryPointNotFoundException">The loaded libswarmpod predates swarmpod_backend_stop_worker.</exception>
    public void StopWorker(string workerId)
    {
        ArgumentNullException.ThrowIfNull(workerId);
        RejectNul(workerId, nameof(workerId));
        CallForJson("swarmpod_backend_stop_worker", [_configApiKey], (backend, output) => NativeMethods.swarmpod_backend_stop_worker(backend, workerId));
    }

    private delegate int JsonCall(nint backend, nint* outJson);

    // Holds a handle reference across the call and reads the thread-local error text before releasing it.
    private string CallForJson(string functionName, string?[] secrets, JsonCall call)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        bool addedReference = false;
        try
        {
            _handle.DangerousAddRef(ref addedReference);
            nint jsonPointer = 0;
            int status;
            try
            {
                status = call(_handle.DangerousGetHandle(), &jsonPointer);
            }
            catch (EntryPointNotFoundException ex)
            {
                throw new EntryPointNotFoundException(
                    $"libswarmpod loaded from '{NativeLibraryLoader.LoadedFrom}' has no {functionName} export; it is older than this binding. "
                    + "Rebuild libswarmpod from the same source tree as SwarmPod.Native.",
                    ex);
            }

            string detail = status != 0 ? Ensure.LastErrorMessage() : "";
            string? json = Ensure.TakeOwnedString(jsonPointer);
            if (status != 0)
            {
                throw Ensure.Failure(status, detail, secrets, json);
            }

            return json ?? "{}";
        }
        finally
        {
            if (addedReference)
            {
                _handle.DangerousRelease();
            }
        }
    }

    /// <summary>Cancels the running generations and frees the backend, which ends every RunPod job it started.</summary>
    /// <remarks>Freeing can block for up to about 15 seconds when RunPod does not respond. When generations
    /// are still returning, the last one to return frees the backend on its own thread.</remarks>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        foreach (GenerationHandle generation in _activeGenerations.Keys)
        {
            CancelQuietly(generation);
        }

        _handle.Dispose();
    }

    private GenerationResult GenerateWith(
        GenerationHandle generation,
        string requestJson,
        string? apiKey,
        Action<SwarmPodProgress>? onProgress,
        Action<SwarmPodImage>? onImage,
        CancellationToken cancellationToken)
    {
        GenerationCallContext context = new(onProgress, onImage);
        GCHandle contextHandle = GCHandle.Alloc(context);
        bool addedReference = false;
        _activeGenerations.TryAdd(generation, 0);
        try
        {
            // Throws ObjectDisposedException when Dispose won the race; afterwards the handle stays valid until released.
            _handle.DangerousAddRef(ref addedReference);
            if (Volatile.Read(ref _disposed) != 0)
            {
                // Dispose ran after the registration above, so its cancel loop may have missed this generation.
                CancelQuietly(generation);
            }

            int status;
            string detail;
            string? resultJson;
            using (CancellationTokenRegistration registration = cancellationToken.UnsafeRegister(
                static state => CancelQuietly((GenerationHandle)state!), generation))
            {
                NativeCallbacks callbacks = new()
                {
                    StructSize = (uint)sizeof(NativeCallbacks),
                    OnProgress = onProgress is null ? null : &CallbackBridge.OnProgress,
                    OnImage = &CallbackBridge.OnImage,
                    UserData = GCHandle.ToIntPtr(contextHandle),
                };
                nint resultPointer = 0;
                status = NativeMethods.swarmpod_generate(
                    _handle.DangerousGetHandle(), requestJson, apiKey, generation.DangerousGetHandle(), &callbacks, &resultPointer);
                detail = status != 0 ? Ensure.LastErrorMessage() : "";
                resultJson = Ensure.TakeOwnedString(resultPointer);
            }

            // A callback exception caused the cancellation, so it is the error the caller needs to see.
            context.Failure?.Throw();

            string?[] secrets = [apiKey, _configApiKey];
            if (status == (int)SwarmPodStatus.Cancelled && cancellationToken.IsCancellationRequested)
            {
                SwarmPodException cancelled = Ensure.Failure(status, detail, secrets, resultJson);
                throw new OperationCanceledException("The generation was cancelled through its CancellationToken.", cancelled, cancellationToken);
            }

            if (status != 0)
            {
                throw Ensure.Failure(status, detail, secrets, resultJson);
            }

            return new GenerationResult { Images = context.Images, SummaryJson = resultJson ?? "" };
        }
        finally
        {
            if (addedReference)
            {
                _handle.DangerousRelease();
            }

            _activeGenerations.TryRemove(generation, out _);
            contextHandle.Free();
        }
    }

    private static void CancelQuietly(GenerationHandle generation)
    {
        try
        {
            NativeMethods.swarmpod_generation_cancel(generation);
        }
        catch (ObjectDisposedException)
        {
            // The generation already returned and freed its handle, so there is nothing left to cancel.
        }
    }

    private static void RejectNul(string? value, string parameterName)
    {
        int index = value?.IndexOf('\0') ?? -1;
        if (index >= 0)
        {
            throw new ArgumentException(
                $"{parameterName} contains a NUL character at index {index}; libswarmpod reads C strings, which end at the first NUL. Remove the character.",
                parameterName);
        }
    }

    private static string? ReadConfigApiKey(string configJson)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(configJson);
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("RunPodApiKey", out JsonElement key)
                && key.ValueKind == JsonValueKind.String)
            {
                return key.GetString();
            }
        }
        catch (JsonException)
        {
            // swarmpod_backend_new reports the malformed JSON with a better message.
        }

        return null;
    }
}
