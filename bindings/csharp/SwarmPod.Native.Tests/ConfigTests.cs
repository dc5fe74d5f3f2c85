using System;
using Xunit;

namespace SwarmPod.Native.Tests;

public sealed class ConfigTests
{
    [Fact]
    public void Create_EmptyEndpointId_ThrowsInvalidConfig()
    {
        SwarmPodException error = Assert.Throws<SwarmPodException>(() => SwarmPodBackend.Create("{\"EndpointId\": \"\"}"));

        Assert.Equal(SwarmPodStatus.InvalidConfig, error.Status);
        Assert.Contains("EndpointId", error.Message);
    }

    [Fact]
    public void Create_UnknownField_NamesField()
    {
        SwarmPodException error = Assert.Throws<SwarmPodException>(
            () => SwarmPodBackend.Create("{\"EndpointId\": \"abc\", \"MaxConcurent\": 3}"));

        Assert.Equal(SwarmPodStatus.InvalidConfig, error.Status);
        Assert.Contains("MaxConcurent", error.Message);
    }

    [Fact]
    public void Create_MalformedJson_ThrowsInvalidConfig()
    {
        SwarmPodException error = Assert.Throws<SwarmPodException>(() => SwarmPodBackend.Create("{\"EndpointId\": "));

        Assert.Equal(SwarmPodStatus.InvalidConfig, error.Status);
    }

    [Fact]
    public void Create_KeyInInvalidConfig_NotInMessage()
    {
        string key = $"rpa_secret_{Guid.NewGuid():N}";

        SwarmPodException error = Assert.Throws<SwarmPodException>(
            () => SwarmPodBackend.Create($"{{\"EndpointId\": \"abc\", \"RunPodApiKey\": \"{key}\", \"PollIntervalMs\": -5}}"));

        Assert.Equal(SwarmPodStatus.InvalidConfig, error.Status);
        Assert.Contains("PollIntervalMs", error.Message);
        Assert.DoesNotContain(key, error.Message);
    }

    [Fact]
    public void Create_NulCharacter_ThrowsArgumentException()
    {
        ArgumentException error = Assert.Throws<ArgumentException>(() => SwarmPodBackend.Create("{\"EndpointId\": \"a\0b\"}"));

        Assert.Equal("configJson", error.ParamName);
        Assert.Contains("NUL", error.Message);
    }

    [Fact]
    public void Create_Null_ThrowsArgumentNullException()
    {
        Assert.Throws<ArgumentNullException>(() => SwarmPodBackend.Create((string)null!));
    }

    [Fact]
    public void Create_ValidSettings_Succeeds()
    {
        SwarmPodBackendSettings settings = new()
        {
            EndpointId = "abc123",
            MaxConcurrent = 2,
            WorkerProtocol = "v2",
            CostPerGpuSecond = 0.00044,
        };

        using SwarmPodBackend backend = SwarmPodBackend.Create(settings);

        Assert.NotNull(backend);
    }

    [Fact]
    public void Settings_ToJson_WritesOnlySetFields()
    {
        SwarmPodBackendSettings settings = new() { EndpointId = "abc", UseWebSocket = false, KeepWarmSec = 30 };

        Assert.Equal("{\"EndpointId\":\"abc\",\"KeepWarmSec\":30,\"UseWebSocket\":false}", settings.ToJson());
    }

    [Fact]
    public void Create_MaxWebSocketMessageMiB_Accepted()
    {
        SwarmPodBackendSettings settings = new() { EndpointId = "abc", MaxWebSocketMessageMiB = 512 };

        using SwarmPodBackend backend = SwarmPodBackend.Create(settings);

        Assert.Contains("\"MaxWebSocketMessageMiB\":512", settings.ToJson());
    }

    [Fact]
    public void Create_MaxWebSocketMessageMiBOutOfRange_ThrowsInvalidConfig()
    {
        SwarmPodBackendSettings settings = new() { EndpointId = "abc", MaxWebSocketMessageMiB = 0 };

        SwarmPodException error = Assert.Throws<SwarmPodException>(() => SwarmPodBackend.Create(settings));

        Assert.Equal(SwarmPodStatus.InvalidConfig, error.Status);
        Assert.Contains("MaxWebSocketMessageMiB", error.Message);
    }

    [Fact]
    public void Settings_NonFiniteCost_Throws()
    {
        SwarmPodBackendSettings settings = new() { EndpointId = "abc", CostPerGpuSecond = double.NaN };

        ArgumentException error = Assert.Throws<ArgumentException>(() => settings.ToJson());

        Assert.Contains("CostPerGpuSecond", error.Message);
    }

    [Fact]
    public void Backend_DisposeTwice_IsSafe()
    {
        SwarmPodBackend backend = SwarmPodBackend.Create("{\"EndpointId\": \"abc\"}");

        backend.Dispose();
        backend.Dispose();

        Assert.Throws<ObjectDisposedException>(() => backend.Generate("{}"));
    }
}
