#include "io/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "kernels/check.h"

namespace fs = std::filesystem;

namespace ms {
namespace {

std::string errno_text() { return std::strerror(errno); }

std::string parent_dir(const std::string& path) {
  fs::path p = fs::path(path).parent_path();
  return p.empty() ? std::string(".") : p.string();
}

// `<path>.tmp.<pid>.<n>`: unique per process and call, in the target's directory so rename() is atomic.
std::string temp_name(const std::string& path) {
  static std::atomic<uint64_t> counter{0};
  return path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
}

// Removes `<name>.tmp.<pid>...` siblings whose writer process no longer exists.
void remove_stale_temps(const std::string& path) {
  const fs::path target(path);
  const std::string prefix = target.filename().string() + ".tmp.";
  std::error_code ec;
  fs::directory_iterator it(parent_dir(path), ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    const long pid = std::strtol(name.c_str() + prefix.size(), nullptr, 10);
    if (pid <= 0 || pid == ::getpid()) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == -1 && errno == ESRCH) fs::remove(it->path(), ec);
  }
}

void rename_and_sync(const std::string& tmp, const std::string& path) {
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = errno_text();
    ::unlink(tmp.c_str());
    MS_FAIL("cannot rename '", tmp, "' to '", path, "': ", why);
  }
  fsync_path(parent_dir(path));
}

}  // namespace

void fsync_path(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) MS_FAIL("cannot open '", path, "' to fsync it: ", errno_text());
  // Some file systems refuse fsync on directories (EINVAL); the rename is still atomic there.
  if (::fsync(fd) != 0 && errno != EINVAL) {
    const std::string why = errno_text();
    ::close(fd);
    MS_FAIL("fsync of '", path, "' failed: ", why);
  }
  ::close(fd);
}

void atomic_write(const std::string& path, const std::function<void(const std::string& tmp_path)>& write) {
  const std::string dir = parent_dir(path);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) MS_FAIL("cannot write '", path, "': directory '", dir, "' does not exist");
  remove_stale_temps(path);
  const std::string tmp = temp_name(path);
  try {
    write(tmp);
    fsync_path(tmp);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  rename_and_sync(tmp, path);
}

void atomic_write_text(const std::string& path, std::string_view text) {
  atomic_write(path, [&](const std::string& tmp) {
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) MS_FAIL("cannot create '", tmp, "': ", errno_text());
    size_t done = 0;
    while (done < text.size()) {
      const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        const std::string why = errno_text();
        ::close(fd);
        MS_FAIL("cannot write '", path, "': ", why);
      }
      done += static_cast<size_t>(n);
    }
    if (::close(fd) != 0) MS_FAIL("cannot write '", path, "': ", errno_text());
  });
}

void atomic_link_or_copy(const std::string& target, const std::string& path) {
  const std::string tmp = temp_name(path);
  if (::link(target.c_str(), tmp.c_str()) != 0) {
    std::error_code ec;
    fs::copy_file(target, tmp, fs::copy_options::overwrite_existing, ec);
    if (ec) {
      ::unlink(tmp.c_str());
      MS_FAIL("cannot copy '", target, "' to '", path, "': ", ec.message());
    }
    fsync_path(tmp);
  }
  rename_and_sync(tmp, path);
}

std::string read_text_file(const std::string& path, const char* what) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (!fs::exists(status)) MS_FAIL(what, " '", path, "' does not exist");
  if (fs::is_directory(status)) MS_FAIL(what, " '", path, "' is a directory, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) MS_FAIL(what, " '", path, "' cannot be read: ", errno_text());
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) MS_FAIL(what, " '", path, "' cannot be read: ", errno_text());
  return ss.str();
}

}  // namespace ms
