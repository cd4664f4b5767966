// The --resume file: load at start, atomic replace after each printed event.
#include "resume_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>
#include <utility>

namespace ssetail {
namespace {

/// An id is one line of the stream, so no id can be longer than the parser's 1 MiB line limit;
/// a bigger file is not ours.
constexpr std::size_t kMaxFileBytes = (std::size_t{1} << 20) + 1;

/// Permissions of a new resume file before the umask: it holds an event id, not a secret.
constexpr mode_t kFileMode = 0644;

std::string describe_errno(const std::string& action, const std::string& path) {
  return action + " --resume file '" + path + "': " + std::strerror(errno);
}

/// Writes all of `bytes` to `fd`, retrying short writes and EINTR.
bool write_fully(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t written = ::write(fd, bytes.data(), bytes.size());
    if (written < 0 && errno == EINTR) continue;
    if (written < 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(written));
  }
  return true;
}

/// Flushes the directory holding `path`, so the rename itself survives a power cut.
void sync_directory_of(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  const std::string directory =
      slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // the file itself is already durable; only the rename could be lost
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

ResumeFile::ResumeFile(std::string path)
    : path_(std::move(path)), temp_path_(path_ + ".tmp." + std::to_string(::getpid())) {}

bool ResumeFile::load(std::optional<std::string>& id, std::string& error) {
  id.reset();
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return true;  // first run: nothing to resume from
    error = describe_errno("cannot read", path_);
    return false;
  }

  std::string contents;
  char chunk[4096];
  bool failed = false;
  while (contents.size() <= kMaxFileBytes) {
    const ssize_t got = ::read(fd, chunk, sizeof chunk);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      error = describe_errno("cannot read", path_);
      failed = true;
    }
    if (got <= 0) break;
    contents.append(chunk, static_cast<std::size_t>(got));
  }
  ::close(fd);
  if (failed) return false;

  // The file is "<id>\n"; an empty file means the stream had no id yet.
  if (!contents.empty() && contents.back() == '\n') contents.pop_back();
  if (contents.size() >= kMaxFileBytes ||
      contents.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
    error = "--resume file '" + path_ + "' does not hold a single event id line";
    return false;
  }
  stored_ = contents;
  if (!contents.empty()) id = std::move(contents);
  return true;
}

bool ResumeFile::store(const std::string& id, std::string& error) {
  if (stored_ == id) return true;  // events without an id: nothing new to keep
  if (!replace_contents(id + "\n", error)) return false;
  stored_ = id;
  return true;
}

bool ResumeFile::replace_contents(const std::string& contents, std::string& error) {
  const int fd = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, kFileMode);
  if (fd < 0) {
    error = describe_errno("cannot write", temp_path_);
    return false;
  }

  // fsync before rename: otherwise a crash could leave the new name pointing at empty data.
  const bool written = write_fully(fd, contents) && ::fsync(fd) == 0;
  if (!written) error = describe_errno("cannot write", temp_path_);
  ::close(fd);
  if (!written) {
    ::unlink(temp_path_.c_str());
    return false;
  }

  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    error = describe_errno("cannot replace", path_);
    ::unlink(temp_path_.c_str());
    return false;
  }
  sync_directory_of(path_);
  return true;
}

}  // namespace ssetail
