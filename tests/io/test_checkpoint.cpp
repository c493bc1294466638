// HDF5 checkpoints: bit-exact round trip, restore with shape checks, clear errors for missing, foreign,
// truncated and corrupted files, run-folder policy, and crash safety under SIGKILL while writing.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "io/checkpoint.h"
#include "io/metrics.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;

namespace {

using ms::Checkpoint;
using ms::DType;
using ms::Tensor;

using ms::test::error_of;

// Random bits in every byte (NaN patterns included for floats): a round trip must keep them all.
Tensor random_bits(const ms::Shape& shape, DType dt, ms::Rng& rng) {
  Tensor t = Tensor::empty(shape, dt);
  auto* p = static_cast<unsigned char*>(t.raw());
  for (size_t i = 0; i < t.nbytes(); ++i) p[i] = static_cast<unsigned char>(rng.next_u64());
  return t;
}

bool same_bits(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  const Tensor ca = a.contiguous(), cb = b.contiguous();
  return std::memcmp(ca.raw(), cb.raw(), ca.nbytes()) == 0;
}

Checkpoint make_checkpoint(ms::Rng& rng, bool with_big = true) {
  Checkpoint ck;
  ck.params = {
      {"backbone.embedding.weight", ms::test::rand_normal({16, 24}, rng)},
      {"backbone.layers.0.mixer.in_proj.weight", ms::test::rand_normal({96, 24}, rng)},
      {"backbone.layers.0.mixer.A_log", random_bits({48, 16}, DType::f64, rng)},
      {"backbone.layers.0.mixer.D", random_bits({48}, DType::f32, rng)},
      // Many chunks, with a row count that is not a multiple of the chunk's.
      {"big", random_bits({with_big ? 1100 : 1, 1001}, DType::f32, rng)},
      {"scalar", random_bits({}, DType::f64, rng)},
      {"empty", Tensor::empty({0, 5})},
      {"tokens", random_bits({7}, DType::i32, rng)},
      {"counts", random_bits({3, 2}, DType::i64, rng)},
      {"bytes", random_bits({33}, DType::u8, rng)},
      {"half", random_bits({5, 3}, DType::bf16, rng)},
      // A strided view is stored contiguous.
      {"transposed", ms::test::rand_normal({6, 4}, rng).transpose(0, 1)},
      {"a.name with spaces & symbols!", random_bits({2}, DType::f32, rng)},
  };
  for (const auto& [name, t] : ck.params) {
    if (!ms::is_floating(t.dtype()) || t.ndim() == 0) continue;
    ck.optim.emplace_back(name + "/m", random_bits(t.shape(), t.dtype(), rng));
    ck.optim.emplace_back(name + "/v", random_bits(t.shape(), t.dtype(), rng));
  }
  ck.step = static_cast<int64_t>(rng.next_u64() >> 1);
  ck.rng = ms::Rng(rng.next_u64(), rng.next_u64());
  ck.rng.counter = rng.next_u64();
  ck.data_cursor = {{"epoch", 3}, {"index", -1}, {"shard", INT64_MAX}};
  ck.ints = {{"tokens_seen", 123456789012345}};
  ck.reals = {{"best_loss", 0.1 + rng.uniform()}, {"nan", std::nan("")}, {"ema", -1e300}};
  ck.config = "name = \"x\"\n# \xc3\xa9t\xc3\xa9\n[model]\nd_model = 64\n";
  return ck;
}

void expect_equal(const Checkpoint& a, const Checkpoint& b) {
  ASSERT_EQ(a.params.size(), b.params.size());
  for (size_t i = 0; i < a.params.size(); ++i) {
    EXPECT_EQ(a.params[i].first, b.params[i].first);  // order kept
    EXPECT_TRUE(same_bits(a.params[i].second, b.params[i].second)) << a.params[i].first;
  }
  ASSERT_EQ(a.optim.size(), b.optim.size());
  for (size_t i = 0; i < a.optim.size(); ++i) {
    EXPECT_EQ(a.optim[i].first, b.optim[i].first);
    EXPECT_TRUE(same_bits(a.optim[i].second, b.optim[i].second)) << a.optim[i].first;
  }
  EXPECT_EQ(a.step, b.step);
  EXPECT_EQ(a.rng.seed, b.rng.seed);
  EXPECT_EQ(a.rng.stream, b.rng.stream);
  EXPECT_EQ(a.rng.counter, b.rng.counter);
  EXPECT_EQ(a.data_cursor, b.data_cursor);
  EXPECT_EQ(a.ints, b.ints);
  ASSERT_EQ(a.reals.size(), b.reals.size());
  for (const auto& [k, v] : a.reals) EXPECT_EQ(std::memcmp(&v, &b.reals.at(k), sizeof v), 0) << k;
  EXPECT_EQ(a.config, b.config);
}

TEST(Checkpoint, RoundTripIsBitExact) {
  ms::Rng rng(ms::test::test_seed());
  const Checkpoint ck = make_checkpoint(rng);
  const std::string path = ms::test::temp_dir() + "/ck.h5";
  ms::write_checkpoint(path, ck);
  const Checkpoint back = ms::read_checkpoint(path);
  expect_equal(back, ck);
  EXPECT_EQ(back.params[0].second.dtype(), DType::f32);
  EXPECT_EQ(ms::find_tensor(back.params, "backbone.layers.0.mixer.A_log")->dtype(), DType::f64);
  EXPECT_EQ(ms::find_tensor(back.params, "half")->dtype(), DType::bf16);
  EXPECT_EQ(ms::read_checkpoint_config(path), ck.config);
  std::vector<std::string> names;  // the names-only read lists the parameters in order
  for (const auto& [name, t] : ck.params) names.push_back(name);
  EXPECT_EQ(ms::read_checkpoint_param_names(path), names);
  // Writing over an existing checkpoint replaces it; a config larger than a header holds still works.
  Checkpoint big = ck;
  big.config = std::string(200000, 'x') + "\n";
  big.step = 5;
  ms::write_checkpoint(path, big);
  expect_equal(ms::read_checkpoint(path), big);
  EXPECT_EQ(std::distance(fs::directory_iterator(fs::path(path).parent_path()), fs::directory_iterator()), 1);
}

TEST(Checkpoint, CudaTensorsAreCopiedToTheHost) {
  MS_SKIP_WITHOUT_GPU();
  ms::Rng rng(ms::test::test_seed());
  Checkpoint ck;
  const Tensor host = ms::test::rand_normal({37, 5}, rng);
  ck.params = {{"w", host.to(ms::Device::cuda)}};
  const std::string path = ms::test::temp_dir() + "/ck.h5";
  ms::write_checkpoint(path, ck);
  EXPECT_TRUE(same_bits(ms::read_checkpoint(path).params[0].second, host));
}

TEST(Checkpoint, RestoreChecksNamesShapesAndDtypes) {
  ms::Rng rng(ms::test::test_seed());
  const Tensor w = ms::test::rand_normal({256, 64}, rng), b = ms::test::rand_normal({256}, rng);
  const ms::NamedTensors from = {{"backbone.layers.0.mixer.in_proj.weight", w}, {"bias", b}};
  // Same shapes: copied; f32 into f64 converts.
  ms::NamedTensors into = {{"backbone.layers.0.mixer.in_proj.weight", Tensor::zeros({256, 64})},
                           {"bias", Tensor::zeros({256}, DType::f64)}};
  EXPECT_TRUE(ms::restore_tensors("ck.h5", "parameter", from, into).empty());
  EXPECT_TRUE(same_bits(into[0].second, w));
  EXPECT_EQ(into[1].second.item(17), static_cast<double>(b.data<float>()[17]));

  ms::NamedTensors wrong = {{"backbone.layers.0.mixer.in_proj.weight", Tensor::zeros({512, 64})},
                            {"bias", Tensor::zeros({256})}};
  EXPECT_EQ(error_of([&] { ms::restore_tensors("runs/a/last.h5", "parameter", from, wrong); }),
            "checkpoint 'runs/a/last.h5' has parameter backbone.layers.0.mixer.in_proj.weight of shape [256, 64], "
            "the model expects [512, 64]: the config's model section differs from the one the checkpoint was "
            "trained with");
  ms::NamedTensors more = into;
  more.emplace_back("head.weight", Tensor::zeros({3}));
  EXPECT_EQ(error_of([&] { ms::restore_tensors("c.h5", "parameter", from, more); }),
            "checkpoint 'c.h5' has no parameter head.weight that the model expects: the config's model section "
            "differs from the one the checkpoint was trained with");
  EXPECT_EQ(ms::restore_tensors("c.h5", "parameter", from, more, {.allow_missing = true}),
            std::vector<std::string>{"head.weight"});
  ms::NamedTensors fewer = {into[0]};
  EXPECT_EQ(error_of([&] { ms::restore_tensors("c.h5", "parameter", from, fewer); }),
            "checkpoint 'c.h5' has parameter bias that the model does not have: the config's model section differs "
            "from the one the checkpoint was trained with");
  EXPECT_NO_THROW(ms::restore_tensors("c.h5", "parameter", from, fewer, {.allow_unused = true}));
  ms::NamedTensors ints = {{"bias", Tensor::zeros({256}, DType::i32)}};
  EXPECT_EQ(error_of([&] { ms::restore_tensors("c.h5", "parameter", from, ints, {.allow_unused = true}); }),
            "checkpoint 'c.h5' has parameter bias as f32, the model expects i32");
}

TEST(Checkpoint, MissingForeignAndIncompleteFilesAreClearErrors) {
  const std::string dir = ms::test::temp_dir();
  EXPECT_EQ(error_of([&] { ms::read_checkpoint(dir + "/none.h5"); }), "checkpoint '" + dir + "/none.h5' does not exist");
  EXPECT_EQ(error_of([&] { ms::read_checkpoint(dir); }), "checkpoint '" + dir + "' is a directory, not a file");
  std::ofstream(dir + "/empty.h5").close();
  EXPECT_EQ(error_of([&] { ms::read_checkpoint(dir + "/empty.h5"); }), "checkpoint '" + dir + "/empty.h5' is empty (0 bytes)");
  std::ofstream(dir + "/text.h5") << "name = \"not hdf5\"\n";
  EXPECT_EQ(error_of([&] { ms::read_checkpoint(dir + "/text.h5"); }), "checkpoint '" + dir + "/text.h5' is not an HDF5 file");
  // An HDF5 file of someone else's.
  hid_t f = H5Fcreate((dir + "/other.h5").c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  H5Fclose(f);
  EXPECT_EQ(error_of([&] { ms::read_checkpoint(dir + "/other.h5"); }),
            "checkpoint '" + dir + "/other.h5' is an HDF5 file but not a mambaseq checkpoint");
  // A checkpoint missing a dataset.
  ms::Rng rng(ms::test::test_seed());
  ms::write_checkpoint(dir + "/ck.h5", make_checkpoint(rng, false));
  f = H5Fopen((dir + "/ck.h5").c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  ASSERT_GE(H5Ldelete(f, "/state/step", H5P_DEFAULT), 0);
  H5Fclose(f);
  EXPECT_EQ(error_of([&] { ms::read_checkpoint(dir + "/ck.h5"); }),
            "checkpoint '" + dir + "/ck.h5' has no /state/step: it is incomplete or was not written by mambaseq");
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
void put_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

TEST(Checkpoint, TruncatedFilesAreRefusedInOneLine) {
  ms::Rng rng(ms::test::test_seed());
  const std::string dir = ms::test::temp_dir(), path = dir + "/ck.h5", cut = dir + "/cut.h5";
  ms::write_checkpoint(path, make_checkpoint(rng, false));
  const std::string bytes = file_bytes(path);
  for (int i = 1; i < 16; ++i) {
    const size_t len = bytes.size() * static_cast<size_t>(i) / 16 + rng.below(1000);
    put_bytes(cut, bytes.substr(0, len));
    const std::string err = error_of([&] { ms::read_checkpoint(cut); });
    EXPECT_EQ(err.rfind("checkpoint '" + cut + "'", 0), 0u) << "cut at " << len << ": " << err;
    EXPECT_NE(err.find("truncated"), std::string::npos) << err;
    EXPECT_EQ(err.find('\n'), std::string::npos) << err;
  }
}

TEST(Checkpoint, CorruptedTensorDataFailsItsChecksum) {
  ms::Rng rng(ms::test::test_seed());
  const std::string dir = ms::test::temp_dir(), path = dir + "/ck.h5";
  const Checkpoint ck = make_checkpoint(rng);
  ms::write_checkpoint(path, ck);
  std::string bytes = file_bytes(path);
  // Find the bytes of the "big" tensor in the file and flip one in its middle.
  const Tensor& big = *ms::find_tensor(ck.params, "big");
  const std::string needle(static_cast<const char*>(big.raw()) + 3000000, 64);
  const size_t at = bytes.find(needle);
  ASSERT_NE(at, std::string::npos);
  bytes[at + 10] ^= 0x10;
  put_bytes(path, bytes);
  EXPECT_EQ(error_of([&] { ms::read_checkpoint(path); }),
            "checkpoint '" + path + "': dataset /params/big cannot be read: the file is corrupted (HDF5: data error "
            "detected by Fletcher32 checksum)");
}

// Single flipped bytes anywhere: the reader either refuses the file in one line or (bytes HDF5 never
// reads, e.g. padding) returns exactly what was written. It never returns different data.
TEST(Checkpoint, FlippedBytesAnywhereNeverGiveWrongData) {
  ms::Rng rng(ms::test::test_seed());
  const std::string dir = ms::test::temp_dir(), path = dir + "/ck.h5", bad = dir + "/bad.h5";
  Checkpoint ck = make_checkpoint(rng, false);
  ck.optim.resize(4);  // keeps the test fast and the metadata dense
  ms::write_checkpoint(path, ck);
  const std::string bytes = file_bytes(path);
  int refused = 0, harmless = 0;
  const char* env = std::getenv("MAMBASEQ_FLIP_TRIALS");  // more for a longer hunt
  const int trials = env ? std::atoi(env) : 300;
  for (int trial = 0; trial < trials; ++trial) {
    std::string b = bytes;
    const size_t at = rng.below(b.size());
    b[at] = static_cast<char>(b[at] ^ (1 + rng.below(255)));
    put_bytes(bad, b);
    try {
      const Checkpoint got = ms::read_checkpoint(bad);
      expect_equal(got, ck);
      if (testing::Test::HasFailure()) FAIL() << "byte " << at << " of " << b.size() << " changed the data silently";
      ++harmless;
    } catch (const ms::Error& e) {
      const std::string err = e.what();
      EXPECT_EQ(err.rfind("checkpoint '" + bad + "'", 0), 0u) << err;
      EXPECT_EQ(err.find('\n'), std::string::npos) << err;
      ++refused;
    }
  }
  std::printf("flipped bytes: %d refused, %d harmless (file of %zu bytes)\n", refused, harmless, bytes.size());
  EXPECT_GT(refused, 0);
}

TEST(Checkpoint, RunFolderKeepsLastAndEveryNthStep) {
  const std::string dir = ms::test::temp_dir() + "/run";
  Checkpoint ck;
  ck.params = {{"w", Tensor::zeros({4})}};
  for (int64_t step = 1; step <= 7; ++step) {
    ck.step = step;
    ck.params[0].second.fill_(static_cast<double>(step));
    const auto written = ms::save_checkpoint(dir, ck, {.every = 2, .keep = 2});
    EXPECT_EQ(written.size(), step % 2 == 0 ? 2u : 1u);
  }
  const auto steps = ms::list_step_checkpoints(dir);
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].first, 4);
  EXPECT_EQ(steps[1].first, 6);
  EXPECT_EQ(steps[1].second, ms::step_checkpoint_path(dir, 6));
  EXPECT_EQ(fs::path(steps[1].second).filename(), "step_00000006.h5");
  EXPECT_EQ(ms::read_checkpoint(dir + "/last.h5").step, 7);
  const Checkpoint six = ms::read_checkpoint(steps[1].second);
  EXPECT_EQ(six.step, 6);
  EXPECT_EQ(six.params[0].second.item(3), 6.0);
  EXPECT_EQ(ms::resume_checkpoint_path(dir), dir + "/last.h5");
  EXPECT_EQ(ms::resume_checkpoint_path(dir, steps[0].second), steps[0].second);
  EXPECT_EQ(error_of([&] { ms::resume_checkpoint_path(dir + "/nope"); }),
            "cannot resume: '" + dir + "/nope/last.h5' does not exist (start the run without --resume, or name a "
            "checkpoint with --ckpt PATH)");
  EXPECT_EQ(error_of([&] { ms::resume_checkpoint_path(dir, dir + "/x.h5"); }),
            "checkpoint '" + dir + "/x.h5' does not exist");
}

TEST(Checkpoint, PrepareRunGuardsFreshRunsAndTrimsResumedMetrics) {
  const std::string dir = ms::test::temp_dir() + "/runs/demo";
  ms::RunFiles f = ms::prepare_run(dir, "name = \"demo\"\n");
  EXPECT_EQ(f.config, dir + "/config.toml");
  EXPECT_EQ(f.last, dir + "/last.h5");
  {
    ms::MetricsWriter w(f.metrics);
    for (int64_t s = 1; s <= 8; ++s) w.write(ms::MetricsRow(s, "train", 1.0));
  }
  Checkpoint ck;
  ck.step = 5;
  ms::save_checkpoint(dir, ck, {.every = 5});
  // A second fresh run in the same folder would clobber the first.
  EXPECT_EQ(error_of([&] { ms::prepare_run(dir, "x = 1\n"); }),
            "run folder '" + dir + "' already holds a run (last.h5): continue it with --resume, or start elsewhere "
            "with --out DIR");
  // Resuming from step 5 drops rows 6..8 and rewrites the config.
  f = ms::prepare_run(dir, "name = \"demo\"\nsteps = 9\n", 5);
  EXPECT_EQ(ms::read_metrics(f.metrics).size(), 5u);
  std::ifstream in(f.config);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "name = \"demo\"\nsteps = 9\n");
  // Overwriting starts clean.
  ms::prepare_run(dir, "x = 1\n", -1, true);
  EXPECT_FALSE(fs::exists(f.last));
  EXPECT_FALSE(fs::exists(f.metrics));
  EXPECT_TRUE(ms::list_step_checkpoints(dir).empty());
}

// Checkpoint I/O from several threads at once; errors in any thread stay one-line exceptions (HDF5's
// error printing is switched off per thread) and print nothing.
TEST(Checkpoint, ThreadsMayWriteAndReadAtOnce) {
  const std::string dir = ms::test::temp_dir();
  std::vector<std::thread> threads;
  std::atomic<int> good{0}, refused{0};
  testing::internal::CaptureStderr();
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      ms::Rng rng(ms::test::test_seed() + static_cast<uint64_t>(t));
      const Checkpoint ck = make_checkpoint(rng, false);
      const std::string path = dir + "/ck" + std::to_string(t) + ".h5";
      for (int i = 0; i < 5; ++i) {
        ms::write_checkpoint(path, ck);
        const Checkpoint back = ms::read_checkpoint(path);
        if (back.step == ck.step && same_bits(back.params[1].second, ck.params[1].second)) ++good;
      }
      std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);
      try {
        ms::read_checkpoint(path);
      } catch (const ms::Error&) {
        ++refused;
      }
    });
  }
  for (auto& th : threads) th.join();
  const std::string printed = testing::internal::GetCapturedStderr();
  EXPECT_EQ(good.load(), 20);
  EXPECT_EQ(refused.load(), 4);
  EXPECT_EQ(printed, "");
}

TEST(Checkpoint, AFailedWriteLeavesTheOldFileAndNoTemp) {
  const std::string dir = ms::test::temp_dir(), path = dir + "/last.h5";
  Checkpoint ck;
  ck.params = {{"w", Tensor::full({3}, 1.0)}};
  ms::write_checkpoint(path, ck);
  Checkpoint bad = ck;
  bad.params.emplace_back("w", Tensor::zeros({2}));  // duplicate name: the write fails half way
  EXPECT_NE(error_of([&] { ms::write_checkpoint(path, bad); }).find("two tensors named 'w'"), std::string::npos);
  EXPECT_EQ(ms::read_checkpoint(path).params.size(), 1u);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
}

// Checkpoint number `step`: every element of the tensors is a function of the step, so a torn file
// (parts of two steps) would be caught.
Checkpoint numbered(int64_t step) {
  Checkpoint ck;
  ck.step = step;
  Tensor a = Tensor::empty({512, 1024});
  float* p = a.data<float>();
  for (int64_t i = 0; i < a.numel(); ++i) p[i] = static_cast<float>(step * 4096 + (i % 4096));
  ck.params = {{"a", a}};
  ck.optim = {{"a/m", a}, {"a/v", a}};
  ck.config = "step = " + std::to_string(step) + "\n";
  return ck;
}

void expect_numbered(const Checkpoint& ck) {
  ASSERT_EQ(ck.params.size(), 1u);
  ASSERT_EQ(ck.optim.size(), 2u);
  EXPECT_EQ(ck.config, "step = " + std::to_string(ck.step) + "\n");
  for (const Tensor* t : {&ck.params[0].second, &ck.optim[0].second, &ck.optim[1].second}) {
    const float* p = t->data<float>();
    for (int64_t i = 0; i < t->numel(); ++i)
      if (p[i] != static_cast<float>(ck.step * 4096 + (i % 4096))) FAIL() << "element " << i << " of step " << ck.step;
  }
}

// A child process writes 6 MB checkpoints to last.h5 in a loop, reporting on a pipe when it starts
// ('S') and finishes ('D') each write, and is killed with SIGKILL at a random moment of a write after 0-2
// completed ones; each time, last.h5 must be a complete checkpoint, the newest one the child finished.
TEST(Checkpoint, SigkillWhileWritingLeavesThePreviousCheckpointReadable) {
  const std::string dir = ms::test::temp_dir(), path = dir + "/last.h5";
  ms::Rng rng(ms::test::test_seed());
  ms::write_checkpoint(path, numbered(0));
  const auto t0 = std::chrono::steady_clock::now();
  ms::write_checkpoint(path, numbered(0));  // timed warm
  const double write_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  int64_t last_step = 0, mid_write = 0;
  const int kills = 8;
  for (int k = 0; k < kills; ++k) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    std::fflush(nullptr);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      for (int64_t step = last_step + 1;; ++step) {
        const Checkpoint ck = numbered(step);
        if (write(fds[1], "S", 1) != 1) _exit(4);
        try {
          ms::write_checkpoint(path, ck);
        } catch (...) {
          _exit(3);
        }
        if (write(fds[1], "D", 1) != 1) _exit(4);
      }
    }
    close(fds[1]);
    int64_t completed = 0;
    const int64_t wait_writes = k % 3;
    for (int64_t started = 0; started <= wait_writes;) {  // until the start of write number wait_writes + 1
      char c;
      ASSERT_EQ(read(fds[0], &c, 1), 1);
      if (c == 'D') ++completed;
      else ++started;
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(rng.uniform(0.0, 0.8) * write_s));
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the writer exited on its own with status " << status;
    char buf[64];
    for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;)
      for (ssize_t i = 0; i < n; ++i) completed += buf[i] == 'D';
    close(fds[0]);
    for (const auto& e : fs::directory_iterator(dir))
      if (e.path().filename().string().find(".tmp.") != std::string::npos) ++mid_write;
    const Checkpoint ck = ms::read_checkpoint(path);
    // The kill may fall between a rename and its 'D': one more than reported is fine.
    EXPECT_GE(ck.step, last_step + completed);
    EXPECT_LE(ck.step, last_step + completed + 1);
    expect_numbered(ck);
    last_step = ck.step;
  }
  std::printf("%d kills, %lld of them mid-write; reached step %lld; one write takes %.0f ms\n", kills,
              static_cast<long long>(mid_write), static_cast<long long>(last_step), write_s * 1e3);
  EXPECT_GT(mid_write, 0) << "no kill landed during a write: the test proved nothing";
  EXPECT_GT(last_step, 0);
  // The next write removes the dead writers' temp files.
  ms::write_checkpoint(path, numbered(last_step + 1));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
}

}  // namespace
