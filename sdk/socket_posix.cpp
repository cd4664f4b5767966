// socket_posix.cpp: keeps libcurl's sockets from child processes on Linux and macOS, where a
// descriptor survives fork and exec unless it is marked close-on-exec. POSIX-only: not built
// for Windows (socket_windows.cpp is).
#include <fcntl.h>

#include "platform.hpp"

namespace ssekit::detail {

// libcurl opens its sockets without close-on-exec, so an app that starts a child process (fork
// and exec) while a stream is open hands the connection to the child, which keeps it open after
// the client dropped it: the server streams on to nobody, and a link the watchdog dropped never
// closes. Marked right after socket(); a fork on another thread in between still races.
int mark_socket_not_inherited(void* /*unused*/, curl_socket_t socket, curlsocktype /*purpose*/) {
  const int flags = fcntl(socket, F_GETFD);
  if (flags >= 0) fcntl(socket, F_SETFD, flags | FD_CLOEXEC);
  return CURL_SOCKOPT_OK;
}

}  // namespace ssekit::detail
