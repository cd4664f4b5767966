// socket_windows.cpp: keeps libcurl's sockets from child processes on Windows, where a socket
// handle is inherited by every child started with handle inheritance on (CreateProcess with
// bInheritHandles). Compiled by scripts/check-windows; never run here.
#include "platform.hpp"  // curl.h brings <winsock2.h> before <windows.h>, as Winsock requires

#include <windows.h>

namespace ssekit::detail {

// A child that inherits the socket keeps the stream's connection open after the client dropped
// it, as on POSIX without close-on-exec. A socket that is not a plain kernel handle (a layered
// service provider's) refuses the flag; it still works, only inheritable.
int mark_socket_not_inherited(void* /*unused*/, curl_socket_t socket, curlsocktype /*purpose*/) {
  (void)SetHandleInformation(reinterpret_cast<HANDLE>(socket), HANDLE_FLAG_INHERIT, 0);
  return CURL_SOCKOPT_OK;
}

}  // namespace ssekit::detail
