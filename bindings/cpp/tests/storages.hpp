// ckview::Storage implementations for the binding's tests: local files read with pread (what a
// program would write for its own file layer), and files held in memory. Both count the files
// they open and close, so a test can check that every File was destroyed.
#ifndef CKVIEW_TEST_STORAGES_HPP
#define CKVIEW_TEST_STORAGES_HPP

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "ckview.hpp"

namespace test {

/// Counts the Files a storage opened and destroyed.
struct FileCounts {
  std::atomic<int> opened{0};
  std::atomic<int> closed{0};
  [[nodiscard]] bool balanced() const { return opened.load() == closed.load(); }
};

/// Local files through pread(2): thread-safe without a lock, since every read names its offset.
class PreadStorage : public ckview::Storage {
 public:
  FileCounts counts;

  std::unique_ptr<ckview::File> open(std::string_view path) override {
    const std::string name(path);
    const int fd = ::open(name.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT || errno == ENOTDIR) return nullptr;
      throw std::system_error(errno, std::generic_category(), "open " + name);
    }
    struct stat status {};
    if (::fstat(fd, &status) != 0 || !S_ISREG(status.st_mode)) {  // a directory is no file
      ::close(fd);
      return nullptr;
    }
    return std::make_unique<Fd>(fd, static_cast<uint64_t>(status.st_size), counts);
  }

 private:
  class Fd : public ckview::File {
   public:
    Fd(int fd, uint64_t size, FileCounts &counts) : fd_(fd), size_(size), counts_(counts) { counts_.opened++; }
    Fd(const Fd &) = delete;
    Fd &operator=(const Fd &) = delete;
    ~Fd() override {
      ::close(fd_);
      counts_.closed++;
    }
    uint64_t size() override { return size_; }
    void read_at(uint64_t offset, void *buffer, std::size_t length) override {
      std::size_t done = 0;
      while (done < length) {
        const ssize_t n = ::pread(fd_, static_cast<char *>(buffer) + done, length - done, static_cast<off_t>(offset + done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw std::system_error(errno, std::generic_category(), "pread");
        if (n == 0) throw std::system_error(ENODATA, std::generic_category(), "pread: the file ends first");
        done += static_cast<std::size_t>(n);
      }
    }

   private:
    int fd_;
    uint64_t size_;
    FileCounts &counts_;
  };
};

/// Files held in memory, by path: immutable once built, so reads need no lock.
class MemoryStorage : public ckview::Storage {
 public:
  FileCounts counts;

  void add(std::string path, std::string bytes) {
    files_[std::move(path)] = std::make_shared<const std::string>(std::move(bytes));
  }
  /// Every regular file under `folder` (recursively), under its path as ckview will name it.
  void add_folder(const std::filesystem::path &folder) {
    for (const auto &entry : std::filesystem::recursive_directory_iterator(folder)) {
      if (!entry.is_regular_file()) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      add(entry.path().string(), std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()));
    }
  }
  /// The files of the checkpoint `save_path` names (the folder it is in, or the folder itself).
  static std::shared_ptr<MemoryStorage> of_checkpoint(const std::string &save_path) {
    auto storage = std::make_shared<MemoryStorage>();
    const std::filesystem::path path(save_path);
    std::error_code error;
    storage->add_folder(std::filesystem::is_directory(path, error) ? path : path.parent_path());
    return storage;
  }

  std::unique_ptr<ckview::File> open(std::string_view path) override {
    const auto found = files_.find(std::string(path));
    if (found == files_.end()) return nullptr;
    return std::make_unique<Bytes>(found->second, counts);
  }

 private:
  class Bytes : public ckview::File {
   public:
    Bytes(std::shared_ptr<const std::string> bytes, FileCounts &counts) : bytes_(std::move(bytes)), counts_(counts) {
      counts_.opened++;
    }
    Bytes(const Bytes &) = delete;
    Bytes &operator=(const Bytes &) = delete;
    ~Bytes() override { counts_.closed++; }
    uint64_t size() override { return bytes_->size(); }
    void read_at(uint64_t offset, void *buffer, std::size_t length) override {
      if (offset > bytes_->size() || length > bytes_->size() - offset)
        throw std::out_of_range("MemoryStorage: read past the end");
      std::memcpy(buffer, bytes_->data() + offset, length);
    }

   private:
    std::shared_ptr<const std::string> bytes_;
    FileCounts &counts_;
  };

  std::map<std::string, std::shared_ptr<const std::string>> files_;
};

}  // namespace test

#endif  // CKVIEW_TEST_STORAGES_HPP
