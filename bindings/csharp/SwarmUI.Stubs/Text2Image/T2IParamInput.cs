using System.Collections.Generic;
using System.Threading;
using Newtonsoft.Json.Linq;
using SwarmUI.Accounts;

namespace SwarmUI.Text2Image;

/// <summary>Stub of SwarmUI's generation request.</summary>
/// <remarks>The real class stores typed values per registered parameter; the stub stores the JSON that
/// ToJSON would produce in <see cref="RawValues"/>.</remarks>
public class T2IParamInput
{
    /// <summary>Creates a request for a session, which may be null for internal calls.</summary>
    public T2IParamInput(Session session)
    {
        SourceSession = session;
        InterruptToken = session?.SessInterrupt.Token ?? default;
    }

    /// <summary>Session that made the request, or null.</summary>
    public Session SourceSession;

    /// <summary>Session-wide interrupt token.</summary>
    public CancellationToken InterruptToken;

    /// <summary>Id of the user's request.</summary>
    public long UserRequestId = 0;

    /// <summary>Extra values that SwarmUI writes into the image metadata, read when an image is passed to takeOutput.</summary>
    public Dictionary<string, object> ExtraMeta = [];

    /// <summary>Stub-only: parameter values by wire id.</summary>
    public JObject RawValues = [];

    /// <summary>Returns the parameters as a GenerateText2Image body.</summary>
    public JObject ToJSON()
    {
        return (JObject)RawValues.DeepClone();
    }
}
