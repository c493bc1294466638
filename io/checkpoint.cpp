// HDF5 side of checkpoints (C API: portable across HDF5 1.10-1.14, and its errors are easy to silence and
// to summarize in one line).
#include "io/checkpoint.h"

#include <hdf5.h>

#include <filesystem>
#include <mutex>
#include <set>
#include <utility>

#include "io/atomic_file.h"
#include "kernels/check.h"

namespace ms {
namespace {

constexpr const char* kFormat = "mambaseq-checkpoint";
constexpr int64_t kVersion = 1;
constexpr size_t kChunkBytes = size_t{64} << 10;   // checksum unit; bigger chunk buffers get mmapped
                                                   // per chunk by malloc (page faults: 5x slower writes)
constexpr size_t kCompactMaxBytes = 60000;          // small datasets live in the (checksummed) object header

// Owns an HDF5 identifier and closes it with the matching function.
class H5Id {
 public:
  H5Id() = default;
  H5Id(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  H5Id(H5Id&& o) noexcept : id_(std::exchange(o.id_, -1)), close_(o.close_) {}
  H5Id& operator=(H5Id&& o) noexcept {
    reset();
    id_ = std::exchange(o.id_, -1);
    close_ = o.close_;
    return *this;
  }
  H5Id(const H5Id&) = delete;
  H5Id& operator=(const H5Id&) = delete;
  ~H5Id() { reset(); }
  void reset() {
    if (id_ >= 0 && close_) close_(id_);
    id_ = -1;
  }
  hid_t release() { return std::exchange(id_, -1); }
  bool ok() const { return id_ >= 0; }
  operator hid_t() const { return id_; }

 private:
  hid_t id_ = -1;
  herr_t (*close_)(hid_t) = nullptr;
};

// HDF5 builds without H5_HAVE_THREADSAFE must not be entered by two threads at once: every use goes
// through this lock, so a checkpoint may be written from a background thread while another is read.
std::mutex& hdf5_mutex() {
  static std::mutex m;
  return m;
}

// HDF5 prints its error stack to stderr by default; we turn errors into one-line messages instead.
// In thread-safe builds the setting is per thread.
void quiet_hdf5() {
  thread_local const bool done = [] {
    H5open();
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    return true;
  }();
  (void)done;
}

// The most specific message on HDF5's error stack ("truncated file: eof = ...", "data error detected by
// Fletcher32 checksum"), then clears the stack.
std::string hdf5_cause() {
  std::string cause;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_UPWARD,
      [](unsigned n, const H5E_error2_t* e, void* data) -> herr_t {
        auto* out = static_cast<std::string*>(data);
        if (out->empty() && e->desc && *e->desc) *out = e->desc;
        (void)n;
        return 0;
      },
      &cause);
  H5Eclear2(H5E_DEFAULT);
  return cause.empty() ? std::string("unknown HDF5 error") : cause;
}

[[noreturn]] void fail_read(const std::string& path, const std::string& what) {
  MS_FAIL("checkpoint '", path, "': ", what, " (HDF5: ", hdf5_cause(), ")");
}
[[noreturn]] void fail_write(const std::string& path, const std::string& what) {
  MS_FAIL("cannot write checkpoint '", path, "': ", what, " (HDF5: ", hdf5_cause(), ")");
}

struct TypeMap {
  hid_t file_type, mem_type;
};
TypeMap h5_types(DType dt) {
  switch (dt) {
    case DType::f32: return {H5T_IEEE_F32LE, H5T_NATIVE_FLOAT};
    case DType::f64: return {H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE};
    case DType::bf16: return {H5T_STD_U16LE, H5T_NATIVE_UINT16};  // with attribute dtype = "bf16"
    case DType::i32: return {H5T_STD_I32LE, H5T_NATIVE_INT32};
    case DType::i64: return {H5T_STD_I64LE, H5T_NATIVE_INT64};
    case DType::u8: return {H5T_STD_U8LE, H5T_NATIVE_UINT8};
  }
  MS_CHECK(false, "unknown dtype");
}

uint64_t fnv1a64(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

// ---------------------------------------------------------------------------------------------------
// writing

struct Writer {
  std::string path;  // the target, for messages
  hid_t file = -1;
  H5Id lcpl;         // creates intermediate groups for names with '/'

  H5Id group(hid_t parent, const char* name) {
    H5Id gcpl(H5Pcreate(H5P_GROUP_CREATE), H5Pclose);
    // Track creation order so tensors read back in the order the model listed them.
    H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
    // Keep links in the group's (checksummed) object header: HDF5 1.10's "dense" link storage has an
    // error path that frees uninitialized memory when its fractal heap is corrupted (found by the
    // flipped-bytes test); compact storage is checked whole when the group is opened.
    H5Pset_link_phase_change(gcpl, 65535, 65535);
    H5Id g(H5Gcreate2(parent, name, lcpl, gcpl, H5P_DEFAULT), H5Gclose);
    if (!g.ok()) fail_write(path, std::string("cannot create group ") + name);
    return g;
  }

  void string_attr(hid_t obj, const char* name, const std::string& value) {
    H5Id type(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(type, std::max<size_t>(1, value.size()));
    H5Tset_strpad(type, H5T_STR_NULLPAD);
    H5Id space(H5Screate(H5S_SCALAR), H5Sclose);
    H5Id attr(H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
    std::string buf = value.empty() ? std::string(1, '\0') : value;
    if (!attr.ok() || H5Awrite(attr, type, buf.data()) < 0) fail_write(path, std::string("attribute ") + name);
  }

  void u64_attr(hid_t obj, const char* name, uint64_t value) {
    H5Id space(H5Screate(H5S_SCALAR), H5Sclose);
    H5Id attr(H5Acreate2(obj, name, H5T_STD_U64LE, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
    if (!attr.ok() || H5Awrite(attr, H5T_NATIVE_UINT64, &value) < 0) fail_write(path, std::string("attribute ") + name);
  }

  // A small dataset stored inside its object header (covered by the header checksum).
  void small(hid_t parent, const std::string& name, hid_t file_type, hid_t mem_type, const Shape& shape,
             const void* data) {
    std::vector<hsize_t> dims(shape.begin(), shape.end());
    H5Id space(shape.empty() ? H5Screate(H5S_SCALAR) : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
               H5Sclose);
    H5Id dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
    H5Pset_layout(dcpl, H5D_COMPACT);
    H5Id ds(H5Dcreate2(parent, name.c_str(), file_type, space, lcpl, dcpl, H5P_DEFAULT), H5Dclose);
    if (!ds.ok() || H5Dwrite(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) fail_write(path, "dataset " + name);
  }

  void tensor(hid_t parent, const std::string& prefix, const std::string& name, const Tensor& t_any) {
    MS_CHECK(t_any.defined(), "checkpoint tensor '", name, "' is undefined");
    MS_CHECK(!name.empty() && name.front() != '/' && name.back() != '/' && name.find("//") == std::string::npos,
             "checkpoint tensor name '", name, "' is not a valid path");
    const Tensor t = t_any.to(Device::cpu).contiguous();
    const TypeMap tm = h5_types(t.dtype());
    const std::vector<hsize_t> dims(t.shape().begin(), t.shape().end());
    const int nd = static_cast<int>(dims.size());
    H5Id space(nd == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(nd, dims.data(), nullptr), H5Sclose);
    H5Id dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
    if (nd > 0 && t.numel() > 0) {
      // Chunks of about kChunkBytes, cut along the leading dimensions, each with a Fletcher-32 checksum.
      std::vector<hsize_t> chunk = dims;
      for (int d = 0; d < nd; ++d) {
        size_t inner = dtype_size(t.dtype());
        for (int e = d + 1; e < nd; ++e) inner *= chunk[e];
        if (inner * chunk[d] <= kChunkBytes) break;
        chunk[d] = std::max<hsize_t>(1, kChunkBytes / inner);
        if (chunk[d] > 1) break;
      }
      H5Pset_chunk(dcpl, nd, chunk.data());
      H5Pset_fletcher32(dcpl);
    } else {
      H5Pset_layout(dcpl, H5D_COMPACT);
    }
    H5Id ds(H5Dcreate2(parent, name.c_str(), tm.file_type, space, lcpl, dcpl, H5P_DEFAULT), H5Dclose);
    if (!ds.ok()) fail_write(path, "cannot create dataset " + prefix + name);
    if (t.numel() > 0 && H5Dwrite(ds, tm.mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.raw()) < 0)
      fail_write(path, "cannot write dataset " + prefix + name);
    if (t.dtype() == DType::bf16) string_attr(ds, "dtype", "bf16");
  }

  void tensors(const char* group_name, const NamedTensors& ts) {
    std::set<std::string> seen;
    H5Id g = group(file, group_name);
    for (const auto& [name, t] : ts) {
      MS_CHECK(seen.insert(name).second, "checkpoint has two tensors named '", name, "' in /", group_name);
      tensor(g, std::string("/") + group_name + "/", name, t);
    }
  }
};

void write_hdf5(const std::string& tmp, const std::string& path, const Checkpoint& ck) {
  quiet_hdf5();
  H5Id fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  // The 1.10 format checksums the superblock and every object header.
  H5Pset_libver_bounds(fapl, H5F_LIBVER_V110, H5F_LIBVER_V110);
  H5Id file(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl), H5Fclose);
  if (!file.ok()) fail_write(path, "cannot create '" + tmp + "'");
  Writer w{path, file, H5Id(H5Pcreate(H5P_LINK_CREATE), H5Pclose)};
  H5Pset_create_intermediate_group(w.lcpl, 1);

  w.string_attr(file, "format", kFormat);
  w.small(file, "format_version", H5T_STD_I64LE, H5T_NATIVE_INT64, {}, &kVersion);
  w.tensors("params", ck.params);
  w.tensors("optim", ck.optim);
  {
    H5Id state = w.group(file, "state");
    w.small(state, "step", H5T_STD_I64LE, H5T_NATIVE_INT64, {}, &ck.step);
    const uint64_t rng[3] = {ck.rng.seed, ck.rng.stream, ck.rng.counter};
    w.small(state, "rng", H5T_STD_U64LE, H5T_NATIVE_UINT64, {3}, rng);
    H5Id cursor = w.group(state, "data_cursor");
    for (const auto& [k, v] : ck.data_cursor) w.small(cursor, k, H5T_STD_I64LE, H5T_NATIVE_INT64, {}, &v);
    H5Id ints = w.group(state, "ints");
    for (const auto& [k, v] : ck.ints) w.small(ints, k, H5T_STD_I64LE, H5T_NATIVE_INT64, {}, &v);
    H5Id reals = w.group(state, "reals");
    for (const auto& [k, v] : ck.reals) w.small(reals, k, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {}, &v);
  }
  {
    H5Id type(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(type, std::max<size_t>(1, ck.config.size()));
    H5Tset_strpad(type, H5T_STR_NULLPAD);
    H5Id space(H5Screate(H5S_SCALAR), H5Sclose);
    H5Id dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
    if (ck.config.size() <= kCompactMaxBytes) H5Pset_layout(dcpl, H5D_COMPACT);
    H5Id ds(H5Dcreate2(file, "config", type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), H5Dclose);
    const std::string buf = ck.config.empty() ? std::string(1, '\0') : ck.config;
    if (!ds.ok() || H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()) < 0) fail_write(path, "dataset /config");
    // A large config is stored outside the header: keep our own checksum of it.
    w.u64_attr(ds, "fnv1a64", fnv1a64(ck.config));
  }
  if (H5Fclose(file.release()) < 0) fail_write(path, "closing '" + tmp + "' failed");
}

// ---------------------------------------------------------------------------------------------------
// reading

struct Reader {
  std::string path;
  H5Id file;

  [[noreturn]] void missing(const std::string& object) const {
    MS_FAIL("checkpoint '", path, "' has no ", object, ": it is incomplete or was not written by mambaseq");
  }

  bool exists(hid_t loc, const std::string& name) const {
    const htri_t e = H5Lexists(loc, name.c_str(), H5P_DEFAULT);
    if (e < 0) fail_read(path, "cannot look up " + name + ": the file is damaged");
    return e > 0;
  }

  H5Id open_group(hid_t loc, const std::string& name, const std::string& shown) const {
    if (!exists(loc, name)) missing(shown);
    H5Id g(H5Gopen2(loc, name.c_str(), H5P_DEFAULT), H5Gclose);
    if (!g.ok()) fail_read(path, "cannot open group " + shown + ": the file is damaged");
    return g;
  }

  // Names of the datasets under `group` (recursively, joined with '/'), in creation order when tracked.
  void list(hid_t group, const std::string& prefix, const std::string& shown, std::vector<std::string>& out) const {
    H5G_info_t info;
    if (H5Gget_info(group, &info) < 0) fail_read(path, "cannot list " + shown + ": the file is damaged");
    H5_index_t index = H5_INDEX_CRT_ORDER;
    if (info.nlinks > 0 && H5Lget_name_by_idx(group, ".", index, H5_ITER_INC, 0, nullptr, 0, H5P_DEFAULT) < 0) {
      H5Eclear2(H5E_DEFAULT);
      index = H5_INDEX_NAME;  // groups written without creation-order tracking (intermediate ones)
    }
    for (hsize_t i = 0; i < info.nlinks; ++i) {
      const ssize_t len = H5Lget_name_by_idx(group, ".", index, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
      if (len < 0) fail_read(path, "cannot list " + shown + ": the file is damaged");
      std::string name(static_cast<size_t>(len) + 1, '\0');
      H5Lget_name_by_idx(group, ".", index, H5_ITER_INC, i, name.data(), name.size(), H5P_DEFAULT);
      name.resize(static_cast<size_t>(len));
      H5Id obj(H5Oopen(group, name.c_str(), H5P_DEFAULT), H5Oclose);
      if (!obj.ok()) fail_read(path, "cannot open " + shown + name + ": the file is damaged");
      const H5I_type_t type = H5Iget_type(obj);
      if (type == H5I_GROUP) list(obj, prefix + name + "/", shown + name + "/", out);
      else if (type == H5I_DATASET) out.push_back(prefix + name);
    }
  }

  Tensor tensor(hid_t group, const std::string& name, const std::string& shown) const {
    H5Id ds(H5Dopen2(group, name.c_str(), H5P_DEFAULT), H5Dclose);
    if (!ds.ok()) fail_read(path, "cannot open dataset " + shown + ": the file is damaged");
    H5Id type(H5Dget_type(ds), H5Tclose);
    const H5T_class_t cls = H5Tget_class(type);
    const size_t size = H5Tget_size(type);
    const H5T_sign_t sign = H5Tget_sign(type);
    DType dt;
    if (cls == H5T_FLOAT && size == 4) dt = DType::f32;
    else if (cls == H5T_FLOAT && size == 8) dt = DType::f64;
    else if (cls == H5T_INTEGER && size == 4 && sign == H5T_SGN_2) dt = DType::i32;
    else if (cls == H5T_INTEGER && size == 8 && sign == H5T_SGN_2) dt = DType::i64;
    else if (cls == H5T_INTEGER && size == 1 && sign == H5T_SGN_NONE) dt = DType::u8;
    else if (cls == H5T_INTEGER && size == 2 && sign == H5T_SGN_NONE && H5Aexists(ds, "dtype") > 0) dt = DType::bf16;
    else MS_FAIL("checkpoint '", path, "': dataset ", shown, " has an element type mambaseq does not use");
    H5Id space(H5Dget_space(ds), H5Sclose);
    const int nd = H5Sget_simple_extent_ndims(space);
    if (nd < 0) fail_read(path, "cannot read the shape of " + shown + ": the file is damaged");
    std::vector<hsize_t> dims(static_cast<size_t>(nd));
    H5Sget_simple_extent_dims(space, dims.data(), nullptr);
    Tensor t = Tensor::empty(Shape(dims.begin(), dims.end()), dt);
    if (t.numel() > 0 && H5Dread(ds, h5_types(dt).mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.raw()) < 0)
      fail_read(path, "dataset " + shown + " cannot be read: the file is corrupted");
    return t;
  }

  // The dataset names under a group, in the order they were written.
  std::vector<std::string> names(const char* group_name) const {
    H5Id g = open_group(file, group_name, std::string("/") + group_name);
    std::vector<std::string> out;
    list(g, "", std::string("/") + group_name + "/", out);
    return out;
  }

  NamedTensors tensors(const char* group_name) const {
    const std::string shown = std::string("/") + group_name + "/";
    H5Id g = open_group(file, group_name, std::string("/") + group_name);
    std::vector<std::string> names;
    list(g, "", shown, names);
    NamedTensors out;
    out.reserve(names.size());
    for (const auto& n : names) out.emplace_back(n, tensor(g, n, shown + n));
    return out;
  }

  // A scalar (or fixed-size 1-D) dataset of `count` elements read as `mem_type`.
  void small(hid_t loc, const std::string& name, const std::string& shown, hid_t mem_type, void* out,
             hssize_t count) const {
    if (!exists(loc, name)) missing(shown);
    H5Id ds(H5Dopen2(loc, name.c_str(), H5P_DEFAULT), H5Dclose);
    if (!ds.ok()) fail_read(path, "cannot open " + shown + ": the file is damaged");
    H5Id space(H5Dget_space(ds), H5Sclose);
    if (H5Sget_simple_extent_npoints(space) != count)
      MS_FAIL("checkpoint '", path, "': ", shown, " has ", H5Sget_simple_extent_npoints(space), " elements, expected ",
              count);
    if (H5Dread(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0)
      fail_read(path, shown + " cannot be read: the file is corrupted");
  }

  template <class T>
  std::map<std::string, T> scalars(hid_t state, const char* group_name, hid_t mem_type) const {
    const std::string shown = std::string("/state/") + group_name;
    H5Id g = open_group(state, group_name, shown);
    std::vector<std::string> names;
    list(g, "", shown + "/", names);
    std::map<std::string, T> out;
    for (const auto& n : names) small(g, n, shown + "/" + n, mem_type, &out[n], 1);
    return out;
  }

  std::string config() const {
    if (!exists(file, "config")) missing("/config");
    H5Id ds(H5Dopen2(file, "config", H5P_DEFAULT), H5Dclose);
    if (!ds.ok()) fail_read(path, "cannot open /config: the file is damaged");
    H5Id type(H5Dget_type(ds), H5Tclose);
    if (H5Tget_class(type) != H5T_STRING || H5Tis_variable_str(type) > 0)
      MS_FAIL("checkpoint '", path, "': /config is not a fixed-length string");
    std::string text(H5Tget_size(type), '\0');
    if (H5Dread(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, text.data()) < 0)
      fail_read(path, "/config cannot be read: the file is corrupted");
    while (!text.empty() && text.back() == '\0') text.pop_back();
    uint64_t sum = 0;
    H5Id attr(H5Aopen(ds, "fnv1a64", H5P_DEFAULT), H5Aclose);
    if (!attr.ok() || H5Aread(attr, H5T_NATIVE_UINT64, &sum) < 0) fail_read(path, "/config has no checksum");
    if (sum != fnv1a64(text)) MS_FAIL("checkpoint '", path, "': /config fails its checksum: the file is corrupted");
    return text;
  }
};

Reader open_checkpoint(const std::string& path) {
  quiet_hdf5();
  std::error_code ec;
  const auto st = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(st)) MS_FAIL("checkpoint '", path, "' does not exist");
  if (std::filesystem::is_directory(st)) MS_FAIL("checkpoint '", path, "' is a directory, not a file");
  if (std::filesystem::file_size(path, ec) == 0) MS_FAIL("checkpoint '", path, "' is empty (0 bytes)");
  const htri_t is_h5 = H5Fis_hdf5(path.c_str());
  if (is_h5 == 0) MS_FAIL("checkpoint '", path, "' is not an HDF5 file");
  if (is_h5 < 0) fail_read(path, "cannot be opened");
  H5Id fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
#if H5_VERSION_GE(1, 10, 7)
  H5Pset_file_locking(fapl, false, true);  // read-only use; locks fail on some network file systems
#endif
  Reader r{path, H5Id(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl), H5Fclose)};
  if (!r.file.ok()) fail_read(path, "cannot be opened: the file is truncated or corrupted");
  // The format marker.
  std::string format;
  if (H5Aexists(r.file, "format") > 0) {
    H5Id attr(H5Aopen(r.file, "format", H5P_DEFAULT), H5Aclose);
    H5Id type(H5Aget_type(attr), H5Tclose);
    if (attr.ok() && H5Tget_class(type) == H5T_STRING && H5Tis_variable_str(type) <= 0) {
      format.assign(H5Tget_size(type), '\0');
      if (H5Aread(attr, type, format.data()) < 0) fail_read(path, "the format attribute cannot be read: the file is damaged");
      while (!format.empty() && format.back() == '\0') format.pop_back();
    }
  }
  H5Eclear2(H5E_DEFAULT);
  if (format != kFormat) MS_FAIL("checkpoint '", path, "' is an HDF5 file but not a mambaseq checkpoint");
  int64_t version = 0;
  r.small(r.file, "format_version", "/format_version", H5T_NATIVE_INT64, &version, 1);
  if (version > kVersion)
    MS_FAIL("checkpoint '", path, "' has format version ", version, "; this build reads up to ", kVersion,
            " (use a newer mambaseq)");
  return r;
}

}  // namespace

void write_checkpoint(const std::string& path, const Checkpoint& ck) {
  atomic_write(path, [&](const std::string& tmp) {
    std::lock_guard<std::mutex> lock(hdf5_mutex());
    write_hdf5(tmp, path, ck);
  });
}

Checkpoint read_checkpoint(const std::string& path) {
  std::lock_guard<std::mutex> lock(hdf5_mutex());
  Reader r = open_checkpoint(path);
  Checkpoint ck;
  ck.params = r.tensors("params");
  ck.optim = r.tensors("optim");
  H5Id state = r.open_group(r.file, "state", "/state");
  r.small(state, "step", "/state/step", H5T_NATIVE_INT64, &ck.step, 1);
  uint64_t rng[3];
  r.small(state, "rng", "/state/rng", H5T_NATIVE_UINT64, rng, 3);
  ck.rng.seed = rng[0];
  ck.rng.stream = rng[1];
  ck.rng.counter = rng[2];
  ck.data_cursor = r.scalars<int64_t>(state, "data_cursor", H5T_NATIVE_INT64);
  ck.ints = r.scalars<int64_t>(state, "ints", H5T_NATIVE_INT64);
  ck.reals = r.scalars<double>(state, "reals", H5T_NATIVE_DOUBLE);
  ck.config = r.config();
  return ck;
}

std::string read_checkpoint_config(const std::string& path) {
  std::lock_guard<std::mutex> lock(hdf5_mutex());
  return open_checkpoint(path).config();
}

std::vector<std::string> read_checkpoint_param_names(const std::string& path) {
  std::lock_guard<std::mutex> lock(hdf5_mutex());
  return open_checkpoint(path).names("params");
}

}  // namespace ms
