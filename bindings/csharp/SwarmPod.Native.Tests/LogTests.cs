using System;
using System.Collections.Concurrent;
using Xunit;

namespace SwarmPod.Native.Tests;

[Collection("emulator")]
public sealed class LogTests(EmulatorFixture fixture)
{
    [Fact]
    public void LogCallback_ReceivesLines_WithoutKey()
    {
        EmulatorProcess emulator = fixture.Emulator;
        ConcurrentQueue<(SwarmPodLogLevel Level, string Line)> lines = new();
        string wrongKey = $"sp-wrong-{Guid.NewGuid():N}";

        SwarmPodLog.SetCallback((level, line) => lines.Enqueue((level, line)), SwarmPodLogLevel.Trace);
        try
        {
            using SwarmPodBackend backend = SwarmPodBackend.Create(emulator.ConfigJson());
            backend.Generate("{\"prompt\": \"log test\", \"width\": 64, \"height\": 64}", emulator.ApiKey);
            Assert.Throws<SwarmPodException>(() => backend.Generate("{\"prompt\": \"log test\"}", wrongKey));
        }
        finally
        {
            SwarmPodLog.SetCallback(null);
        }

        Assert.NotEmpty(lines);
        Assert.All(lines, entry => Assert.True(Enum.IsDefined(entry.Level), $"undefined level {(int)entry.Level}"));
        Assert.DoesNotContain(lines, entry => entry.Line.Contains(emulator.ApiKey, StringComparison.Ordinal));
        Assert.DoesNotContain(lines, entry => entry.Line.Contains(wrongKey, StringComparison.Ordinal));
    }

    [Fact]
    public void LogCallback_MinimumLevel_FiltersLines()
    {
        EmulatorProcess emulator = fixture.Emulator;
        ConcurrentQueue<SwarmPodLogLevel> levels = new();

        SwarmPodLog.SetCallback((level, line) => levels.Enqueue(level), SwarmPodLogLevel.Warn);
        try
        {
            using SwarmPodBackend backend = SwarmPodBackend.Create(emulator.ConfigJson());
            backend.Generate("{\"prompt\": \"log test\", \"width\": 64, \"height\": 64}", emulator.ApiKey);
        }
        finally
        {
            SwarmPodLog.SetCallback(null);
        }

        Assert.DoesNotContain(levels, level => level < SwarmPodLogLevel.Warn);
    }

    [Fact]
    public void LogCallback_Throwing_DoesNotBreakGeneration()
    {
        EmulatorProcess emulator = fixture.Emulator;
        long failuresBefore = SwarmPodLog.CallbackFailureCount;

        SwarmPodLog.SetCallback((level, line) => throw new InvalidOperationException("thrown by the log callback"), SwarmPodLogLevel.Trace);
        GenerationResult result;
        try
        {
            using SwarmPodBackend backend = SwarmPodBackend.Create(emulator.ConfigJson());
            result = backend.Generate("{\"prompt\": \"log test\", \"width\": 64, \"height\": 64}", emulator.ApiKey);
        }
        finally
        {
            SwarmPodLog.SetCallback(null);
        }

        Assert.Single(result.Images);
        Assert.True(SwarmPodLog.CallbackFailureCount > failuresBefore, "the throwing callback was never called");
    }
}
