using System.Collections.Generic;

namespace SwarmUI.Core;

/// <summary>Stub of SwarmUI's extension base class; SwarmUI calls the hooks in declaration order.</summary>
public abstract class Extension
{
    /// <summary>Folder of the extension, such as "src/Extensions/MyExt/".</summary>
    public string FilePath;

    /// <summary>Name of the extension.</summary>
    public string ExtensionName;

    /// <summary>Version text.</summary>
    public string Version = "(Unset)";

    /// <summary>Author name.</summary>
    public string ExtensionAuthor = "(Unknown)";

    /// <summary>Short description.</summary>
    public string Description = "(No description provided)";

    /// <summary>License name.</summary>
    public string License = "(Unknown)";

    /// <summary>Link to the readme.</summary>
    public string ReadmeURL = "";

    /// <summary>Tags shown in the extension list, such as "paid".</summary>
    public string[] Tags = [];

    /// <summary>Web assets other than scripts and style sheets.</summary>
    public List<string> OtherAssets = [];

    /// <summary>Runs once after the extension is constructed.</summary>
    public virtual void OnFirstInit()
    {
    }

    /// <summary>Runs before model lists are built.</summary>
    public virtual void OnPreInit()
    {
    }

    /// <summary>Runs before saved backends are loaded; backend types are registered here.</summary>
    public virtual void OnInit()
    {
    }

    /// <summary>Runs just before the web server starts.</summary>
    public virtual void OnPreLaunch()
    {
    }

    /// <summary>Runs on a clean shutdown.</summary>
    public virtual void OnShutdown()
    {
    }
}
