namespace ParameterServer.Fast.Codec.Filters;

/// <summary>
/// A user-defined filter (the paper's §3.6): decides which entries of a push travel. Entries are
/// keys with <c>width</c> values each; the filter moves the kept ones to the front of both spans,
/// in order, and returns how many keys remain. It works in place on the worker's send buffers, so
/// filtering allocates nothing; anything it withholds it must keep itself (nothing may be lost).
/// </summary>
public interface IPushFilter
{
    int Apply(Span<ulong> keys, Span<float> values, int width);
}
