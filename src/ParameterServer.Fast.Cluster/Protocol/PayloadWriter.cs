using System.Buffers.Binary;
using System.Text;

namespace ParameterServer.Fast.Cluster.Protocol;

/// <summary>
/// Little-endian writer of control-plane payloads (the extras section of Register, RangeMap,
/// DeclareTable, Progress frames). These are small and rare, so a growable array is fine.
/// </summary>
internal sealed class PayloadWriter
{
    private byte[] _buffer = new byte[256];
    private int _length;

    public ReadOnlySpan<byte> Written => _buffer.AsSpan(0, _length);

    public void U8(byte v) => Reserve(1)[0] = v;
    public void U32(uint v) => BinaryPrimitives.WriteUInt32LittleEndian(Reserve(4), v);
    public void I32(int v) => BinaryPrimitives.WriteInt32LittleEndian(Reserve(4), v);
    public void U64(ulong v) => BinaryPrimitives.WriteUInt64LittleEndian(Reserve(8), v);
    public void I64(long v) => BinaryPrimitives.WriteInt64LittleEndian(Reserve(8), v);
    public void F32(float v) => BinaryPrimitives.WriteSingleLittleEndian(Reserve(4), v);
    public void F64(double v) => BinaryPrimitives.WriteDoubleLittleEndian(Reserve(8), v);
    public void Bool(bool v) => U8(v ? (byte)1 : (byte)0);

    public void Str(string v)
    {
        int n = Encoding.UTF8.GetByteCount(v);
        I32(n);
        Encoding.UTF8.GetBytes(v, Reserve(n));
    }

    private Span<byte> Reserve(int n)
    {
        if (_length + n > _buffer.Length)
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + n));
        Span<byte> s = _buffer.AsSpan(_length, n);
        _length += n;
        return s;
    }
}
