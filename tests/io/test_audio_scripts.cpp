// The data-preparation helpers (scripts/audio_*.py): the speaker split and the MIDI-to-piano rewrite.
// They run under Debian's /usr/bin/python3; each test skips when a module it needs is missing.
#include <fstream>

#include "tests/io/test_audio_util.h"
#include "tests/test_util.h"

namespace ms {
namespace {

bool have_module(const std::string& m) {
  return std::system(("/usr/bin/python3 -c 'import " + m + "' >/dev/null 2>&1").c_str()) == 0;
}

// The repository root. (test::source_dir() is compiled into the shared test library, which lacks the
// MAMBASEQ_SOURCE_DIR definition that the test_<area> executables get.)
std::string repo_root() {
#ifdef MAMBASEQ_SOURCE_DIR
  return MAMBASEQ_SOURCE_DIR;
#else
  return test::source_dir();
#endif
}

// Runs a Python snippet with scripts/ on the path; returns its output, fails the test on a non-zero exit.
std::string run_python(const std::string& code) {
  const std::string path = test::temp_dir() + "/check.py";
  std::ofstream(path) << "import sys\nsys.path.insert(0, '" << repo_root() << "/scripts')\n" << code;
  bool ok = false;
  const std::string out = test::run_capture("/usr/bin/python3 " + path + " 2>&1", &ok);
  EXPECT_TRUE(ok) << out;
  return out;
}

TEST(AudioScripts, DigitSpeakersOfTestAndValidAreNeverTrainedOn) {
  if (!have_module("numpy")) GTEST_SKIP() << "python3-numpy is not installed";
  const std::string out = run_python(R"(
import audio_digits as d
for small in (False, True):
    runs = d.plan(small)
    by = {s: [r for r in runs if r[0] == s] for s in ("train", "valid", "test", "test_speakers")}
    voices = {s: {r[1] for r in by[s]} for s in by}
    variants = {s: {r[2] for r in by[s]} for s in by}
    for a in ("valid", "test"):
        assert not voices[a] & voices["train"], (a, voices)
        assert not variants[a] & variants["train"], (a, variants)
    assert not variants["valid"] & variants["test"]
    # SC09's protocol: unseen speakers (the test variants), but every training accent and no other.
    assert voices["test_speakers"] == voices["train"], voices
    assert variants["test_speakers"] == variants["test"], variants
    assert not {(r[1], r[2]) for r in by["test_speakers"]} & {(r[1], r[2]) for r in by["train"]}
    assert all(30 <= r[4] <= 70 and 120 <= r[5] <= 200 for r in runs)
    assert runs == d.plan(small), "plan is not deterministic"
    print(small, len(runs) * 10, *(len(by[s]) * 10 for s in by))
)");
  EXPECT_NE(out.find("False 22040 17000 1280 2560 1200"), std::string::npos) << out;
  EXPECT_NE(out.find("True 620 300 40 80 200"), std::string::npos) << out;
}

TEST(AudioScripts, MidiBecomesSoloPianoWithoutDrums) {
  if (!have_module("mido") || !have_module("numpy")) GTEST_SKIP() << "python3-mido or python3-numpy is not installed";
  const std::string out = run_python(R"(
import mido, audio_piano as p
m = mido.MidiFile(ticks_per_beat=96)
t = mido.MidiTrack(); m.tracks.append(t)
t.append(mido.Message("control_change", channel=0, control=0, value=8, time=0))   # bank select
t.append(mido.Message("program_change", channel=0, program=40, time=5))          # violin
t.append(mido.Message("program_change", channel=9, program=1, time=0))
t.append(mido.Message("note_on", channel=9, note=36, velocity=100, time=7))      # kick drum
t.append(mido.Message("note_on", channel=0, note=60, velocity=90, time=11))
t.append(mido.Message("note_off", channel=9, note=36, velocity=0, time=13))
t.append(mido.Message("note_off", channel=0, note=60, velocity=0, time=17))
t.append(mido.MetaMessage("end_of_track", time=19))
d = mido.MidiFile(ticks_per_beat=96); dt = mido.MidiTrack(); d.tracks.append(dt)
dt.append(mido.Message("note_on", channel=9, note=38, velocity=100, time=0))
dt.append(mido.MetaMessage("end_of_track", time=10))
q = p.pianoize(m)
msgs = list(q.tracks[0])
assert all(getattr(x, "channel", 0) != 9 for x in msgs), msgs
assert [x.program for x in msgs if x.type == "program_change"] == [0], msgs
assert not [x for x in msgs if x.type == "control_change"], msgs
assert sum(x.time for x in msgs) == sum(x.time for x in m.tracks[0]) == 72, msgs
on = [x for x in msgs if x.type == "note_on"][0]
assert sum(x.time for x in msgs[:msgs.index(on) + 1]) == 5 + 7 + 11, msgs   # timing kept
assert p.pianoize(d) is None
assert p.title_key("x/04-ClairDeLaLune.mid.gz") == p.title_key("01-ClairDeLaLune.mid") == "clairdelalune"
print("ok")
)");
  EXPECT_NE(out.find("ok"), std::string::npos) << out;
}

}  // namespace
}  // namespace ms
