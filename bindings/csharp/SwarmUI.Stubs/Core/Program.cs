using SwarmUI.Backends;

namespace SwarmUI.Core;

/// <summary>Stub of SwarmUI's central static state.</summary>
public static class Program
{
    /// <summary>The backend registry; SwarmUI creates it before calling OnInit.</summary>
    public static BackendHandler Backends;
}
