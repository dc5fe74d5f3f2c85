using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using Newtonsoft.Json.Linq;
using SwarmPod.Native.Tests;
using SwarmUI.Accounts;
using SwarmUI.Backends;
using SwarmUI.Core;
using SwarmUI.Media;
using SwarmUI.Text2Image;
using SwarmUI.Utils;
using SwarmUI.WebAPI;
using Xunit;
using Image = SwarmUI.Utils.Image;
using RunPodSettings = SwarmPod.SwarmUIExtension.RunPodServerlessBackend.RunPodServerlessSettings;

namespace SwarmPod.SwarmUIExtension.Tests;

/// <summary>Runs the extension's OnInit once per process, as SwarmUI does; its registrations reject duplicates.</summary>
internal static class ExtensionHost
{
    private static readonly Lazy<RunPodServerlessExtension> Instance = new(() =>
    {
        Program.Backends = new BackendHandler();
        Program.DataDir = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"swarmpod-ext-tests-{Guid.NewGuid():N}");
        RunPodServerlessExtension extension = new() { FilePath = AppContext.BaseDirectory, ExtensionName = "SwarmPod" };
        extension.OnInit();
        return extension;
    });

    public static RunPodServerlessExtension Extension => Instance.Value;
}

public sealed class RegistrationTests
{
    [Fact]
    public void OnInit_RegistersBackendType()
    {
        _ = ExtensionHost.Extension;

        BackendHandler.BackendType type = Program.Backends.BackendTypes["runpod_serverless"];
        Assert.Equal("RunPod Serverless", type.Name);
        Assert.Equal(typeof(RunPodServerlessBackend), type.BackendClass);
        Assert.Equal(typeof(RunPodSettings), type.SettingsClass);
        Assert.True(type.CanLoadFast);
        Assert.False(type.IsStandard);
    }

    [Fact]
    public void OnInit_RegistersApiKeyType()
    {
        _ = ExtensionHost.Extension;

        UserUpstreamApiKeys.ApiKeyInfo info = UserUpstreamApiKeys.KeysByType["runpod_api"];
        Assert.Equal("RunPod", info.Title);
        Assert.Contains("runpod_api", BasicAPIFeatures.AcceptedAPIKeyTypes);
    }

    [Fact]
    public void OnInit_RegistersPermissionForPowerUsers()
    {
        _ = ExtensionHost.Extension;

        PermInfo permission = Permissions.Registered["use_runpod_serverless"];
        Assert.Equal(PermissionDefault.POWERUSERS, permission.Default);
        Assert.Same(RunPodServerlessExtension.PermUseRunPodServerless, permission);
    }

    [Fact]
    public void Settings_DefaultsAndOrder()
    {
        RunPodSettings settings = new();

        Assert.Equal("", settings.EndpointId);
        Assert.True(settings.UseAsync);
        Assert.Equal(10, settings.MaxConcurrent);
        Assert.Equal(2000, settings.PollIntervalMs);
        Assert.Equal(120, settings.StartupTimeoutSec);
        Assert.Equal(300, settings.GenerationTimeoutSec);
        Assert.Equal("", settings.RunPodApiKey);
        Assert.False(settings.AutoRefresh);
        Assert.False(settings.AllowInsecureWorkerUrls);
        Assert.True(settings.UseWebSocket);
        string[] expectedOrder =
        [
            "EndpointId", "UseAsync", "MaxConcurrent", "PollIntervalMs", "StartupTimeoutSec", "GenerationTimeoutSec", "RunPodApiKey",
            "AutoRefresh", "KeepWarmSec", "WorkerProtocol", "CostPerGpuSecond", "ApiBaseUrl", "AllowInsecureWorkerUrls", "UseWebSocket",
            "MaxWebSocketMessageMiB",
        ];
        Assert.Equal(expectedOrder, typeof(RunPodSettings).GetFields().OrderBy(field => field.MetadataToken).Select(field => field.Name));
    }

    [Fact]
    public void Settings_ApiKeyIsSecret()
    {
        FieldInfo? field = typeof(RunPodSettings).GetField(nameof(RunPodSettings.RunPodApiKey));

        Assert.NotNull(field!.GetCustomAttribute<ValueIsSecretAttribute>());
    }

    [Fact]
    public void Settings_EveryFieldHasComment()
    {
        foreach (FieldInfo field in typeof(RunPodSettings).GetFields())
        {
            Assert.True(field.GetCustomAttribute<FreneticUtilities.FreneticDataSyntax.AutoConfiguration.ConfigComment>() is not null, $"{field.Name} has no ConfigComment");
        }
    }

    [Fact]
    public void BuildRequest_ImagesOneBatchSizeKept()
    {
        T2IParamInput input = new(null);
        input.RawValues["prompt"] = "a lighthouse";
        input.RawValues["width"] = 256;
        input.RawValues["images"] = 4;
        input.RawValues["batchsize"] = 3;

        JObject request = RunPodServerlessBackend.BuildRequest(input);

        Assert.Equal(1, (int)request["images"]!);
        Assert.Equal(3, (int)request["batchsize"]!);
        Assert.Equal("a lighthouse", (string?)request["prompt"]);
        Assert.Equal(256, (int)request["width"]!);
        Assert.Equal(4, (int)input.RawValues["images"]!);
    }

    [Fact]
    public void ToNativeSettings_MapsEveryField()
    {
        RunPodSettings settings = new()
        {
            EndpointId = " abc123 ",
            RunPodApiKey = "",
            KeepWarmSec = 45,
            WorkerProtocol = "v2",
            CostPerGpuSecond = 0.0004,
            UseWebSocket = false,
            MaxWebSocketMessageMiB = 300,
        };

        JsonObject json = JsonNode.Parse(RunPodServerlessBackend.ToNativeSettings(settings).ToJson())!.AsObject();

        Assert.Equal("abc123", (string?)json["EndpointId"]);
        Assert.False(json.ContainsKey("RunPodApiKey"));
        Assert.Equal(45, (int)json["KeepWarmSec"]!);
        Assert.Equal("v2", (string?)json["WorkerProtocol"]);
        Assert.Equal(0.0004, (double)json["CostPerGpuSecond"]!);
        Assert.False((bool)json["UseWebSocket"]!);
        Assert.Equal(10, (int)json["MaxConcurrent"]!);
        Assert.Equal("https://api.runpod.ai/v2", (string?)json["ApiBaseUrl"]);
        Assert.Equal(300, (int)json["MaxWebSocketMessageMiB"]!);
        Assert.Equal(15 - 1, json.Count);
    }

    [Fact]
    public void ToGenProgress_HasSwarmFields()
    {
        SwarmPod.Native.SwarmPodProgress progress = new()
        {
            Phase = SwarmPod.Native.SwarmPodPhase.Generating,
            BatchIndex = 0,
            Elapsed = TimeSpan.FromSeconds(3),
            EstimatedRemaining = null,
            OverallPercent = 0.5,
            CurrentPercent = null,
            WorkerId = "w1",
            Message = "Generating",
            Preview = [1, 2, 3],
            PreviewMime = "image/jpeg",
            Json = "{}",
        };

        JObject output = RunPodServerlessOutput.ToGenProgress(progress, "2", "17");

        Assert.Equal("2", (string?)output["batch_index"]);
        Assert.Equal("17", (string?)output["request_id"]);
        Assert.Equal(0.5, (double)output["overall_percent"]!);
        Assert.Equal(0.0, (double)output["current_percent"]!);
        Assert.Equal("data:image/jpeg;base64,AQID", (string?)output["preview"]);
    }

    [Fact]
    public void ToImage_UnknownMime_ThrowsReadable()
    {
        SwarmPod.Native.SwarmPodImage image = new()
        {
            BatchIndex = 0,
            Data = [1],
            Mime = "image/x-unknown",
            Width = 1,
            Height = 1,
            Channels = 3,
            Metadata = null,
        };

        SwarmReadableErrorException error = Assert.Throws<SwarmReadableErrorException>(() => RunPodServerlessOutput.ToImage(image));

        Assert.Contains("image/x-unknown", error.Message);
    }
}

[Xunit.Collection("emulator")]
public sealed class BackendTests(EmulatorFixture fixture)
{
    private EmulatorProcess Emulator => fixture.Emulator;

    private RunPodServerlessBackend NewBackend(string? endpointId = null, string settingsKey = "")
    {
        _ = ExtensionHost.Extension;
        RunPodSettings settings = new()
        {
            EndpointId = endpointId ?? Emulator.EndpointId,
            ApiBaseUrl = Emulator.ApiBaseUrl,
            AllowInsecureWorkerUrls = true,
            StartupTimeoutSec = 30,
            RunPodApiKey = settingsKey,
        };
        return new RunPodServerlessBackend { SettingsRaw = settings, Title = "RunPod test" };
    }

    private static T2IParamInput NewInput(User? user, long requestId = 5)
    {
        T2IParamInput input = new(user is null ? null : new Session(user)) { UserRequestId = requestId };
        input.RawValues["prompt"] = "a lighthouse";
        input.RawValues["model"] = "OfficialStableDiffusion/sd_xl_base_1.0";
        input.RawValues["width"] = 256;
        input.RawValues["height"] = 192;
        input.RawValues["images"] = 1;
        input.RawValues["exactbackendid"] = "3";
        input.RawValues["internalbackendtype"] = "runpod_serverless";
        return input;
    }

    private User UserWithKey(string? key, params string[] permissions)
    {
        User user = new($"user-{Guid.NewGuid():N}", permissions.Length == 0 ? ["use_runpod_serverless"] : permissions);
        if (key is not null)
        {
            user.SaveGenericData("runpod_api", "key", key);
        }

        return user;
    }

    [Fact]
    public async Task Init_ValidSettings_Running()
    {
        RunPodServerlessBackend backend = NewBackend();

        await backend.Init();
        try
        {
            Assert.Equal(BackendStatus.RUNNING, backend.Status);
            Assert.Equal(10, backend.MaxUsages);
        }
        finally
        {
            await backend.Shutdown();
        }

        Assert.Equal(BackendStatus.DISABLED, backend.Status);
    }

    [Fact]
    public async Task Init_EmptyEndpoint_ErroredNamingField()
    {
        RunPodServerlessBackend backend = NewBackend(endpointId: "");

        await backend.Init();

        Assert.Equal(BackendStatus.ERRORED, backend.Status);
        Assert.Contains(backend.LoadStatusReport, status => status.Message.Contains("EndpointId"));
    }

    [Fact]
    public async Task Init_WakesNoWorker()
    {
        using EmulatorProcess emulator = new();
        _ = ExtensionHost.Extension;
        RunPodServerlessBackend backend = new()
        {
            SettingsRaw = new RunPodSettings { EndpointId = emulator.EndpointId, ApiBaseUrl = emulator.ApiBaseUrl, AllowInsecureWorkerUrls = true },
        };

        await backend.Init();
        await backend.Shutdown();

        using System.Text.Json.JsonDocument ledger = emulator.Ledger();
        Assert.Equal(0, ledger.RootElement.GetProperty("jobs").GetArrayLength());
        Assert.Equal(0, ledger.RootElement.GetProperty("workers").GetArrayLength());
    }

    [Fact]
    public async Task GenerateLive_UserKey_ImageAndProgress()
    {
        RunPodServerlessBackend backend = NewBackend();
        await backend.Init();
        List<object> outputs = [];
        try
        {
            await backend.GenerateLive(NewInput(UserWithKey(Emulator.ApiKey)), "4", output =>
            {
                lock (outputs)
                {
                    outputs.Add(output);
                }
            });
        }
        finally
        {
            await backend.Shutdown();
        }

        Image image = Assert.Single(outputs.OfType<Image>());
        Assert.Same(MediaType.ImagePng, image.Type);
        (int width, int height) = Png.ReadSize(image.RawData);
        Assert.Equal(256, width);
        Assert.Equal(192, height);
        List<JObject> progress = outputs.OfType<JObject>().ToList();
        Assert.NotEmpty(progress);
        Assert.All(progress, item => Assert.Equal("4", (string?)item["batch_index"]));
        Assert.All(progress, item => Assert.Equal("5", (string?)item["request_id"]));
        Assert.All(progress, item => Assert.InRange((double)item["overall_percent"]!, 0, 1));
        Assert.Equal(outputs.Count, progress.Count + 1);
    }

    [Fact]
    public async Task Generate_SettingsKey_ReturnsImage()
    {
        RunPodServerlessBackend backend = NewBackend(settingsKey: Emulator.ApiKey);
        await backend.Init();
        try
        {
            Image[] images = await backend.Generate(NewInput(UserWithKey(null)));

            Assert.Single(images);
        }
        finally
        {
            await backend.Shutdown();
        }
    }

    [Fact]
    public async Task GenerateLive_NoKey_ThrowsUserError()
    {
        RunPodServerlessBackend backend = NewBackend();
        await backend.Init();
        try
        {
            SwarmUserErrorException error = await Assert.ThrowsAsync<SwarmUserErrorException>(
                () => backend.GenerateLive(NewInput(UserWithKey(null)), "0", output => { }));

            Assert.Equal("RunPod API key not found: set it in User Settings → API Keys, or in the backend settings", error.Message);
        }
        finally
        {
            await backend.Shutdown();
        }
    }

    [Fact]
    public async Task GenerateLive_WithoutPermission_ThrowsUserError()
    {
        RunPodServerlessBackend backend = NewBackend();
        await backend.Init();
        try
        {
            SwarmUserErrorException error = await Assert.ThrowsAsync<SwarmUserErrorException>(
                () => backend.GenerateLive(NewInput(UserWithKey(Emulator.ApiKey, "some_other_permission")), "0", output => { }));

            Assert.Contains("use_runpod_serverless", error.Message);
        }
        finally
        {
            await backend.Shutdown();
        }
    }

    [Fact]
    public async Task GenerateLive_WrongKey_HidesKey()
    {
        RunPodServerlessBackend backend = NewBackend();
        await backend.Init();
        string wrongKey = $"sp-wrong-{Guid.NewGuid():N}";
        try
        {
            SwarmUserErrorException error = await Assert.ThrowsAsync<SwarmUserErrorException>(
                () => backend.GenerateLive(NewInput(UserWithKey(wrongKey)), "0", output => { }));

            Assert.DoesNotContain(wrongKey, error.Message);
        }
        finally
        {
            await backend.Shutdown();
        }

        Assert.DoesNotContain(Logs.Recorded, entry => entry.Message.Contains(wrongKey));
    }

    [Fact]
    public async Task GenerateLive_Interrupt_ThrowsTaskCanceled()
    {
        RunPodServerlessBackend backend = NewBackend();
        await backend.Init();
        T2IParamInput input = NewInput(UserWithKey(Emulator.ApiKey));
        List<object> outputs = [];
        try
        {
            // The first progress object arrives before any worker is ready, so the interrupt lands mid-generation.
            await Assert.ThrowsAsync<TaskCanceledException>(() => backend.GenerateLive(input, "0", output =>
            {
                outputs.Add(output);
                input.SourceSession!.SessInterrupt.Cancel();
            }));

            Assert.Equal(0, Emulator.WaitForNoRunningJobs(TimeSpan.FromSeconds(5)));
        }
        finally
        {
            await backend.Shutdown();
        }

        Assert.Empty(outputs.OfType<Image>());
    }

    [Fact]
    public async Task GenerateLive_AfterShutdown_ThrowsReadable()
    {
        RunPodServerlessBackend backend = NewBackend();
        await backend.Init();
        await backend.Shutdown();

        SwarmReadableErrorException error = await Assert.ThrowsAsync<SwarmReadableErrorException>(
            () => backend.GenerateLive(NewInput(UserWithKey(Emulator.ApiKey)), "0", output => { }));

        Assert.Contains("not running", error.Message);
    }

    [Fact]
    public async Task GenerateLive_TakeOutputThrows_Propagates()
    {
        RunPodServerlessBackend backend = NewBackend();
        await backend.Init();
        try
        {
            InvalidCastException error = await Assert.ThrowsAsync<InvalidCastException>(() => backend.GenerateLive(
                NewInput(UserWithKey(Emulator.ApiKey)), "0", output => throw new InvalidCastException("thrown by takeOutput")));

            Assert.Equal("thrown by takeOutput", error.Message);
            Assert.Equal(0, Emulator.WaitForNoRunningJobs(TimeSpan.FromSeconds(5)));
        }
        finally
        {
            await backend.Shutdown();
        }
    }

    [Fact]
    public async Task NativeLog_ForwardedWithoutKey()
    {
        RunPodServerlessBackend backend = NewBackend();
        await backend.Init();
        try
        {
            await backend.Generate(NewInput(UserWithKey(Emulator.ApiKey)));
        }
        finally
        {
            await backend.Shutdown();
        }

        Assert.Contains(Logs.Recorded, entry => entry.Message.StartsWith("[RunPodServerless] [native] "));
        Assert.DoesNotContain(Logs.Recorded, entry => entry.Message.Contains(Emulator.ApiKey));
    }

    [Fact]
    public void CachePath_IsTheDataFolder()
    {
        _ = ExtensionHost.Extension;
        string folder = RunPodServerlessBackend.ModelCachePathFor($"cachetest{Guid.NewGuid():N}");

        Assert.Equal(System.IO.Path.GetFullPath(System.IO.Path.Combine(Program.DataDir, "RunPodServerless")), folder);
        Assert.True(System.IO.Directory.Exists(folder));
    }

    [Fact]
    public void CachePath_KeepsOlderFolderLayout()
    {
        _ = ExtensionHost.Extension;
        string endpoint = $"cachetest{Guid.NewGuid():N}";
        string older = System.IO.Path.Combine(System.IO.Path.GetFullPath(System.IO.Path.Combine(Program.DataDir, "RunPodServerless")),
            $"models_{endpoint}.json");
        System.IO.Directory.CreateDirectory(older);

        Assert.Equal(older, RunPodServerlessBackend.ModelCachePathFor(endpoint));
    }
}
