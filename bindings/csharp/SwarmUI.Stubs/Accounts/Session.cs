using System.Threading;

namespace SwarmUI.Accounts;

/// <summary>Stub of a SwarmUI session.</summary>
public class Session
{
    /// <summary>Stub-only: creates a session for a user.</summary>
    public Session(User user)
    {
        User = user;
    }

    /// <summary>The session's user.</summary>
    public User User;

    /// <summary>Source of the session-wide interrupt token.</summary>
    public CancellationTokenSource SessInterrupt = new();
}
