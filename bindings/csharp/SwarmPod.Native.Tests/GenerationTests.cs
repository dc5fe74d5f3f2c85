using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using Xunit;

namespace SwarmPod.Native.Tests;

[Collection("emulator")]
public sealed class GenerationTests(EmulatorFixture fixture)
{
    private const string Request =
        "{\"prompt\": \"a lighthouse on a cliff\", \"model\": \"OfficialStableDiffusion/sd_xl_base_1.0\", "
        + "\"width\": 256, \"height\": 192, \"steps\": 4, \"seed\": 7, \"images\": 1}";

    private static readonly TimeSpan LedgerTimeout = TimeSpan.FromSeconds(5);

    private EmulatorProcess Emulator => fixture.Emulator;

    [Fact]
    public void Generate_OneImage_ReturnsPng256x192()
    {
        using SwarmPodBackend backend = SwarmPodBackend.Create(Emulator.ConfigJson());
        List<SwarmPodImage> delivered = [];

        GenerationResult result = backend.Generate(Request, Emulator.ApiKey, onImage: delivered.Add);

        SwarmPodImage image = Assert.Single(result.Images);
        Assert.Same(image, Assert.Single(delivered));
        Assert.Equal("image/png", image.Mime);
        Assert.Equal(0, image.BatchIndex);
        Assert.True(Png.HasSignature(image.Data), "image data does not start with the PNG signature");
        (int width, int height) = Png.ReadSize(image.Data);
        Assert.Equal(256, width);
        Assert.Equal(192, height);
        Assert.Equal(256, image.Width);
        Assert.Equal(192, image.Height);
        Assert.NotNull(result.Summary);
    }

    [Fact]
    public void Generate_ImageCarriesGpuSeconds()
    {
        using SwarmPodBackend backend = SwarmPodBackend.Create(Emulator.ConfigJson());

        GenerationResult result = backend.Generate(Request, Emulator.ApiKey);

        SwarmPodImage image = Assert.Single(result.Images);
        Assert.NotNull(image.GpuSeconds);
        Assert.True(image.GpuSeconds > 0, $"GPU-seconds {image.GpuSeconds}");
        double total = JsonNode.Parse(result.SummaryJson)!["gpu_seconds"]!.GetValue<double>();
        Assert.True(image.GpuSeconds <= total, $"image GPU-seconds {image.GpuSeconds} above the summary's {total}");
    }

    [Fact]
    public void FeaturesJson_WorkerFlagsAfterGeneration()
    {
        using EmulatorProcess emulator = new(endpointId: $"features-{Guid.NewGuid():N}");
        using SwarmPodBackend backend = SwarmPodBackend.Create(emulator.ConfigJson());
        Assert.Null(JsonNode.Parse(backend.FeaturesJson())!["features"]);

        backend.Generate(Request, emulator.ApiKey);

        JsonArray features = JsonNode.Parse(backend.FeaturesJson())!["features"]!.AsArray();
        Assert.Contains(features, flag => flag!.GetValue<string>() == "comfyui");
    }

    [Fact]
    public void Generate_KeyInConfig_Succeeds()
    {
        using SwarmPodBackend backend = SwarmPodBackend.Create(Emulator.ConfigJson(withKey: true));

        GenerationResult result = backend.Generate(Request);

        Assert.Single(result.Images);
    }

    [Fact]
    public void Generate_Progress_PhasesRiseToDone()
    {
        using SwarmPodBackend backend = SwarmPodBackend.Create(Emulator.ConfigJson());
        List<SwarmPodProgress> events = [];
        int callingThread = Environment.CurrentManagedThreadId;
        List<int> callbackThreads = [];

        backend.Generate(Request, Emulator.ApiKey, onProgress: progress =>
        {
            events.Add(progress);
            callbackThreads.Add(Environment.CurrentManagedThreadId);
        });

        Assert.NotEmpty(events);
        for (int i = 1; i < events.Count; i++)
        {
            Assert.True(events[i].Phase >= events[i - 1].Phase, $"phase went from {events[i - 1].Phase} to {events[i].Phase} at event {i}");
        }

        Assert.Equal(SwarmPodPhase.Done, events[^1].Phase);
        Assert.All(callbackThreads, thread => Assert.Equal(callingThread, thread));
        Assert.All(events, progress => Assert.IsType<JsonObject>(JsonNode.Parse(progress.Json)));
        Assert.All(events, progress => Assert.True(progress.OverallPercent is null or (>= 0 and <= 1), $"overall percent {progress.OverallPercent}"));
    }

    [Fact]
    public void Generate_WrongKey_ThrowsAuthWithoutKey()
    {
        using SwarmPodBackend backend = SwarmPodBackend.Create(Emulator.ConfigJson());
        string wrongKey = $"sp-wrong-{Guid.NewGuid():N}";

        SwarmPodException error = Assert.Throws<SwarmPodException>(() => backend.Generate(Request, wrongKey));

        Assert.Equal(SwarmPodStatus.Auth, error.Status);
        Assert.DoesNotContain(wrongKey, error.Message);
        Assert.DoesNotContain(wrongKey, error.ResultJson ?? "");
    }

    [Fact]
    public void Generate_NoKey_ThrowsNoApiKey()
    {
        using SwarmPodBackend backend = SwarmPodBackend.Create(Emulator.ConfigJson());

        SwarmPodException error = Assert.Throws<SwarmPodException>(() => backend.Generate(Request));

        Assert.Equal(SwarmPodStatus.NoApiKey, error.Status);
    }

    [Fact]
    public void Generate_InvalidRequestJson_ThrowsInvalidArgument()
    {
        using SwarmPodBackend backend = SwarmPodBackend.Create(Emulator.ConfigJson());

        SwarmPodException error = Assert.Throws<SwarmPodException>(() => backend.Generate("{\"prompt\": ", Emulator.ApiKey));

        Assert.Equal(SwarmPodStatus.InvalidArgument, error.Status);
    }

    [Fact]
    public void Generate_CancelFromProgress_ThrowsAndEndsJobs()
    {
        using SwarmPodBackend backend = SwarmPodBackend.Create(Emulator.ConfigJson());
        using CancellationTokenSource cancellation = new();
        List<SwarmPodImage> images = [];

        // The first progress event arrives while the worker is still being requested, so the cancel lands mid-call.
        OperationCanceledException error = Assert.ThrowsAny<OperationCanceledException>(() => backend.Generate(
            Request, Emulator.ApiKey, onProgress: progress => cancellation.Cancel(), onImage: images.Add, cancellationToken: cancellation.Token));

        Assert.Equal(cancellation.Token, error.CancellationToken);
        SwarmPodException inner = Assert.IsType<SwarmPodException>(error.InnerException);
        Assert.Equal(SwarmPodStatus.Cancelled, inner.Status);
        Assert.Empty(images);
        Assert.Equal(0, Emulator.WaitForNoRunningJobs(LedgerTimeout));
    }

    [Fact]
    public void Generate_AlreadyCancelled_ThrowsBeforeCall()
    {
        using SwarmPodBackend backend = SwarmPodBackend.Create(Emulator.ConfigJson());
        using CancellationTokenSource cancellation = new();
        cancellation.Cancel();
        bool progressSeen = false;

        Assert.ThrowsAny<OperationCanceledException>(
            () => backend.Generate(Request, Emulator.ApiKey, onProgress: progress => progressSeen = true, cancellationToken: cancellation.Token));

        Assert.False(progressSeen);
    }

    [Fact]
    public void Generate_ImageCallbackThrows_RethrowsSameException()
    {
        using SwarmPodBackend backend = SwarmPodBackend.Create(Emulator.ConfigJson());
        InvalidTimeZoneException thrown = new("thrown by the image callback");

        InvalidTimeZoneException caught = Assert.Throws<InvalidTimeZoneException>(
            () => backend.Generate(Request, Emulator.ApiKey, onImage: image => throw thrown));

        Assert.Same(thrown, caught);
        Assert.Contains(nameof(Generate_ImageCallbackThrows_RethrowsSameException), caught.StackTrace);
        Assert.Equal(0, Emulator.WaitForNoRunningJobs(LedgerTimeout));
    }

    [Fact]
    public void Generate_ProgressCallbackThrows_RethrowsAndEndsJobs()
    {
        using SwarmPodBackend backend = SwarmPodBackend.Create(Emulator.ConfigJson());
        int calls = 0;

        FormatException caught = Assert.Throws<FormatException>(() => backend.Generate(
            Request, Emulator.ApiKey, onProgress: progress =>
            {
                calls++;
                throw new FormatException("thrown by the progress callback");
            }));

        Assert.Equal("thrown by the progress callback", caught.Message);
        Assert.Equal(1, calls);
        Assert.Equal(0, Emulator.WaitForNoRunningJobs(LedgerTimeout));
    }

    [Fact]
    public async Task GenerateAsync_RunsOnOtherThread()
    {
        using SwarmPodBackend backend = SwarmPodBackend.Create(Emulator.ConfigJson());
        int callerThread = Environment.CurrentManagedThreadId;
        ConcurrentBag<int> imageThreads = [];

        GenerationResult result = await backend.GenerateAsync(
            Request, Emulator.ApiKey, onImage: image => imageThreads.Add(Environment.CurrentManagedThreadId));

        Assert.Single(result.Images);
        Assert.DoesNotContain(callerThread, imageThreads);
    }

    [Fact]
    public void Generate_TwiceOnOneBackend_BothSucceed()
    {
        using SwarmPodBackend backend = SwarmPodBackend.Create(Emulator.ConfigJson());

        GenerationResult first = backend.Generate(Request, Emulator.ApiKey);
        GenerationResult second = backend.Generate(Request, Emulator.ApiKey);

        Assert.Single(first.Images);
        Assert.Single(second.Images);
    }

    [Fact]
    public void Generate_NulInRequest_ThrowsArgumentException()
    {
        using SwarmPodBackend backend = SwarmPodBackend.Create(Emulator.ConfigJson());

        ArgumentException error = Assert.Throws<ArgumentException>(() => backend.Generate("{\"prompt\": \"a\0\"}", Emulator.ApiKey));

        Assert.Equal("requestJson", error.ParamName);
    }

    [Fact]
    public void EndpointHealth_ReturnsDiagnosis()
    {
        using SwarmPodBackend backend = SwarmPodBackend.Create(Emulator.ConfigJson());

        JsonObject health = backend.EndpointHealth(Emulator.ApiKey);

        Assert.Equal(Emulator.EndpointId, health["endpoint_id"]?.GetValue<string>());
        string? diagnosis = health["diagnosis"]?.GetValue<string>();
        Assert.Contains(diagnosis, new[] { "ready", "no_workers", "initializing", "throttled", "unhealthy", "busy" });
    }

    [Fact]
    public void EndpointHealth_WrongKey_ThrowsAuth()
    {
        using SwarmPodBackend backend = SwarmPodBackend.Create(Emulator.ConfigJson());
        string wrongKey = $"sp-wrong-{Guid.NewGuid():N}";

        SwarmPodException error = Assert.Throws<SwarmPodException>(() => backend.EndpointHealth(wrongKey));

        Assert.Equal(SwarmPodStatus.Auth, error.Status);
        Assert.DoesNotContain(wrongKey, error.Message);
    }

    [Fact]
    public void Dispose_DuringGeneration_CancelsIt()
    {
        SwarmPodBackend backend = SwarmPodBackend.Create(Emulator.ConfigJson());
        using ManualResetEventSlim started = new();
        Task<GenerationResult> run = backend.GenerateAsync(Request, Emulator.ApiKey, onProgress: progress => started.Set());
        Assert.True(started.Wait(TimeSpan.FromSeconds(10)), "no progress event within 10 s");

        backend.Dispose();
        AggregateException error = Assert.Throws<AggregateException>(() => run.Wait(TimeSpan.FromSeconds(20)));

        SwarmPodException inner = Assert.IsType<SwarmPodException>(error.InnerException);
        Assert.True(
            inner.Status is SwarmPodStatus.Cancelled or SwarmPodStatus.ShuttingDown,
            $"status {inner.Status}: {inner.Message}");
        Assert.Equal(0, Emulator.WaitForNoRunningJobs(LedgerTimeout));
    }
}
