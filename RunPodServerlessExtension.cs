using System;
using System.IO;
using Microsoft.AspNetCore.Html;
using SwarmPod.Native;
using SwarmUI.Accounts;
using SwarmUI.Core;
using SwarmUI.Utils;
using SwarmUI.WebAPI;

namespace SwarmPod.SwarmUIExtension;

/// <summary>SwarmUI extension that adds the "RunPod Serverless" backend type.</summary>
/// <remarks>SwarmUI finds an extension's folder by looking for "&lt;class name&gt;.cs" in the folder root, so this file
/// stays at the repository root, beside SwarmPodExtension.csproj.</remarks>
public class RunPodServerlessExtension : Extension
{
    /// <summary>Backend type id, as saved in Data/Backends.fds.</summary>
    public const string BackendTypeId = "runpod_serverless";

    /// <summary>Generic-data key type under which each user's RunPod API key is stored.</summary>
    public const string ApiKeyType = "runpod_api";

    /// <summary>Id under which the model lists are registered in <c>ModelsAPI.ExtraModelProviders</c>.</summary>
    public const string ModelProviderId = "runpod_serverless";

    /// <summary>Permission group shown in the roles editor.</summary>
    public static PermInfoGroup PermissionGroup = new("RunPod Serverless", "Permissions for generating on RunPod Serverless GPU workers.");

    /// <summary>Permission to generate through a RunPod Serverless backend and to use its routes; generating bills the RunPod account.</summary>
    public static PermInfo PermUseRunPodServerless = Permissions.Register(new(
        "use_runpod_serverless",
        "Use RunPod Serverless",
        "Allows generating images on RunPod Serverless workers and using the RunPod Serverless routes. Each generation bills GPU time to the RunPod account whose key is used.",
        PermissionDefault.POWERUSERS,
        PermissionGroup));

    /// <summary>Registers the backend type, the API key type, the permission, the routes, the model provider and the native log sink.</summary>
    public override void OnInit()
    {
        // The extension's DLL is built into src/bin/extensions/, so libswarmpod is looked up in the extension folder
        // and in the folder that 'cmake --build --preset release' writes to.
        if (!string.IsNullOrEmpty(FilePath))
        {
            string folder = Path.GetFullPath(FilePath);
            SwarmPodNativeLibrary.AddSearchDirectory(folder);
            SwarmPodNativeLibrary.AddSearchDirectory(Path.Combine(folder, "build", "release", "src"));
        }

        Program.Backends.RegisterBackendType<RunPodServerlessBackend>(
            BackendTypeId,
            "RunPod Serverless",
            "Generates on RunPod Serverless GPU workers that run SwarmUI; a worker is woken on demand and released after use.",
            CanLoadFast: true,
            isStandard: false);
        UserUpstreamApiKeys.Register(new(
            ApiKeyType,
            "runpod",
            "RunPod",
            "https://www.runpod.io/console/user/settings",
            new HtmlString("Used by the RunPod Serverless backend to start workers on your RunPod account. Generations bill GPU time to that account.")));
        BasicAPIFeatures.AcceptedAPIKeyTypes.Add(ApiKeyType);
        ModelsAPI.ExtraModelProviders[ModelProviderId] = RunPodServerlessModels.Provide;
        RunPodServerlessAPI.Register();
        Logs.Init($"[RunPodServerless] Registered backend type '{BackendTypeId}' (permission '{PermUseRunPodServerless.ID}').");
        RunPodServerlessLog.Attach();
    }

    /// <summary>Stops forwarding native log lines.</summary>
    public override void OnShutdown()
    {
        RunPodServerlessLog.Detach();
    }
}
