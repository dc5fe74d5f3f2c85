using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using Newtonsoft.Json.Linq;
using SwarmPod.Native;
using SwarmUI.Accounts;
using SwarmUI.Core;
using SwarmUI.Utils;
using SwarmUI.WebAPI;

namespace SwarmPod.SwarmUIExtension;

/// <summary>Web API routes of the RunPod Serverless extension. Every route needs the use_runpod_serverless permission and
/// reports errors as <c>{"error", "error_id"}</c> objects instead of throwing.</summary>
[API.APIClass("Routes of the RunPod Serverless backend: model refresh, status, and worker control.")]
public static class RunPodServerlessAPI
{
    /// <summary>Registers every route with the extension's permission.</summary>
    public static void Register()
    {
        API.RegisterAPICall(RunPodServerlessRefreshModels, true, RunPodServerlessExtension.PermUseRunPodServerless);
        API.RegisterAPICall(RunPodServerlessGetStatus, false, RunPodServerlessExtension.PermUseRunPodServerless);
        API.RegisterAPICall(RunPodServerlessListWorkers, false, RunPodServerlessExtension.PermUseRunPodServerless);
        API.RegisterAPICall(RunPodServerlessStopWorker, true, RunPodServerlessExtension.PermUseRunPodServerless);
    }

    /// <summary>Refreshes the model lists of every running RunPod Serverless backend, or of one.</summary>
    [API.APIDescription("Reads the model lists from RunPod workers, waking one per endpoint when none is held (this bills GPU time).",
        "\"refreshed\": number of backends refreshed, \"failed\": number that failed, \"errors\": [{\"backend_id\", \"error\"}]")]
    public static async Task<JObject> RunPodServerlessRefreshModels(Session session,
        [API.APIParameter("ID of one backend to refresh, or -1 for every running RunPod Serverless backend.")] int backend_id = -1)
    {
        if (RejectWithoutPermission(session) is JObject refusal)
        {
            return refusal;
        }

        List<RunPodServerlessBackend> backends = Select(backend_id);
        if (backends.Count == 0)
        {
            return NoBackend(backend_id);
        }

        int refreshed = 0;
        JArray errors = [];
        foreach (RunPodServerlessBackend backend in backends)
        {
            try
            {
                await backend.RefreshModelsAsync(backend.ResolveApiKey(session.User));
                refreshed++;
            }
            catch (Exception ex) when (ex is SwarmReadableErrorException or ObjectDisposedException)
            {
                Logs.Warning($"[RunPodServerless] Model refresh of backend {backend.BackendId} for user '{session.User.UserID}' failed: {ex.Message}");
                errors.Add(new JObject { ["backend_id"] = backend.BackendId, ["error"] = ex.Message });
            }
        }

        return new JObject { ["refreshed"] = refreshed, ["failed"] = errors.Count, ["errors"] = errors };
    }

    /// <summary>Returns the status of every RunPod Serverless backend, or of one.</summary>
    [API.APIDescription("Returns each RunPod Serverless backend's status from libswarmpod, which sends nothing to RunPod.",
        "\"backends\": [{\"backend_id\", \"title\", \"status\", \"endpoint\", \"protocol\", workers and their counts, \"model_count\", GPU-seconds and cost of this session, \"last_error\"}]")]
    public static Task<JObject> RunPodServerlessGetStatus(Session session,
        [API.APIParameter("ID of one backend, or -1 for every RunPod Serverless backend.")] int backend_id = -1)
    {
        if (RejectWithoutPermission(session) is JObject refusal)
        {
            return Task.FromResult(refusal);
        }

        List<RunPodServerlessBackend> backends = Select(backend_id, runningOnly: false);
        if (backend_id >= 0 && backends.Count == 0)
        {
            return Task.FromResult(NoBackend(backend_id));
        }

        JArray entries = [.. backends.Select(backend => backend.BuildStatus())];
        return Task.FromResult(new JObject { ["backends"] = entries, ["total"] = entries.Count });
    }

    /// <summary>Lists the workers each RunPod Serverless backend holds.</summary>
    [API.APIDescription("Lists the RunPod workers each backend holds, from libswarmpod's status.",
        "\"backends\": [{\"backend_id\", \"title\", \"workers\": [...]}]")]
    public static Task<JObject> RunPodServerlessListWorkers(Session session,
        [API.APIParameter("ID of one backend, or -1 for every running RunPod Serverless backend.")] int backend_id = -1)
    {
        if (RejectWithoutPermission(session) is JObject refusal)
        {
            return Task.FromResult(refusal);
        }

        List<RunPodServerlessBackend> backends = Select(backend_id);
        if (backend_id >= 0 && backends.Count == 0)
        {
            return Task.FromResult(NoBackend(backend_id));
        }

        JArray entries = [];
        foreach (RunPodServerlessBackend backend in backends)
        {
            JObject status = backend.BuildStatus();
            JObject entry = new() { ["backend_id"] = backend.BackendId, ["title"] = backend.Title, ["workers"] = status["workers"] as JArray ?? [] };
            if (status["status_error"] is JToken error)
            {
                entry["error"] = error;
            }

            entries.Add(entry);
        }

        return Task.FromResult(new JObject { ["backends"] = entries });
    }

    /// <summary>Releases one worker that a backend holds.</summary>
    [API.APIDescription("Releases one held RunPod worker now, or when the generation using it ends, so it stops billing.",
        "\"success\": true, \"backend_id\", \"worker_id\"")]
    public static Task<JObject> RunPodServerlessStopWorker(Session session,
        [API.APIParameter("ID of the backend that holds the worker.")] int backend_id,
        [API.APIParameter("RunPod worker id, as listed by RunPodServerlessListWorkers.")] string worker_id)
    {
        if (RejectWithoutPermission(session) is JObject refusal)
        {
            return Task.FromResult(refusal);
        }

        RunPodServerlessBackend backend = Select(backend_id).FirstOrDefault();
        SwarmPodBackend native = backend?.Native;
        if (native is null)
        {
            return Task.FromResult(NoBackend(backend_id));
        }

        try
        {
            native.StopWorker(worker_id);
        }
        catch (SwarmPodException ex) when (ex.Status == SwarmPodStatus.NotFound)
        {
            return Task.FromResult(Utilities.ErrorObj($"Backend {backend_id} has no held worker '{worker_id}' (not found); list the held workers with RunPodServerlessListWorkers.", "worker_not_found"));
        }
        catch (Exception ex) when (ex is SwarmPodException or EntryPointNotFoundException or ObjectDisposedException or ArgumentException)
        {
            Logs.Warning($"[RunPodServerless] Stopping worker '{worker_id}' of backend {backend_id} failed: {ex.Message}");
            return Task.FromResult(Utilities.ErrorObj($"Stopping worker '{worker_id}' failed: {ex.Message}", "stop_failed"));
        }

        Logs.Info($"[RunPodServerless] User '{session.User.UserID}' released worker '{worker_id}' of backend {backend_id}.");
        return Task.FromResult(new JObject { ["success"] = true, ["backend_id"] = backend_id, ["worker_id"] = worker_id });
    }

    /// <summary>Returns SwarmUI's refusal when the session's user lacks the permission, else null.</summary>
    /// <remarks>SwarmUI's API handler checks the permission before calling a route; this check covers calls from other code.</remarks>
    private static JObject RejectWithoutPermission(Session session)
    {
        if (session?.User is null || !session.User.HasPermission(RunPodServerlessExtension.PermUseRunPodServerless))
        {
            return Utilities.ErrorObj("You lack permissions for this route.", "bad_permissions");
        }

        return null;
    }

    /// <summary>Returns the RunPod Serverless backends with the id, or all of them for a negative id.</summary>
    private static List<RunPodServerlessBackend> Select(int backendId, bool runningOnly = true)
    {
        IEnumerable<RunPodServerlessBackend> backends = runningOnly
            ? Program.Backends.RunningBackendsOfType<RunPodServerlessBackend>()
            : Program.Backends.AllBackends.Values.Select(data => data.AbstractBackend as RunPodServerlessBackend).Where(backend => backend is not null);
        return [.. backends.Where(backend => backendId < 0 || backend.BackendId == backendId).OrderBy(backend => backend.BackendId)];
    }

    /// <summary>Returns the error object for a backend id that matches no running RunPod Serverless backend.</summary>
    private static JObject NoBackend(int backendId)
    {
        string subject = backendId < 0 ? "No RunPod Serverless backend is running" : $"Backend {backendId} is not a running RunPod Serverless backend";
        return Utilities.ErrorObj($"{subject}; add or enable one under Server → Backends.", "no_backend");
    }
}
