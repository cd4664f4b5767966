// tcp_connections.hpp: how many TCP connections this process holds open to a local port, read
// from the kernel's socket table, so a test can see connection sharing from outside libcurl.
#pragma once

namespace ssekit::test {

/// Established TCP connections from sockets of this process to 127.0.0.1:`port`, counted from
/// /proc/self/net/tcp (the kernel's IPv4 table) and /proc/self/fd (which sockets are ours).
/// Returns -1 when either cannot be read.
int established_connections_to(int port);

}  // namespace ssekit::test
