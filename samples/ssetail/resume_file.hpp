// --resume FILE: the last event id ssetail printed, kept on disk so a restart continues after it.
// Every update replaces the file atomically (temp file, fsync, rename), so a crash at any point
// leaves either the old id or the new one, never a torn file.
#pragma once

#include <optional>
#include <string>

namespace ssetail {

class ResumeFile {
 public:
  explicit ResumeFile(std::string path);

  /// Reads the stored id. Returns nothing when the file does not exist yet; fails (false, with
  /// `error` set) when it exists but cannot be read or does not hold one id line.
  [[nodiscard]] bool load(std::optional<std::string>& id, std::string& error);

  /// Replaces the stored id with `id` unless it is already the stored one. Fails (false, with
  /// `error` naming the file and the errno text) when any step of the atomic replace fails.
  [[nodiscard]] bool store(const std::string& id, std::string& error);

 private:
  bool replace_contents(const std::string& contents, std::string& error);

  std::string path_;
  std::string temp_path_;
  std::optional<std::string> stored_;
};

}  // namespace ssetail
