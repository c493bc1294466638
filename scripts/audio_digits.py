#!/usr/bin/python3
"""Builds an SC09-like spoken-digit set with espeak-ng, and the real recorded digits as an extra test set.

Each clip is one word ("zero" .. "nine"), 16 kHz mono 16-bit, exactly 1 s: the word (silence trimmed)
at a reproducible pseudo-random offset, its peak scaled to a reproducible level in [0.3, 0.9].
A speaker is an espeak-ng English voice (accent) plus a variant (timbre); each take of a speaker has its
own pitch and speed. The split is by speaker, and test (and valid) speakers have both an accent and a
variant never heard in training. test_speakers is SC09's protocol: held-out speakers (the test variants,
never trained on) with the training accents, so they say the same words as the training speakers (en-029,
a test accent, says "tree" for "three": phonemes t[r'i: where every training accent has Tr'i:).

Layout: OUT/sc09/{train,valid,test,test_speakers}/<digit>/<voice>_<variant>_t<take>.wav, OUT/sc09/manifest.tsv;
        OUT/sc09-real/test/<digit>/{csmash,allison}.wav (when the Debian data packages are given).
Run by scripts/prepare-audio.sh; needs espeak-ng, sox and python3-numpy.
"""
import argparse
import concurrent.futures as cf
import hashlib
import os
import subprocess
import sys
import wave

import numpy as np

RATE = 16000
DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]

# espeak-ng's English voices (gmw/*), split by accent: test and valid accents are never trained on.
VOICES = {
    "train": ["en-gb", "en-us", "en-gb-x-rp", "en-gb-scotland", "en-gb-x-gbclan"],
    "valid": ["en-gb-x-gbcwmd"],
    "test": ["en-029", "en-us-nyc"],
}
VOICES["test_speakers"] = VOICES["train"]
SPLITS = ("train", "valid", "test", "test_speakers")
TAKES = {"train": 5, "valid": 16, "test": 16, "test_speakers": 3}
# Variants that sound like people (robots, effects and the test-only "fast" variant left out).
VARIANTS = """m1 m2 m3 m4 m5 m6 m7 m8 f1 f2 f3 f4 f5 croak whisper whisperf klatt klatt2 klatt3 klatt4 klatt5
klatt6 grandma grandpa Alex Alicia Andrea Andy Annie AnxiousAndy Denis Diogo Gene Gene2 Henrique Hugo Jacky
Lee Marco Mario Michael Mike Nguyen RicishayMax Storm adam anika antonio aunty belinda benjamin boris caleb
david ed edward edward2 gustave iven iven2 iven3 iven4 john kaukovalta linda marcelo max michel miguel norbert
pablo paul pedro quincy rob robert sandro shelby steph steph2 steph3 travis victor zac""".split()

GAP_MS = 800  # pause between the ten words of one espeak-ng run; words are cut apart at these pauses


def h(*parts):
    """A stable hash (Python's hash() is salted per process)."""
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:8], "little")


def split_variants():
    ordered = sorted(VARIANTS, key=lambda v: (h("variant-split", v), v))
    n = len(ordered)
    k = max(1, round(0.1 * n))
    return {"test": sorted(ordered[:k]), "valid": sorted(ordered[k:2 * k]), "train": sorted(ordered[2 * k:])}


def plan(small):
    """The list of runs (split, voice, variant, take, pitch, speed); each run speaks the ten digits."""
    variants = split_variants()
    variants["test_speakers"] = variants["test"]
    runs = []
    for split in SPLITS:
        vs = variants[split]
        takes = TAKES[split]
        if small:
            vs = sorted(vs, key=lambda v: h("small", v))[: 6 if split == "train" else 2]
            takes = 1 if split == "train" else 2
        for voice in VOICES[split]:
            for variant in vs:
                for t in range(takes):
                    r = h("take", voice, variant, t)
                    pitch = 30 + r % 41             # espeak-ng: 0..99, default 50
                    speed = 120 + (r >> 16) % 81    # words per minute, default 175
                    runs.append((split, voice, variant, t, pitch, speed))
    return runs


def to_raw16(cmd_in, stdin_bytes=None):
    """Runs a producer command and converts its WAV output with sox to raw 16 kHz mono 16-bit."""
    sox = ["sox", "-V1", "-D", "-t", "wav", "-", "-t", "raw", "-r", str(RATE), "-e", "signed", "-b", "16", "-c", "1", "-"]
    p1 = subprocess.Popen(cmd_in, stdout=subprocess.PIPE, stdin=subprocess.PIPE if stdin_bytes else None)
    p2 = subprocess.Popen(sox, stdin=p1.stdout, stdout=subprocess.PIPE)
    p1.stdout.close()
    if stdin_bytes:
        p1.stdin.write(stdin_bytes)
        p1.stdin.close()
    out = p2.communicate()[0]
    if p1.wait() != 0 or p2.returncode != 0:
        raise RuntimeError("failed: " + " ".join(cmd_in))
    return np.frombuffer(out, dtype=np.int16).astype(np.float64) / 32768.0


def active_segments(x, min_gap):
    """Runs of non-silent samples separated by at least min_gap silent samples."""
    peak = np.abs(x).max() if len(x) else 0.0
    idx = np.flatnonzero(np.abs(x) > max(1e-3 * peak, 1.5 / 32768))
    if len(idx) == 0:
        return []
    cuts = np.flatnonzero(np.diff(idx) > min_gap)
    starts = np.concatenate([[idx[0]], idx[cuts + 1]])
    ends = np.concatenate([idx[cuts] + 1, [idx[-1] + 1]])
    return list(zip(starts.tolist(), ends.tolist()))


def fit_one_second(word, key, level=None, centre=False):
    """Places a trimmed word in 1 s of silence; returns (clip, was_cut)."""
    cut = len(word) > RATE
    if cut:  # too long: keep the first second, with a 10 ms fade-out
        word = word[:RATE].copy()
        word[-160:] *= np.linspace(1, 0, 160)
    r = h("place", key)
    offset = (RATE - len(word)) // 2 if centre else r % (RATE - len(word) + 1)
    clip = np.zeros(RATE)
    clip[offset:offset + len(word)] = word
    if level is None:
        level = 0.3 + 0.6 * ((r >> 20) % 1000) / 999
    peak = np.abs(clip).max()
    if level > 0 and peak > 0:
        clip *= level / peak
    return clip, cut


def write_wav(path, x):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    pcm = np.clip(np.rint(x * 32768), -32768, 32767).astype("<i2")
    tmp = path + ".tmp"
    with wave.open(tmp, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.tobytes())
    os.replace(tmp, path)


def speak(voice, variant, pitch, speed, text, ssml):
    cmd = ["espeak-ng", "-v", f"{voice}+{variant}", "-p", str(pitch), "-s", str(speed), "--stdout"]
    if ssml:
        cmd.append("-m")
    return to_raw16(cmd + [text])


def make_run(out, run):
    split, voice, variant, take, pitch, speed = run
    brk = f'<break time="{GAP_MS}ms"/>'
    x = speak(voice, variant, pitch, speed, "<speak>" + brk.join(DIGITS) + "</speak>", True)
    segs = active_segments(x, int(0.3 * RATE))
    fallback = len(segs) != len(DIGITS)
    if fallback:  # the pauses did not separate the words: speak them one at a time
        words = []
        for d in DIGITS:
            y = speak(voice, variant, pitch, speed, d, False)
            s = active_segments(y, len(y) + 1)
            words.append(y[s[0][0]:s[-1][1]] if s else y)
    else:
        words = [x[a:b] for a, b in segs]
    rows, cuts = [], 0
    for d, word in zip(DIGITS, words):
        name = f"{voice}_{variant}_t{take}"
        clip, cut = fit_one_second(word, (name, d))
        cuts += cut
        rel = f"{split}/{d}/{name}.wav"
        write_wav(os.path.join(out, rel), clip)
        rows.append(f"{rel}\t{d}\t{DIGITS.index(d)}\t{split}\t{voice}\t{variant}\t{pitch}\t{speed}\t{len(word) / RATE:.3f}")
    return rows, cuts, fallback


def make_real(pkgroot, out):
    """The real recordings: csmash-data (one male speaker, 16 kHz) and Asterisk's Allison (8 kHz, upsampled)."""
    made = 0
    sources = []
    cs = os.path.join(pkgroot, "csmash-data/usr/share/games/csmash/wav")
    al = os.path.join(pkgroot, "asterisk-core-sounds-en-wav/usr/share/asterisk/sounds/en_US_f_Allison/digits")
    for i, d in enumerate(DIGITS):
        sources.append(("csmash", d, os.path.join(cs, f"{d}.wav")))
        sources.append(("allison", d, os.path.join(al, f"{i}.wav")))
    for who, d, src in sources:
        if not os.path.exists(src):
            print(f"audio_digits: missing {src}; skipping the real {who} digits", file=sys.stderr)
            continue
        x = to_raw16(["cat", src])  # sox does the rate conversion (8 kHz -> 16 kHz for Allison)
        s = active_segments(x, len(x) + 1)
        word = x[s[0][0]:s[-1][1]] if s else x
        clip, _ = fit_one_second(word, (who, d), level=0, centre=True)  # recorded level kept
        write_wav(os.path.join(out, "test", d, f"{who}.wav"), clip)
        made += 1
    return made


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="output folder (sc09/ and sc09-real/ are made inside)")
    ap.add_argument("--small", action="store_true", help="a quick set of a few hundred clips")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--pkgroot", help="folder with the extracted csmash-data and asterisk-core-sounds-en-wav packages")
    ap.add_argument("--splits", default=",".join(SPLITS),
                    help="comma-separated splits to (re)make; the manifest keeps the other splits' rows")
    args = ap.parse_args()
    only = args.splits.split(",")
    unknown = [s for s in only if s not in SPLITS]
    if unknown:
        sys.exit(f"audio_digits: unknown split(s) {unknown}; choose from {SPLITS}")

    out = os.path.join(args.out, "sc09")
    runs = [r for r in plan(args.small) if r[0] in only]
    rows, cuts, fallbacks = [], 0, 0
    with cf.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as ex:
        for r, c, f in ex.map(lambda run: make_run(out, run), runs):
            rows += r
            cuts += c
            fallbacks += f
    manifest = os.path.join(out, "manifest.tsv")
    if os.path.exists(manifest):  # keep the rows of the splits not remade
        with open(manifest) as f:
            rows += [r for r in f.read().splitlines()[1:] if r and r.split("\t")[3] not in only]
    rows.sort()
    with open(manifest, "w") as f:
        f.write("path\tdigit\tlabel\tsplit\tvoice\tvariant\tpitch\tspeed\tword_seconds\n")
        f.write("\n".join(rows) + "\n")
    counts = {s: sum(1 for r in rows if r.split("\t")[3] == s) for s in SPLITS}
    speakers = {s: len({(r.split("\t")[4], r.split("\t")[5]) for r in rows if r.split("\t")[3] == s}) for s in counts}
    print(f"sc09: {len(rows)} clips ({len(rows) / 60:.1f} min): " +
          ", ".join(f"{s} {counts[s]} ({speakers[s]} speakers)" for s in counts) +
          f"; {cuts} words longer than 1 s were cut, {fallbacks} runs spoken word by word")
    if args.pkgroot:
        n = make_real(args.pkgroot, os.path.join(args.out, "sc09-real"))
        print(f"sc09-real: {n} recorded clips ({n / 60:.1f} min)")


if __name__ == "__main__":
    main()
