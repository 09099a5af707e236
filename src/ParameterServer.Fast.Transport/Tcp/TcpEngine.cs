namespace ParameterServer.Fast.Transport.Tcp;

/// <summary>
/// Which code moves a plain TCP connection's bytes; both speak the same wire format, so nodes
/// with different engines talk to each other. `psf bench transport --transport
/// tcp-managed,tcp-native` measures the two side by side; the README has the figures that made
/// <see cref="TcpTransport.DefaultEngine"/>.
/// </summary>
public enum TcpEngine
{
    /// <summary>.NET sockets: synchronous Send/Receive on pinned buffers (<see cref="TcpConnection"/>).</summary>
    Managed,

    /// <summary>The C shim's psf_tcp_*: gather sendmsg, blocking recvmsg (<see cref="NativeTcpConnection"/>).</summary>
    Native,
}
