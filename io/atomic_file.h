// Crash-safe file replacement: write a temp file in the target's directory, fsync it, rename it over the
// target, fsync the directory. A reader (or a run resumed after SIGKILL or a power cut) sees either the
// old file or the new one, never a torn mix.
#pragma once
#include <functional>
#include <string>
#include <string_view>

namespace ms {

// Replaces `path` atomically. `write` creates and fills the temp file whose path it is given (any
// library may write it: HDF5, streams, ...) and must have closed it when it returns. If `write` throws,
// the temp file is removed and the exception propagates; `path` is untouched.
// Temp files left behind by killed writers of the same target (`<path>.tmp.<pid>` whose process is
// gone) are removed on the way.
void atomic_write(const std::string& path, const std::function<void(const std::string& tmp_path)>& write);

// atomic_write for a whole text (configs, rewritten metrics files).
void atomic_write_text(const std::string& path, std::string_view text);

// Makes `target` (an existing file) also appear as `path`, atomically: a hard link when the file system
// allows it (no copy), else a copy; then rename + directory fsync as above.
void atomic_link_or_copy(const std::string& target, const std::string& path);

// fsync of a file or a directory by path; errors name the path.
void fsync_path(const std::string& path);

// Reads a whole file; a one-line error names the path when it is missing or unreadable.
std::string read_text_file(const std::string& path, const char* what = "file");

}  // namespace ms
