using System;

namespace SwarmUI.Core;

/// <summary>Stub of the attribute that turns a settings field into a dropdown.</summary>
[AttributeUsage(AttributeTargets.Field)]
public class SettingsOptionsAttribute : Attribute
{
    /// <summary>Values offered.</summary>
    public virtual string[] Options => [];

    /// <summary>Display names of the values.</summary>
    public virtual string[] Names => Options;
}

/// <summary>Dropdown with a fixed list of values.</summary>
[AttributeUsage(AttributeTargets.Field)]
public class ManualSettingsOptionsAttribute : SettingsOptionsAttribute
{
    /// <summary>Values offered.</summary>
    public string[] Vals;

    /// <summary>Display names, or null to show the values.</summary>
    public string[] ManualNames;

    /// <inheritdoc/>
    public override string[] Options => Vals;

    /// <inheritdoc/>
    public override string[] Names => ManualNames ?? Vals;
}
