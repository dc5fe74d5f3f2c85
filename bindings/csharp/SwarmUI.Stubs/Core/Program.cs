using SwarmUI.Backends;

namespace SwarmUI.Core;

/// <summary>Stub of SwarmUI's central static state.</summary>
public static class Program
{
    /// <summary>The backend registry; SwarmUI creates it before calling OnInit.</summary>
    public static BackendHandler Backends;

    /// <summary>Data folder (server setting --data_dir), relative to SwarmUI's working directory unless absolute.</summary>
    public static string DataDir = "Data";

    /// <summary>Called after model lists change so SwarmUI rebuilds what it sends to clients.</summary>
    public static System.Action ModelRefreshEvent;
}
