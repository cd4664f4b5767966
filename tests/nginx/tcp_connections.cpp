// tcp_connections.cpp: the socket table of /proc, matched against this process's descriptors.
#include "nginx/tcp_connections.hpp"

#include <dirent.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <unordered_set>

namespace ssekit::test {
namespace {

// The state column of /proc/net/tcp holds the kernel's TCP state number; 1 is ESTABLISHED.
constexpr const char* kEstablished = "01";

// 127.0.0.1 as /proc/net/tcp prints it: the address in host byte order (little endian).
constexpr const char* kLoopbackHex = "0100007F";

// The inodes of the sockets among this process's descriptors ("socket:[12345]" links).
bool own_socket_inodes(std::unordered_set<unsigned long>& inodes) {
  DIR* fds = opendir("/proc/self/fd");
  if (fds == nullptr) return false;
  char target[PATH_MAX];
  const std::string base = "/proc/self/fd/";
  while (const dirent* entry = readdir(fds)) {
    const std::string link = base + entry->d_name;
    const ssize_t length = readlink(link.c_str(), target, sizeof target - 1);
    if (length <= 0) continue;
    target[length] = '\0';
    unsigned long inode = 0;
    if (std::sscanf(target, "socket:[%lu]", &inode) == 1) inodes.insert(inode);
  }
  closedir(fds);
  return true;
}

}  // namespace

int established_connections_to(int port) {
  std::unordered_set<unsigned long> inodes;
  if (!own_socket_inodes(inodes)) return -1;
  std::ifstream table("/proc/self/net/tcp");
  if (!table) return -1;

  // Columns: sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
  char remote[32];
  std::snprintf(remote, sizeof remote, "%s:%04X", kLoopbackHex, static_cast<unsigned>(port));
  int count = 0;
  std::string line;
  std::getline(table, line);  // the header
  while (std::getline(table, line)) {
    std::istringstream fields(line);
    std::string slot, local, peer, state, queues, timer, retransmits, uid, timeout;
    unsigned long inode = 0;
    fields >> slot >> local >> peer >> state >> queues >> timer >> retransmits >> uid >> timeout >>
        inode;
    if (!fields) continue;
    if (peer == remote && state == kEstablished && inodes.count(inode) != 0) ++count;
  }
  return count;
}

}  // namespace ssekit::test
