#!/usr/bin/python3
"""Renders piano music from the MIDI files in Debian packages: an offline stand-in for YouTubeMix piano.

Every MIDI file found under --pkgroot is made a solo piano piece with python3-mido: each program change
becomes program 0 (Acoustic Grand Piano), bank selects and system-exclusive messages (which could switch
a channel to drums) are dropped, and channel 10 (General MIDI drums) is dropped entirely. fluidsynth
renders it at 16 kHz with a General MIDI soundfont; sox mixes it to mono, trims leading and trailing
silence and normalizes the peak to -1 dBFS. Identical files shipped twice are rendered once, and
pieces with the same title (e.g. two arrangements of Clair de Lune) share a split.

Layout: OUT/piano/{train,valid,test}/<package>__<name>.wav, OUT/piano/manifest.tsv.
Run by scripts/prepare-audio.sh; needs fluidsynth, sox, python3-mido and a soundfont.
"""
import argparse
import concurrent.futures as cf
import gzip
import hashlib
import io
import os
import re
import subprocess
import sys
import tempfile
import wave

import mido

RATE = 16000


def h(*parts):
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:8], "little")


def find_midis(pkgroot):
    found = []
    for dirpath, _, files in os.walk(pkgroot, followlinks=True):
        for f in files:
            lf = f.lower()
            if lf.endswith((".mid", ".midi", ".kar", ".mid.gz")):
                found.append(os.path.join(dirpath, f))
    return sorted(found)


def load_midi(path):
    data = open(path, "rb").read()
    if path.lower().endswith(".gz"):
        data = gzip.decompress(data)
    return data, mido.MidiFile(file=io.BytesIO(data), clip=True)


def pianoize(mid):
    """Returns a copy with every melodic channel on program 0 and no drums; None if no notes remain."""
    out = mido.MidiFile(type=mid.type, ticks_per_beat=mid.ticks_per_beat)
    notes = 0
    for track in mid.tracks:
        new = mido.MidiTrack()
        carry = 0  # delta time of dropped messages moves to the next kept one
        seen_channels = set()
        for msg in track:
            t = msg.time + carry
            drop = False
            if msg.type == "sysex":
                drop = True
            elif hasattr(msg, "channel"):
                if msg.channel == 9:
                    drop = True
                elif msg.type == "control_change" and msg.control in (0, 32):
                    drop = True
                elif msg.type == "program_change":
                    msg = msg.copy(program=0)
                elif msg.type == "note_on" and msg.velocity > 0:
                    notes += 1
                    if msg.channel not in seen_channels:
                        seen_channels.add(msg.channel)
            if drop:
                carry = t
                continue
            carry = 0
            new.append(msg.copy(time=t))
        out.tracks.append(new)
    return out if notes else None


def title_key(name):
    """'04-ClairDeLaLune.mid' and '01-ClairDeLaLune.mid' -> 'clairdelalune'."""
    stem = re.sub(r"\.(mid|midi|kar)(\.gz)?$", "", os.path.basename(name), flags=re.I)
    stem = re.sub(r"^\d+[-_ ]*", "", stem)
    return re.sub(r"[^a-z0-9]", "", stem.lower()) or stem


def render(job):
    key, mid, dst, soundfont = job
    with tempfile.TemporaryDirectory() as tmp:
        m = os.path.join(tmp, "piano.mid")
        st = os.path.join(tmp, "stereo.wav")
        mid.save(m)
        subprocess.run(["fluidsynth", "-ni", "-q", "-r", str(RATE), "-F", st, soundfont, m], check=True,
                       stdout=subprocess.DEVNULL)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        part = dst + ".tmp.wav"
        subprocess.run(["sox", "-V1", "-D", st, "-r", str(RATE), "-b", "16", "-c", "1", part, "remix", "-",
                        "silence", "1", "0.05", "0.1%", "reverse", "silence", "1", "0.05", "0.1%", "reverse",
                        "norm", "-1"], check=True)
        os.replace(part, dst)
    with wave.open(dst) as w:
        return key, w.getnframes() / w.getframerate()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--pkgroot", required=True, help="folder with the extracted Debian packages holding MIDI files")
    ap.add_argument("--soundfont", default="/usr/share/sounds/sf2/TimGM6mb.sf2")
    ap.add_argument("--small", action="store_true", help="about ten minutes of music")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    if not os.path.exists(args.soundfont):
        sys.exit(f"audio_piano: soundfont {args.soundfont} not found (apt-get install timgm6mb-soundfont)")

    pieces, seen, skipped = [], set(), []
    for path in find_midis(args.pkgroot):
        rel = os.path.relpath(path, args.pkgroot)
        pkg = rel.split(os.sep)[0]
        try:
            data, mid = load_midi(path)
        except Exception as e:  # a broken file in a package is reported and left out
            skipped.append(f"{rel} ({e})")
            continue
        digest = hashlib.sha256(data).hexdigest()
        if digest in seen:
            continue
        seen.add(digest)
        piano = pianoize(mid)
        if piano is None:
            skipped.append(f"{rel} (drums only)")
            continue
        stem = re.sub(r"\.(mid|midi|kar)(\.gz)?$", "", os.path.basename(path), flags=re.I)
        name = re.sub(r"[^A-Za-z0-9._-]", "_", f"{pkg}__{stem}")
        pieces.append({"name": name, "rel": rel, "title": title_key(path), "mid": piano, "length": mid.length})
    if not pieces:
        sys.exit(f"audio_piano: no usable MIDI files under {args.pkgroot}")

    # Split by title: order titles by a fixed hash; about 10% of the music to test and 10% to valid.
    titles = sorted({p["title"] for p in pieces}, key=lambda t: (h("piano-split", t), t))
    if args.small:  # keep titles in that order until about ten minutes are reached
        keep, total = set(), 0.0
        for t in titles:
            if total >= 600 and len(keep) >= 3:
                break
            keep.add(t)
            total += sum(p["length"] for p in pieces if p["title"] == t)
        titles = [t for t in titles if t in keep]
        pieces = [p for p in pieces if p["title"] in keep]
    n = len(titles)
    k = max(1, round(0.1 * n))
    split_of = {t: ("test" if i < k else "valid" if i < 2 * k else "train") for i, t in enumerate(titles)}
    out = os.path.join(args.out, "piano")
    jobs = [(p["name"], p["mid"], os.path.join(out, split_of[p["title"]], p["name"] + ".wav"), args.soundfont)
            for p in pieces]
    seconds = {}
    with cf.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as ex:
        for key, sec in ex.map(render, jobs):
            seconds[key] = sec
    rows = sorted(f"{split_of[p['title']]}/{p['name']}.wav\t{split_of[p['title']]}\t{p['title']}\t{p['rel']}\t"
                  f"{seconds[p['name']]:.2f}" for p in pieces)
    with open(os.path.join(out, "manifest.tsv"), "w") as f:
        f.write("path\tsplit\ttitle\tsource\tseconds\n" + "\n".join(rows) + "\n")
    for s in skipped:
        print(f"audio_piano: skipped {s}", file=sys.stderr)
    per = {s: [0, 0.0] for s in ("train", "valid", "test")}
    for p in pieces:
        per[split_of[p["title"]]][0] += 1
        per[split_of[p["title"]]][1] += seconds[p["name"]]
    total = sum(v[1] for v in per.values())
    print(f"piano: {len(pieces)} pieces ({total / 60:.1f} min): " +
          ", ".join(f"{s} {v[0]} ({v[1] / 60:.1f} min)" for s, v in per.items()))


if __name__ == "__main__":
    main()
