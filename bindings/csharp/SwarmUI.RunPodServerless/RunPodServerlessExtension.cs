using System.IO;
using Microsoft.AspNetCore.Html;
using SwarmPod.Native;
using SwarmUI.Accounts;
using SwarmUI.Core;
using SwarmUI.Utils;
using SwarmUI.WebAPI;

namespace SwarmPod.SwarmUIExtension;

/// <summary>SwarmUI extension that adds the "RunPod Serverless" backend type.</summary>
public class RunPodServerlessExtension : Extension
{
    /// <summary>Backend type id, as saved in Data/Backends.fds.</summary>
    public const string BackendTypeId = "runpod_serverless";

    /// <summary>Generic-data key type under which each user's RunPod API key is stored.</summary>
    public const string ApiKeyType = "runpod_api";

    /// <summary>Permission group shown in the roles editor.</summary>
    public static PermInfoGroup PermissionGroup = new("RunPod Serverless", "Permissions for generating on RunPod Serverless GPU workers.");

    /// <summary>Permission to generate through a RunPod Serverless backend, which bills the RunPod account.</summary>
    public static PermInfo PermUseRunPodServerless = Permissions.Register(new(
        "use_runpod_serverless",
        "Use RunPod Serverless",
        "Allows generating images on RunPod Serverless workers. Each generation bills GPU time to the RunPod account whose key is used.",
        PermissionDefault.POWERUSERS,
        PermissionGroup));

    /// <summary>Registers the backend type, the API key type and the native log sink.</summary>
    public override void OnInit()
    {
        // The library may ship in the extension folder; the assembly's own directory is searched first.
        if (!string.IsNullOrEmpty(FilePath))
        {
            SwarmPodNativeLibrary.AddSearchDirectory(Path.GetFullPath(FilePath));
        }

        Program.Backends.RegisterBackendType<RunPodServerlessBackend>(
            BackendTypeId,
            "RunPod Serverless",
            "Generates on RunPod Serverless GPU workers that run SwarmUI; a worker is woken on demand and released after use.",
            CanLoadFast: true,
            isStandard: true);
        UserUpstreamApiKeys.Register(new(
            ApiKeyType,
            "runpod",
            "RunPod",
            "https://www.runpod.io/console/user/settings",
            new HtmlString("Used by the RunPod Serverless backend to start workers on your RunPod account. Generations bill GPU time to that account.")));
        BasicAPIFeatures.AcceptedAPIKeyTypes.Add(ApiKeyType);
        Logs.Init($"RunPod Serverless extension registered backend type '{BackendTypeId}' (permission '{PermUseRunPodServerless.ID}').");
        RunPodServerlessLog.Attach();
    }

    /// <summary>Stops forwarding native log lines.</summary>
    public override void OnShutdown()
    {
        RunPodServerlessLog.Detach();
    }
}
