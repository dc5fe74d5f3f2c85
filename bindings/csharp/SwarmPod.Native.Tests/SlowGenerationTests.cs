using System;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Xunit;

namespace SwarmPod.Native.Tests;

/// <summary>Tests that need an emulator of their own, with other timings or another worker protocol.</summary>
public sealed class SlowGenerationTests
{
    [Fact]
    public async Task Generate_Concurrent_AllSucceed()
    {
        // A v1 keepalive job can land on any worker, so the endpoint is capped at one worker.
        using EmulatorProcess emulator = new(protocol: "v1", maxWorkers: 1);
        using SwarmPodBackend backend = SwarmPodBackend.Create(emulator.ConfigJson());
        string request = "{\"prompt\": \"parallel\", \"width\": 64, \"height\": 64}";

        Task<GenerationResult>[] runs = [.. Enumerable.Range(0, 3).Select(i => backend.GenerateAsync(request, emulator.ApiKey))];
        GenerationResult[] results = await Task.WhenAll(runs);

        Assert.All(results, result => Assert.Single(result.Images));
        Assert.Equal(0, emulator.WaitForNoRunningJobs(TimeSpan.FromSeconds(20)));
    }

    [Fact]
    public async Task Cancel_WhileGenerating_ReturnsWithinOneSecond()
    {
        using EmulatorProcess emulator = new(coldStartMs: 200, generationMs: 20000, idleTimeoutMs: 1000);
        using SwarmPodBackend backend = SwarmPodBackend.Create(emulator.ConfigJson());
        using CancellationTokenSource cancellation = new();
        using ManualResetEventSlim generating = new();

        Task<GenerationResult> run = backend.GenerateAsync(
            "{\"prompt\": \"slow\", \"width\": 64, \"height\": 64}",
            emulator.ApiKey,
            onProgress: progress =>
            {
                if (progress.Phase == SwarmPodPhase.Generating)
                {
                    generating.Set();
                }
            },
            cancellationToken: cancellation.Token);
        Assert.True(generating.Wait(TimeSpan.FromSeconds(15)), $"no Generating phase within 15 s; emulator stderr: {emulator.StandardError}");

        Stopwatch clock = Stopwatch.StartNew();
        cancellation.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1.5), $"generate returned {clock.Elapsed.TotalSeconds:F2} s after the cancel");
        Assert.True(run.IsCanceled, $"task status {run.Status}");
        Assert.Equal(0, emulator.WaitForNoRunningJobs(TimeSpan.FromSeconds(5)));
    }
}
