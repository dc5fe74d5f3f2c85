using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Threading.Tasks;
using FreneticUtilities.FreneticDataSyntax;
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

public sealed class RegistrationExtraTests
{
    [Fact]
    public void OnInit_RegistersRoutesWithPermission()
    {
        _ = ExtensionHost.Extension;

        string[] routes = ["RunPodServerlessRefreshModels", "RunPodServerlessGetStatus", "RunPodServerlessListWorkers", "RunPodServerlessStopWorker"];
        foreach (string route in routes)
        {
            Assert.True(API.APIHandlers.TryGetValue(route.ToLowerInvariant(), out API.APICall? call), $"route {route} is not registered");
            Assert.Same(RunPodServerlessExtension.PermUseRunPodServerless, call!.Permission);
        }
    }

    [Fact]
    public void OnInit_RegistersModelProvider()
    {
        _ = ExtensionHost.Extension;

        Assert.True(ModelsAPI.ExtraModelProviders.ContainsKey("runpod_serverless"));
    }

    [Fact]
    public void Settings_WorkerProtocolIsDropdown()
    {
        FieldInfo field = typeof(RunPodSettings).GetField(nameof(RunPodSettings.WorkerProtocol))!;

        ManualSettingsOptionsAttribute? options = field.GetCustomAttribute<ManualSettingsOptionsAttribute>();

        Assert.NotNull(options);
        Assert.Equal(["auto", "v1", "v2"], options!.Options);
        Assert.Equal(3, options.Names.Length);
    }

    [Fact]
    public void ModelDefaults_PassFromNetObjectCasts()
    {
        string nativeList = """
            {"subtype": "Stable-Diffusion", "source": "cache", "updated_at": null, "models": [
              {"name": "OfficialStableDiffusion/sd_xl_base_1.0.safetensors", "title": "SDXL 1.0", "architecture": "stable-diffusion-xl-v1-base",
               "class": "SDXL", "standard_width": 1024, "standard_height": 1024, "loaded": false, "local": false},
              {"name": "Flux/flux1-dev.safetensors"},
              {"name": "odd.safetensors", "loaded": "yes", "standard_width": "wide", "standard_height": 512.0, "local": true},
              {"title": "no name, skipped"},
              "not an object"
            ]}
            """;

        Dictionary<string, JObject> models = RunPodServerlessModels.ParseList(nativeList);

        Assert.Equal(3, models.Count);
        foreach ((string name, JObject model) in models)
        {
            T2IModel parsed = T2IModel.FromNetObject(model);
            Assert.Equal(name, parsed.Name);
            Assert.False((bool)model["local"]!);
            Assert.Equal(JTokenType.String, model["preview_image"]!.Type);
            Assert.Equal(JTokenType.String, model["description"]!.Type);
        }

        Assert.Equal("SDXL 1.0", models["OfficialStableDiffusion/sd_xl_base_1.0.safetensors"]["title"]!.ToString());
        Assert.Equal(1024, (int)models["OfficialStableDiffusion/sd_xl_base_1.0.safetensors"]["standard_width"]!);
        Assert.Equal("flux1-dev.safetensors", models["Flux/flux1-dev.safetensors"]["title"]!.ToString());
        Assert.Equal(0, (int)models["odd.safetensors"]["standard_width"]!);
        Assert.Equal(512, (int)models["odd.safetensors"]["standard_height"]!);
        Assert.False((bool)models["odd.safetensors"]["loaded"]!);
    }

    [Fact]
    public void ParseList_NotAnObject_Throws()
    {
        Assert.Throws<FormatException>(() => RunPodServerlessModels.ParseList("[1, 2]"));
    }

    [Fact]
    public void StatusText_NamesPhaseAndTimes()
    {
        SwarmPod.Native.SwarmPodProgress waking = new()
        {
            Phase = SwarmPod.Native.SwarmPodPhase.StartingWorker,
            Elapsed = TimeSpan.FromSeconds(42.2),
            EstimatedRemaining = TimeSpan.FromSeconds(29.5),
            BatchIndex = -1,
            OverallPercent = null,
            CurrentPercent = null,
            WorkerId = null,
            Message = "",
            Preview = null,
            PreviewMime = null,
            Json = "{}",
        };
        SwarmPod.Native.SwarmPodProgress generating = new()
        {
            Phase = SwarmPod.Native.SwarmPodPhase.Generating,
            Elapsed = TimeSpan.FromSeconds(3),
            EstimatedRemaining = null,
            BatchIndex = -1,
            OverallPercent = null,
            CurrentPercent = null,
            WorkerId = null,
            Message = "",
            Preview = null,
            PreviewMime = null,
            Json = "{}",
        };

        Assert.Equal("Waking RunPod worker (42 s, about 30 s left)", RunPodServerlessOutput.StatusText(waking));
        Assert.Equal("Generating on the RunPod worker (3 s)", RunPodServerlessOutput.StatusText(generating));
    }

    [Fact]
    public void Redaction_RemovesKeysAndTokens()
    {
        JObject status = JObject.Parse("""{"endpoint": "e", "api_key": "k1", "workers": [{"id": "w", "token": "t1", "lease": {"WorkerToken": "t2"}}]}""");

        string redacted = RunPodServerlessRedaction.WithoutSecrets(status).ToString();

        Assert.DoesNotContain("k1", redacted);
        Assert.DoesNotContain("t1", redacted);
        Assert.DoesNotContain("t2", redacted);
        Assert.Contains("\"w\"", redacted);
    }
}

[Xunit.Collection("emulator")]
public sealed class FeatureTests(EmulatorFixture fixture)
{
    private EmulatorProcess Emulator => fixture.Emulator;

    /// <summary>Adds a backend through the handler, as SwarmUI does for a saved or new backend, and starts it.</summary>
    private async Task<RunPodServerlessBackend> StartBackend(Action<RunPodSettings>? configure = null)
    {
        _ = ExtensionHost.Extension;
        RunPodSettings settings = new()
        {
            EndpointId = Emulator.EndpointId,
            ApiBaseUrl = Emulator.ApiBaseUrl,
            AllowInsecureWorkerUrls = true,
            StartupTimeoutSec = 30,
        };
        configure?.Invoke(settings);
        BackendHandler.BackendData data = Program.Backends.AddNewOfType(Program.Backends.BackendTypes["runpod_serverless"], settings);
        RunPodServerlessBackend backend = (RunPodServerlessBackend)data.AbstractBackend;
        backend.Title = $"RunPod test {data.ID}";
        await backend.Init();
        return backend;
    }

    private static async Task StopBackend(RunPodServerlessBackend backend)
    {
        await backend.Shutdown();
        Program.Backends.AllBackends.TryRemove(backend.BackendId, out _);
    }

    private static User NewUser(string? key, params string[] permissions)
    {
        User user = new($"user-{Guid.NewGuid():N}", permissions.Length == 0 ? ["use_runpod_serverless"] : permissions);
        if (key is not null)
        {
            user.SaveGenericData("runpod_api", "key", key);
        }

        return user;
    }

    /// <summary>Builds the input of one backend call. <paramref name="images"/> is the image count of the whole SwarmUI
    /// request, which every one of its backend calls still carries; <paramref name="batchSize"/> is the images per call.</summary>
    private static T2IParamInput NewInput(User user, int images = 1, int batchSize = 1)
    {
        T2IParamInput input = new(new Session(user)) { UserRequestId = 9 };
        input.RawValues["prompt"] = "a harbour at dusk";
        input.RawValues["model"] = "OfficialStableDiffusion/sd_xl_base_1.0";
        input.RawValues["width"] = 128;
        input.RawValues["height"] = 96;
        input.RawValues["images"] = images;
        if (batchSize != 1)
        {
            input.RawValues["batchsize"] = batchSize;
        }

        return input;
    }

    [Fact]
    public async Task Settings_OldEightFields_LoadAndStart()
    {
        _ = ExtensionHost.Extension;
        FDSSection saved = new();
        saved.Set("EndpointId", Emulator.EndpointId);
        saved.Set("UseAsync", false);
        saved.Set("MaxConcurrent", 3);
        saved.Set("PollIntervalMs", 500);
        saved.Set("StartupTimeoutSec", 60);
        saved.Set("GenerationTimeoutSec", 200);
        saved.Set("RunPodApiKey", "");
        saved.Set("AutoRefresh", false);
        RunPodSettings settings = new();

        settings.Load(saved);

        Assert.Equal(Emulator.EndpointId, settings.EndpointId);
        Assert.False(settings.UseAsync);
        Assert.Equal(3, settings.MaxConcurrent);
        Assert.Equal(500, settings.PollIntervalMs);
        Assert.Equal(60, settings.StartupTimeoutSec);
        Assert.Equal(200, settings.GenerationTimeoutSec);
        Assert.Equal("", settings.RunPodApiKey);
        Assert.False(settings.AutoRefresh);
        Assert.Equal(5, settings.KeepWarmSec);
        Assert.Equal("auto", settings.WorkerProtocol);
        Assert.Equal(0, settings.CostPerGpuSecond);
        Assert.Equal("https://api.runpod.ai/v2", settings.ApiBaseUrl);
        Assert.False(settings.AllowInsecureWorkerUrls);
        Assert.True(settings.UseWebSocket);

        RunPodServerlessBackend backend = new() { SettingsRaw = settings, Title = "old settings" };
        await backend.Init();
        try
        {
            Assert.Equal(BackendStatus.RUNNING, backend.Status);
            Assert.Equal(3, backend.MaxUsages);
        }
        finally
        {
            await backend.Shutdown();
        }
    }

    [Fact]
    public async Task Settings_AllFields_LoadAndStart()
    {
        _ = ExtensionHost.Extension;
        FDSSection saved = new();
        saved.Set("EndpointId", Emulator.EndpointId);
        saved.Set("MaxConcurrent", 2);
        saved.Set("KeepWarmSec", 5);
        saved.Set("WorkerProtocol", "v1");
        saved.Set("CostPerGpuSecond", 0.00031);
        saved.Set("ApiBaseUrl", Emulator.ApiBaseUrl);
        saved.Set("AllowInsecureWorkerUrls", true);
        saved.Set("UseWebSocket", false);
        saved.Set("MaxWebSocketMessageMiB", 64);
        RunPodSettings settings = new();

        settings.Load(saved);
        RunPodServerlessBackend backend = new() { SettingsRaw = settings, Title = "new settings" };
        await backend.Init();
        try
        {
            Assert.Equal(BackendStatus.RUNNING, backend.Status);
            Assert.Equal(0.00031, settings.CostPerGpuSecond);
            Assert.Equal("v1", settings.WorkerProtocol);
            Assert.False(settings.UseWebSocket);
            Assert.Equal(64, settings.MaxWebSocketMessageMiB);
        }
        finally
        {
            await backend.Shutdown();
        }
    }

    [Theory]
    [InlineData("MaxConcurrent")]
    [InlineData("WorkerProtocol")]
    [InlineData("PollIntervalMs")]
    [InlineData("KeepWarmSec")]
    [InlineData("CostPerGpuSecond")]
    [InlineData("ApiBaseUrl")]
    [InlineData("MaxWebSocketMessageMiB")]
    public async Task Settings_InvalidValue_ErroredNamingSetting(string setting)
    {
        RunPodServerlessBackend backend = await StartBackend(settings =>
        {
            switch (setting)
            {
                case "MaxConcurrent":
                    settings.MaxConcurrent = 0;
                    break;
                case "WorkerProtocol":
                    settings.WorkerProtocol = "v3";
                    break;
                case "PollIntervalMs":
                    settings.PollIntervalMs = -1;
                    break;
                case "KeepWarmSec":
                    settings.KeepWarmSec = 999999;
                    break;
                case "CostPerGpuSecond":
                    settings.CostPerGpuSecond = double.NaN;
                    break;
                case "MaxWebSocketMessageMiB":
                    settings.MaxWebSocketMessageMiB = 0;
                    break;
                default:
                    settings.ApiBaseUrl = "not a url";
                    break;
            }
        });
        try
        {
            Assert.Equal(BackendStatus.ERRORED, backend.Status);
            Assert.Contains(backend.LoadStatusReport, status => status.Message.Contains(setting));
        }
        finally
        {
            await StopBackend(backend);
        }
    }

    [Fact]
    public async Task Init_AutoRefreshWithoutKey_WakesNoWorker()
    {
        using EmulatorProcess emulator = new();
        _ = ExtensionHost.Extension;
        RunPodServerlessBackend backend = new()
        {
            SettingsRaw = new RunPodSettings { EndpointId = emulator.EndpointId, ApiBaseUrl = emulator.ApiBaseUrl, AllowInsecureWorkerUrls = true, AutoRefresh = true },
        };

        await backend.Init();
        await backend.AutoRefreshTask;
        await backend.Shutdown();

        using System.Text.Json.JsonDocument ledger = emulator.Ledger();
        Assert.Equal(0, ledger.RootElement.GetProperty("jobs").GetArrayLength());
        Assert.Contains(backend.LoadStatusReport, status => status.Message.Contains("AutoRefresh is on, but"));
        Assert.Contains(backend.LoadStatusReport, status => status.Message.Contains("cached model"));
    }

    [Fact]
    public async Task Init_ModelsTrackedButEmpty()
    {
        // An endpoint id of its own, so no model list cached by other tests (or an earlier run) is read.
        // Init never calls RunPod, so the emulator need not know this endpoint.
        string endpointId = $"no-cache-{Guid.NewGuid():N}";
        RunPodServerlessBackend backend = await StartBackend(settings => settings.EndpointId = endpointId);
        try
        {
            // An empty list for a subtype would make SwarmUI refuse every model, so none is set before a refresh.
            Assert.NotNull(backend.Models);
            Assert.Empty(backend.Models);
            Assert.Empty(backend.RemoteModelsFor("Stable-Diffusion"));
        }
        finally
        {
            await StopBackend(backend);
        }
    }

    [Fact]
    public async Task LoadModel_SetsNameWithoutJob()
    {
        RunPodServerlessBackend backend = await StartBackend();
        try
        {
            bool loaded = await backend.LoadModel(new T2IModel { Name = "OfficialStableDiffusion/sd_xl_base_1.0" }, null!);

            Assert.True(loaded);
            Assert.Equal("OfficialStableDiffusion/sd_xl_base_1.0", backend.CurrentModelName);
        }
        finally
        {
            await StopBackend(backend);
        }
    }

    [Fact]
    public async Task GenerateLive_OrderedProgressAndCostMeta()
    {
        RunPodServerlessBackend backend = await StartBackend(settings => settings.CostPerGpuSecond = 0.0005);
        T2IParamInput input = NewInput(NewUser(Emulator.ApiKey), batchSize: 2);
        List<object> outputs = [];
        List<Dictionary<string, object>> metaAtImage = [];
        try
        {
            await backend.GenerateLive(input, "3", output =>
            {
                outputs.Add(output);
                if (output is Image)
                {
                    metaAtImage.Add(new Dictionary<string, object>(input.ExtraMeta));
                }
            });
        }
        finally
        {
            await StopBackend(backend);
        }

        List<Image> images = outputs.OfType<Image>().ToList();
        Assert.Equal(2, images.Count);
        foreach (Image image in images)
        {
            Assert.Same(MediaType.ImagePng, image.Type);
            (int width, int height) = Png.ReadSize(image.RawData);
            Assert.Equal(128, width);
            Assert.Equal(96, height);
        }

        List<JObject> progress = outputs.OfType<JObject>().ToList();
        Assert.NotEmpty(progress);
        double previous = 0;
        foreach (JObject item in progress)
        {
            double overall = (double)item["overall_percent"]!;
            Assert.True(overall >= previous, $"overall_percent went back from {previous} to {overall}");
            previous = overall;
            Assert.Equal("3", (string?)item["batch_index"]);
            Assert.Equal("9", (string?)item["request_id"]);
            Assert.InRange((double)item["current_percent"]!, 0, 1);
            Assert.Matches(@"\(\d+ s(, about \d+ s left)?\)$", (string?)item["status_text"]);
        }

        Assert.Contains(progress, item => ((string?)item["status_text"])!.Contains("RunPod worker"));
        foreach (Dictionary<string, object> meta in metaAtImage)
        {
            Assert.True(meta.ContainsKey(RunPodServerlessOutput.GpuSecondsMetaKey), "image metadata lacks the GPU-seconds");
            Assert.True(double.Parse((string)meta[RunPodServerlessOutput.GpuSecondsMetaKey], System.Globalization.CultureInfo.InvariantCulture) > 0);
            Assert.StartsWith("$", (string)meta[RunPodServerlessOutput.EstimatedCostMetaKey]);
        }
    }

    [Fact]
    public async Task GenerateLive_ImagesPassedOnBeforeDone()
    {
        // One job of 3 images at 0.8 s each: the worker sends all 3 when the job ends, about 2.4 s in.
        using EmulatorProcess slow = new(coldStartMs: 200, generationMs: 800);
        const double price = 0.0005;
        RunPodServerlessBackend backend = await StartBackend(settings =>
        {
            settings.ApiBaseUrl = slow.ApiBaseUrl;
            settings.CostPerGpuSecond = price;
            settings.KeepWarmSec = 0;
        });
        T2IParamInput input = NewInput(NewUser(slow.ApiKey), batchSize: 3);
        List<object> outputs = [];
        List<Dictionary<string, object>> metaAtImage = [];
        try
        {
            await backend.GenerateLive(input, "0", output =>
            {
                outputs.Add(output);
                if (output is Image)
                {
                    metaAtImage.Add(new Dictionary<string, object>(input.ExtraMeta));
                }
            });
        }
        finally
        {
            await StopBackend(backend);
        }

        Assert.Equal(3, outputs.OfType<Image>().Count());
        // libswarmpod reports Done after it released the worker. An extension that kept the images until the
        // native call returned would pass them on after Done.
        int done = outputs.FindIndex(output => output is JObject progress && ((string?)progress["status_text"])!.StartsWith("Done"));
        Assert.True(done >= 0, "no Done progress was passed on");
        int lastImage = outputs.FindLastIndex(output => output is Image);
        Assert.True(lastImage < done, $"the last image came at output {lastImage}, after Done at {done}");

        double previous = 0;
        foreach (Dictionary<string, object> meta in metaAtImage)
        {
            double seconds = double.Parse((string)meta[RunPodServerlessOutput.GpuSecondsMetaKey], System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(seconds >= 2.4, $"an image has {seconds} GPU-seconds; its job took 2.4 s");
            Assert.True(seconds >= previous, $"GPU-seconds went back from {previous} to {seconds}");
            // The metadata rounds the seconds to 0.01, and the cost is computed from the unrounded value.
            double cost = double.Parse(((string)meta[RunPodServerlessOutput.EstimatedCostMetaKey]).TrimStart('$'), System.Globalization.CultureInfo.InvariantCulture);
            Assert.InRange(cost, (seconds - 0.005) * price, (seconds + 0.005) * price);
            previous = seconds;
        }
    }

    [Fact]
    public async Task GenerateLive_OneImagePerCall()
    {
        // SwarmUI runs a request for 3 images as 3 backend calls, each input containing images: 3.
        using EmulatorProcess own = new();
        RunPodServerlessBackend backend = await StartBackend(settings => settings.ApiBaseUrl = own.ApiBaseUrl);
        List<int> imagesPerCall = [];
        try
        {
            for (int call = 0; call < 3; call++)
            {
                int images = 0;
                await backend.GenerateLive(NewInput(NewUser(own.ApiKey), images: 3), $"{call}", output =>
                {
                    if (output is Image)
                    {
                        images++;
                    }
                });
                imagesPerCall.Add(images);
            }
        }
        finally
        {
            await StopBackend(backend);
        }

        Assert.Equal(new[] { 1, 1, 1 }, imagesPerCall);
        using System.Text.Json.JsonDocument ledger = own.Ledger();
        Assert.Equal(3, ledger.RootElement.GetProperty("images").GetArrayLength());
    }

    [Fact]
    public async Task SupportedFeatures_AssumedBeforeAnyWorker()
    {
        string endpointId = $"no-features-{Guid.NewGuid():N}";
        RunPodServerlessBackend backend = await StartBackend(settings => settings.EndpointId = endpointId);
        try
        {
            Assert.False(backend.FeaturesFromWorker);
            Assert.Equal(RunPodServerlessBackend.AssumedFeatures.OrderBy(flag => flag), backend.SupportedFeatures.OrderBy(flag => flag));
            Assert.Contains("comfyui", backend.SupportedFeatures);
        }
        finally
        {
            await StopBackend(backend);
        }
    }

    [Fact]
    public async Task SupportedFeatures_WorkerFlagsAfterGenerationAndRestart()
    {
        // An endpoint of its own, so no flags stored by other tests are read.
        using EmulatorProcess emulator = new(endpointId: $"features-{Guid.NewGuid():N}");
        RunPodServerlessBackend first = await StartBackend(settings =>
        {
            settings.EndpointId = emulator.EndpointId;
            settings.ApiBaseUrl = emulator.ApiBaseUrl;
            settings.KeepWarmSec = 0;
        });
        try
        {
            // The emulator's worker reports "freeu", which is not among the assumed flags.
            Assert.DoesNotContain("freeu", first.SupportedFeatures);

            await first.Generate(NewInput(NewUser(emulator.ApiKey)));

            Assert.True(first.FeaturesFromWorker);
            Assert.Contains("freeu", first.SupportedFeatures);
            Assert.Contains("comfyui", first.SupportedFeatures);
        }
        finally
        {
            await StopBackend(first);
        }

        int jobsBefore;
        using (System.Text.Json.JsonDocument ledger = emulator.Ledger())
        {
            jobsBefore = ledger.RootElement.GetProperty("jobs").GetArrayLength();
        }

        RunPodServerlessBackend restarted = await StartBackend(settings =>
        {
            settings.EndpointId = emulator.EndpointId;
            settings.ApiBaseUrl = emulator.ApiBaseUrl;
        });
        try
        {
            Assert.True(restarted.FeaturesFromWorker);
            Assert.Contains("freeu", restarted.SupportedFeatures);
            JObject status = restarted.BuildStatus();
            Assert.Equal("worker", (string?)status["features_source"]);
        }
        finally
        {
            await StopBackend(restarted);
        }

        using System.Text.Json.JsonDocument after = emulator.Ledger();
        Assert.Equal(jobsBefore, after.RootElement.GetProperty("jobs").GetArrayLength());
    }

    [Fact]
    public async Task GenerateLive_LongWaitReachesLog()
    {
        using EmulatorProcess slow = new(coldStartMs: 6500);
        RunPodServerlessBackend backend = await StartBackend(settings =>
        {
            settings.ApiBaseUrl = slow.ApiBaseUrl;
            settings.KeepWarmSec = 30;
            settings.PollIntervalMs = 500;
        });
        User user = NewUser(slow.ApiKey);
        T2IParamInput cold = NewInput(user);
        cold.UserRequestId = Random.Shared.Next(1_000_000, 2_000_000);
        T2IParamInput warm = NewInput(user);
        warm.UserRequestId = cold.UserRequestId + 1;
        try
        {
            await backend.Generate(cold);
            await backend.Generate(warm);
        }
        finally
        {
            await StopBackend(backend);
        }

        List<string> coldLines = [.. Logs.Recorded.Where(line => line.Level == Logs.LogLevel.Info && line.Message.Contains($"Generation {cold.UserRequestId} on backend")).Select(line => line.Message)];
        Assert.NotEmpty(coldLines);
        Assert.Contains(coldLines, line => line.Contains("RunPod worker") && line.Contains(" s"));
        Assert.DoesNotContain(Logs.Recorded, line => line.Message.Contains($"Generation {warm.UserRequestId} on backend"));
    }

    [Fact]
    public async Task GenerateLive_NoPrice_NoCostMeta()
    {
        RunPodServerlessBackend backend = await StartBackend();
        T2IParamInput input = NewInput(NewUser(Emulator.ApiKey));
        try
        {
            await backend.Generate(input);
        }
        finally
        {
            await StopBackend(backend);
        }

        Assert.True(input.ExtraMeta.ContainsKey(RunPodServerlessOutput.GpuSecondsMetaKey));
        Assert.False(input.ExtraMeta.ContainsKey(RunPodServerlessOutput.EstimatedCostMetaKey));
    }

    [Fact]
    public async Task GenerateLive_SettingsKeyBeatsUserKey()
    {
        RunPodServerlessBackend backend = await StartBackend(settings => settings.RunPodApiKey = Emulator.ApiKey);
        try
        {
            Image[] images = await backend.Generate(NewInput(NewUser($"sp-wrong-{Guid.NewGuid():N}")));

            Assert.Single(images);
        }
        finally
        {
            await StopBackend(backend);
        }
    }

    [Fact]
    public async Task Routes_WithoutPermission_Refused()
    {
        RunPodServerlessBackend backend = await StartBackend();
        Session session = new(NewUser(Emulator.ApiKey, "some_other_permission"));
        int jobsBefore = CountJobs();
        try
        {
            foreach (string route in new[] { "RunPodServerlessRefreshModels", "RunPodServerlessGetStatus", "RunPodServerlessListWorkers" })
            {
                JObject result = await API.CallForTest(route, session, new JObject { ["backend_id"] = backend.BackendId });
                Assert.Equal("bad_permissions", (string?)result["error_id"]);
            }

            JObject direct = await RunPodServerlessAPI.RunPodServerlessGetStatus(session, backend.BackendId);
            Assert.Equal("bad_permissions", (string?)direct["error_id"]);
        }
        finally
        {
            await StopBackend(backend);
        }

        Assert.Equal(jobsBefore, CountJobs());
    }

    private int CountJobs()
    {
        using System.Text.Json.JsonDocument ledger = Emulator.Ledger();
        return ledger.RootElement.GetProperty("jobs").GetArrayLength();
    }

    [Fact]
    public async Task StopWorker_UnknownBackend_NoBackendError()
    {
        _ = ExtensionHost.Extension;
        Session session = new(NewUser(Emulator.ApiKey));

        JObject result = await API.CallForTest("RunPodServerlessStopWorker", session, new JObject { ["backend_id"] = 987654, ["worker_id"] = "w" });

        Assert.Equal("no_backend", (string?)result["error_id"]);
        Assert.Contains("987654", (string?)result["error"]);
    }

    [Fact]
    public async Task StopWorker_MissingWorkerId_MissingParameter()
    {
        _ = ExtensionHost.Extension;
        Session session = new(NewUser(Emulator.ApiKey));

        JObject result = await API.CallForTest("RunPodServerlessStopWorker", session, new JObject { ["backend_id"] = 0 });

        Assert.Equal("Missing required parameter 'worker_id'", (string?)result["error"]);
    }

    [Fact]
    public async Task RefreshModels_NoKey_ReportsError()
    {
        RunPodServerlessBackend backend = await StartBackend();
        Session session = new(NewUser(null));
        try
        {
            JObject result = await API.CallForTest("RunPodServerlessRefreshModels", session, new JObject { ["backend_id"] = backend.BackendId });

            Assert.Equal(0, (int)result["refreshed"]!);
            Assert.Equal(1, (int)result["failed"]!);
            JObject error = Assert.IsType<JObject>(Assert.Single((JArray)result["errors"]!));
            Assert.Equal(backend.BackendId, (int)error["backend_id"]!);
            Assert.Equal(RunPodServerlessBackend.MissingKeyMessage, (string?)error["error"]);
        }
        finally
        {
            await StopBackend(backend);
        }
    }

    // The tests below need swarmpod_backend_list_models, swarmpod_backend_status and swarmpod_backend_stop_worker in libswarmpod.

    [Fact]
    public async Task RefreshModels_FillsProviderAndModels()
    {
        RunPodServerlessBackend backend = await StartBackend();
        Session session = new(NewUser(Emulator.ApiKey));
        try
        {
            JObject result = await API.CallForTest("RunPodServerlessRefreshModels", session, new JObject { ["backend_id"] = backend.BackendId });

            Assert.True((int?)result["failed"] == 0, $"refresh failed: {result}");
            Assert.Equal(1, (int)result["refreshed"]!);
            Assert.Empty((JArray)result["errors"]!);
            Dictionary<string, JObject> provided = RunPodServerlessModels.Provide("Stable-Diffusion");
            Assert.NotEmpty(provided);
            foreach (JObject model in provided.Values)
            {
                T2IModel parsed = T2IModel.FromNetObject(model);
                Assert.False(string.IsNullOrEmpty(parsed.Name));
            }

            Assert.Equal(provided.Keys.OrderBy(name => name), backend.Models["Stable-Diffusion"].OrderBy(name => name));
            Assert.DoesNotContain(Emulator.ApiKey, result.ToString());
        }
        finally
        {
            await StopBackend(backend);
        }
    }

    [Fact]
    public async Task RefreshModels_CachedListLoadsAtNextInit()
    {
        RunPodServerlessBackend first = await StartBackend();
        Session session = new(NewUser(Emulator.ApiKey));
        try
        {
            JObject result = await API.CallForTest("RunPodServerlessRefreshModels", session, new JObject { ["backend_id"] = first.BackendId });
            Assert.True((int?)result["refreshed"] == 1, $"refresh failed: {result}");
        }
        finally
        {
            await StopBackend(first);
        }

        using EmulatorProcess quiet = new();
        RunPodServerlessBackend second = await StartBackend(settings => settings.ApiBaseUrl = quiet.ApiBaseUrl);
        try
        {
            Assert.True(second.ModelCount > 0, "the model list cached by the first backend was not loaded at Init");
            Assert.NotEmpty(second.Models["Stable-Diffusion"]);
        }
        finally
        {
            await StopBackend(second);
        }

        using System.Text.Json.JsonDocument ledger = quiet.Ledger();
        Assert.Equal(0, ledger.RootElement.GetProperty("jobs").GetArrayLength());
    }

    [Fact]
    public async Task GetStatus_ShapeWithoutSecrets()
    {
        RunPodServerlessBackend backend = await StartBackend(settings => settings.RunPodApiKey = Emulator.ApiKey);
        Session session = new(NewUser(Emulator.ApiKey));
        try
        {
            await backend.Generate(NewInput(session.User));
            JObject result = await API.CallForTest("RunPodServerlessGetStatus", session, new JObject { ["backend_id"] = backend.BackendId });

            JObject entry = Assert.IsType<JObject>(Assert.Single((JArray)result["backends"]!));
            Assert.False(entry.ContainsKey("status_error"), $"libswarmpod status failed: {entry["status_error"]}");
            Assert.Equal(backend.BackendId, (int)entry["backend_id"]!);
            Assert.Equal("running", (string?)entry["status"]);
            Assert.Equal(Emulator.EndpointId, (string?)entry["endpoint"]);
            Assert.Equal(JTokenType.Integer, entry["model_count"]!.Type);
            Assert.True(entry.ContainsKey("protocol"), $"no protocol in {entry}");
            Assert.DoesNotContain(Emulator.ApiKey, result.ToString());
            Assert.DoesNotContain("token", result.ToString(), StringComparison.OrdinalIgnoreCase);
        }
        finally
        {
            await StopBackend(backend);
        }
    }

    [Fact]
    public async Task StopWorker_UnknownWorker_NotFound()
    {
        RunPodServerlessBackend backend = await StartBackend();
        Session session = new(NewUser(Emulator.ApiKey));
        try
        {
            JObject result = await API.CallForTest("RunPodServerlessStopWorker", session, new JObject { ["backend_id"] = backend.BackendId, ["worker_id"] = "no-such-worker" });

            Assert.True((string?)result["error_id"] == "worker_not_found", $"expected worker_not_found: {result}");
        }
        finally
        {
            await StopBackend(backend);
        }
    }

    [Fact]
    public async Task ListWorkers_ShapeWithoutSecrets()
    {
        RunPodServerlessBackend backend = await StartBackend(settings => settings.RunPodApiKey = Emulator.ApiKey);
        Session session = new(NewUser(null));
        try
        {
            await backend.Generate(NewInput(session.User));
            JObject result = await API.CallForTest("RunPodServerlessListWorkers", session, new JObject { ["backend_id"] = backend.BackendId });

            JObject entry = Assert.IsType<JObject>(Assert.Single((JArray)result["backends"]!));
            Assert.False(entry.ContainsKey("error"), $"libswarmpod status failed: {entry["error"]}");
            Assert.Equal(backend.BackendId, (int)entry["backend_id"]!);
            Assert.IsType<JArray>(entry["workers"]);
            Assert.DoesNotContain(Emulator.ApiKey, result.ToString());
        }
        finally
        {
            await StopBackend(backend);
        }
    }
}

public sealed class InstallScriptTests
{
    [Fact]
    public void InstallScript_LaysOutBuildableExtension()
    {
        string repository = Path.GetFullPath(Path.Combine(TestEnvironment.BuildDirectory, "..", ".."));
        string script = FindScript();
        string swarmui = Path.Combine(Path.GetTempPath(), $"swarmpod-install-{Guid.NewGuid():N}");
        string source = Path.Combine(swarmui, "src");
        Directory.CreateDirectory(Path.Combine(source, "bin", "live_release"));
        try
        {
            WriteFakeSwarmUI(source);

            (int installCode, string installOutput) = Run("bash", [script, swarmui, "--build-dir", TestEnvironment.BuildDirectory], TimeSpan.FromMinutes(5));
            Assert.True(installCode == 0, $"install-extension.sh failed ({installCode}):\n{installOutput}");
            // Read after the install, which may rebuild the library first.
            FileInfo built = new(Path.GetFullPath(TestEnvironment.LibraryPath));
            string builtTarget = built.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? built.FullName;
            (int builtCode, string builtSections) = Run("readelf", ["-S", "-W", builtTarget], TimeSpan.FromMinutes(1));

            string extension = Path.Combine(source, "Extensions", "SwarmPod");
            Assert.True(File.Exists(Path.Combine(extension, "SwarmPodExtension.csproj")));
            Assert.True(File.Exists(Path.Combine(extension, "RunPodServerlessExtension.cs")));
            Assert.True(File.Exists(Path.Combine(extension, "libswarmpod.so")));

            // The installed copy is stripped but still exports the C ABI, and the build's file keeps its symbols.
            FileInfo installed = new(Path.Combine(extension, "libswarmpod.so"));
            string installedTarget = installed.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? installed.FullName;
            (int installedCode, string installedSections) = Run("readelf", ["-S", "-W", installedTarget], TimeSpan.FromMinutes(1));
            Assert.True(installedCode == 0, installedSections);
            Assert.DoesNotContain(".symtab", installedSections);
            Assert.DoesNotContain(".debug_info", installedSections);
            Assert.True(builtCode == 0, builtSections);
            Assert.Contains(".symtab", builtSections);
            Assert.True(new FileInfo(installedTarget).Length < new FileInfo(builtTarget).Length,
                $"installed {new FileInfo(installedTarget).Length} bytes, built {new FileInfo(builtTarget).Length} bytes");
            (int symbolsCode, string symbols) = Run("nm", ["-D", "--defined-only", installedTarget], TimeSpan.FromMinutes(1));
            Assert.True(symbolsCode == 0, symbols);
            Assert.Contains("swarmpod_generate", symbols);
            Assert.True(File.Exists(Path.Combine(extension, "bindings", "csharp", "SwarmUI.RunPodServerless", "RunPodServerlessBackend.cs")));
            Assert.True(File.Exists(Path.Combine(extension, "bindings", "csharp", "SwarmPod.Native", "Interop", "NativeMethods.cs")));
            Assert.Empty(Directory.GetDirectories(extension, "*Tests*", SearchOption.AllDirectories));
            Assert.Empty(Directory.GetDirectories(extension, "obj", SearchOption.AllDirectories));
            Assert.Single(Directory.GetFiles(extension, "*.csproj", SearchOption.TopDirectoryOnly));

            // SwarmUI's own build command, with its output and intermediate folders.
            string output = Path.Combine(source, "bin", "extensions", "SwarmExtensionSwarmPod");
            string intermediate = Path.Combine(source, "obj", "extensions", "SwarmExtensionSwarmPod") + "/";
            (int buildCode, string buildOutput) = Run(
                "dotnet",
                ["build", Path.Combine(extension, "SwarmPodExtension.csproj"), "-c", "Release", "-o", output, $"-p:BaseIntermediateOutputPath={intermediate};TargetName=SwarmExtensionSwarmPod-unknown"],
                TimeSpan.FromMinutes(5));
            Assert.True(buildCode == 0, $"building the installed extension failed ({buildCode}):\n{buildOutput}");
            Assert.True(File.Exists(Path.Combine(output, "SwarmExtensionSwarmPod-unknown.dll")));
        }
        finally
        {
            Directory.Delete(swarmui, recursive: true);
        }

        Assert.True(Directory.Exists(repository));
    }

    [Fact]
    public void InstallScript_NotSwarmUI_Fails()
    {
        string folder = Path.Combine(Path.GetTempPath(), $"swarmpod-not-swarmui-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        try
        {
            (int code, string output) = Run("bash", [FindScript(), folder, "--build-dir", TestEnvironment.BuildDirectory], TimeSpan.FromMinutes(1));

            Assert.Equal(1, code);
            Assert.Contains("is not a SwarmUI folder", output);
            Assert.False(Directory.Exists(Path.Combine(folder, "src", "Extensions")));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static string FindScript()
    {
        DirectoryInfo? directory = new(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "scripts", "install-extension.sh")))
        {
            directory = directory.Parent;
        }

        Assert.True(directory is not null, $"no scripts/install-extension.sh above {AppContext.BaseDirectory}");
        return Path.Combine(directory!.FullName, "scripts", "install-extension.sh");
    }

    /// <summary>Writes the files of a SwarmUI src/ folder that an extension build reads, with the test stubs as SwarmUI.dll.</summary>
    private static void WriteFakeSwarmUI(string source)
    {
        File.Copy(Path.Combine(AppContext.BaseDirectory, "SwarmUI.Stubs.dll"), Path.Combine(source, "bin", "live_release", "SwarmUI.Stubs.dll"));
        File.WriteAllText(Path.Combine(source, "GlobalUsings.cs"), string.Join("\n", new[]
        {
            "global using System;", "global using System.Collections.Concurrent;", "global using System.Collections.Generic;", "global using System.Linq;",
            "global using System.Text;", "global using System.Threading;", "global using System.Threading.Tasks;", "",
        }));
        File.WriteAllText(Path.Combine(source, "SwarmUI.extension.props"), """
            <Project>
              <PropertyGroup>
                <TargetFramework>net8.0</TargetFramework>
                <OutputType>library</OutputType>
                <InvariantGlobalization>true</InvariantGlobalization>
                <RollForward>Major</RollForward>
                <CopyLocalLockFileAssemblies>false</CopyLocalLockFileAssemblies>
              </PropertyGroup>
              <ItemGroup>
                <Reference Include="SwarmUI.Stubs">
                  <HintPath>../../bin/live_release/SwarmUI.Stubs.dll</HintPath>
                  <Private>false</Private>
                </Reference>
                <None Remove="**" />
                <Content Remove="**" />
                <Compile Include="../../GlobalUsings.cs" />
              </ItemGroup>
              <ItemGroup>
                <PackageReference Include="Newtonsoft.Json" Version="13.0.4" />
              </ItemGroup>
            </Project>
            """);
    }

    private static (int ExitCode, string Output) Run(string fileName, string[] arguments, TimeSpan timeout)
    {
        ProcessStartInfo start = new(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            return (-1, $"timed out after {timeout}\n{stdout.Result}\n{stderr.Result}");
        }

        return (process.ExitCode, $"{stdout.Result}\n{stderr.Result}");
    }
}
