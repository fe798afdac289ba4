"""Decode fuzzing (issue 20): mutants of .lcf files of every codec mode, CRCs recomputed, each
decoded in a worker process under a memory cap; what became of each is counted.

Used by tests/test_fuzz_decode.py (a fast subset) and benchmarks/fuzz_decode.py (the long run).

Base files (build_bases): conv5 intra (naive, affine, kmeans), conv5 latent-delta, hyperprior
intra and entropy-delta, palette image and video, of 32x32 crops (learned codecs) and 200x160
frames (palette) of the data set when one is given, else synthetic frames.

Mutations (mutate), each written back with every CRC recomputed, so that only the reader's
own checks stand between a mutant and the decoder:
    header   a field of the metadata (top level, quantizer.*, extra.*) set to another value
             (other types, negative / zero / huge ints, NaN, strings, lists, deep nesting),
             deleted, or an unknown field added; mode, arch and quantizer method swapped;
             code shapes made ints, null, empty, negative, huge, permuted; not-JSON bytes
    table    the section count or a section length changed (boundaries moved), sections
             swapped, dropped or duplicated
    payload  bytes flipped, set, inserted, deleted; a section truncated or extended; flag
             bytes (frame types, packing method) set to any value
    combo    a header and a payload mutation together

Outcomes per mutant:
    refused      UserError / ContainerError (a clean, one-line refusal)
    traceback    any other exception (must be 0)
    crash        the worker died of a signal (must be 0)
    hang         no answer within the per-mutant timeout (must be 0)
    decoded      decoded without error; then "same" (bit-identical to the original decode) or
                 "different". A file with recomputed CRCs whose payload or content fields
                 (gop, codebook, section order) changed is another valid file: a different
                 image is then the right answer, not an error. "wrong" counts what must not
                 happen: decoded output that disagrees with its own header (not uint8
                 frames x height x width x 3), or a mutant tagged invalid (a value of the
                 wrong JSON type, an unknown or missing required field, nesting, not JSON)
                 that decoded at all.
Peak memory: the worker's peak RSS above its baseline (models loaded) per mutant
(/proc/self/clear_refs + VmHWM), under RLIMIT_AS = baseline address space + budget + 1 GiB.
"""
import hashlib
import json
import math
import os
import random
import select
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAGIC = b"\x89LCF\r\n\x1a\n"
_PREFIX = struct.Struct("<8sHII")
_U32 = struct.Struct("<I")
_ENTRY = struct.Struct("<II")
OPTIONAL = {"names", "iters", "seed"}   # fields a valid file may lack


def crc(b):
    return zlib.crc32(b) & 0xFFFFFFFF


def raw_pack(meta_bytes, sections, n_sections=None, lengths=None, version=1):
    """An .lcf image of arbitrary metadata bytes and sections, every CRC right."""
    n = len(sections) if n_sections is None else n_sections
    lengths = [len(s) for s in sections] if lengths is None else lengths
    table = b"".join(_ENTRY.pack(lengths[i] if i < len(lengths) else 0,
                                 crc(sections[i]) if i < len(sections) else 0) for i in range(n))
    prefix = _PREFIX.pack(MAGIC, version, len(meta_bytes), n)
    return b"".join([prefix, _U32.pack(crc(prefix)), meta_bytes, _U32.pack(crc(meta_bytes)),
                     table, _U32.pack(crc(table)), *sections])


def raw_unpack(data):
    _, _, meta_len, n = _PREFIX.unpack_from(data, 0)
    pos = _PREFIX.size + 4
    meta = json.loads(data[pos:pos + meta_len])
    pos += meta_len + 4
    lengths = [_ENTRY.unpack_from(data, pos + 8 * i)[0] for i in range(n)]
    pos += 8 * n + 4
    sections = []
    for length in lengths:
        sections.append(data[pos:pos + length])
        pos += length
    return meta, sections


def dumps(meta):
    return json.dumps(meta, sort_keys=True, separators=(",", ":")).encode()


# ----------------------------------------------------------------------------- base files
def _frames(data_dir, n, h, w, seed):
    import numpy as np

    rng = np.random.default_rng(seed)
    path = Path(data_dir) / "images" / "test.npy" if data_dir else None
    if path is not None and path.is_file():
        all_frames = np.load(path, mmap_mode="r")
        start = int(rng.integers(0, len(all_frames) - n))
        frames = np.array(all_frames[start:start + n])
        if (h, w) != frames.shape[1:3]:
            y, x = int(rng.integers(0, frames.shape[1] - h)), int(rng.integers(0, frames.shape[2] - w))
            frames = frames[:, y:y + h, x:x + w]
        return np.ascontiguousarray(frames)
    small = rng.integers(0, 256, (n, -(-h // 8), -(-w // 8), 3), dtype=np.uint8)
    return np.ascontiguousarray(small.repeat(8, 1).repeat(8, 2)[:, :h, :w])


def _palette_frames(codec, data_dir, n, seed):
    import numpy as np

    if data_dir and (Path(data_dir) / "images" / "test.npy").is_file():
        return _frames(data_dir, n, 200, 160, seed)
    rng = np.random.default_rng(seed)
    screens = np.zeros((n, *codec.screen_size), np.uint8)
    for t in range(n):  # a few coloured blocks that move, over a black screen
        for _ in range(4):
            y, x = int(rng.integers(0, 200)), int(rng.integers(0, 150))
            screens[t, y:y + 8, x:x + 8] = int(rng.integers(1, 18))
    return codec.render(screens)


def build_bases(out_dir, data_dir=None, seed=0):
    """Encode the base files into out_dir; -> list of {"name", "model", "file", "sha256"}
    (sha256 of the decoded frames' bytes), also written to out_dir/bases.json."""
    import numpy as np
    import torch

    torch.set_num_threads(1)
    from learned_codec.codecs.registry import make_video_codec, open_codec

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    specs = [
        ("conv5-naive", "conv5", {"quant": "naive"}, None, 2),
        ("conv5-affine", "conv5", {"quant": "affine"}, None, 2),
        ("conv5-kmeans", "conv5", {"quant": "kmeans", "k": 16, "dim": 2, "iters": 5}, None, 2),
        ("conv5-latent-delta", "conv5", {"quant": "naive"}, 2, 3),
        ("hyperprior-intra", "hyperprior", {}, None, 2),
        ("hyperprior-entropy-delta", "hyperprior", {}, 2, 3),
        ("palette-image", "palette", {}, None, 2),
        ("palette-video", "palette", {}, 2, 3),
    ]
    bases = []
    for i, (name, model, quant, gop, n) in enumerate(specs):
        codec = open_codec(model, **quant)
        frames = _palette_frames(codec, data_dir, n, seed + i) if model == "palette" \
            else _frames(data_dir, n, 32, 32, seed + i)
        if gop:
            codec = make_video_codec(codec, gop)
        data = codec.encode(frames)
        decoded = codec.decode(data)
        path = out_dir / f"{name}.lcf"
        path.write_bytes(data)
        bases.append({"name": name, "model": model, "file": str(path),
                      "sha256": hashlib.sha256(np.ascontiguousarray(decoded).tobytes()).hexdigest()})
    (out_dir / "bases.json").write_text(json.dumps(bases, indent=2))
    return bases


# ----------------------------------------------------------------------------- mutation
def _values(rng, old):
    pool = [None, True, False, 0, 1, -1, 2, 3, 31, 32, 255, 256, 4096, 16384, 16385, 2 ** 24, 2 ** 31,
            2 ** 32, 2 ** 63, 10 ** 30, -(2 ** 31), 0.5, 1e308, -0.0, float("nan"), float("inf"),
            "", "x", "intra", "latent-delta", "entropy-delta", "palette", "naive", "kmeans", "entropy",
            "context", "none", "affine", "foo", "conv5", "hyperprior", "palette", "../etc", "a" * 300,
            [], [1], [-1], [0, 0], [1, 2], [2 ** 40], ["x"], [1.5], {}, {"method": "naive"},
            [[1]], [None]]
    if _is_int(old):
        pool += [old + 1, old - 1, old * 2, old * 1000, -old]
    if isinstance(old, list) and old and all(_is_int(d) for d in old):
        pool += [list(reversed(old)), old + [1], old[:-1], [d + 1 for d in old], [d * 64 for d in old],
                 [d * 4096 for d in old], [0] + old[1:], old[0]]
    return rng.choice(pool)


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _same_type(a, b):
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return _is_int(a) == _is_int(b) or (isinstance(a, float) and math.isfinite(a))
    if isinstance(a, list) and isinstance(b, list):
        return all(_same_type(x, y) for x in a[:1] for y in b[:1])
    return type(a) is type(b)


def _paths(meta):
    out = [(k,) for k in meta]
    for k in ("quantizer", "extra"):
        if isinstance(meta.get(k), dict):
            out += [(k, j) for j in meta[k]]
    return out


def _get(meta, path):
    for p in path:
        meta = meta[p]
    return meta


def mutate_header(meta, rng):
    """-> (new metadata bytes, what, invalid)."""
    meta = json.loads(json.dumps(meta))
    r = rng.random()
    paths = _paths(meta)
    if r < 0.55:
        path = rng.choice(paths)
        old = _get(meta, path)
        new = _values(rng, old)
        _get(meta, path[:-1])[path[-1]] = new
        invalid = not _same_type(old, new) and path[-1] not in ("names",)
        return dumps(meta), f"set {'.'.join(path)}={new!r:.40}", invalid
    if r < 0.65:
        path = rng.choice(paths)
        del _get(meta, path[:-1])[path[-1]]
        return dumps(meta), f"delete {'.'.join(path)}", path[-1] not in OPTIONAL
    if r < 0.72:
        where = rng.choice([(), ("quantizer",), ("extra",)])
        target = _get(meta, where)
        if isinstance(target, dict):
            target[rng.choice(["bogus", "Mode", "code_shape2", "x" * 70])] = _values(rng, 1)
            return dumps(meta), f"add unknown field under {'.'.join(where) or 'top'}", True
        return dumps(meta), "no-op", False
    if r < 0.85:  # swaps: mode / arch / method, and a matching-looking weight hash
        key = rng.choice(["mode", "arch", "method", "sha"])
        if key == "mode":
            meta["mode"] = rng.choice(["intra", "latent-delta", "entropy-delta", "palette", "image"])
        elif key == "arch":
            meta["arch"] = rng.choice(["conv5", "conv4", "hyperprior", "factorized", "palette", "fc", "vae"])
        elif key == "method":
            meta["quantizer"]["method"] = rng.choice(["none", "naive", "affine", "kmeans", "entropy",
                                                     "context", "foo"])
        else:
            meta["weights_sha256"] = rng.choice(["", "0" * 64, "f" * 64])
        return dumps(meta), f"swap {key}", False
    if r < 0.93:  # deep nesting
        depth = rng.choice([17, 50, 1000, 100000])
        text = dumps(meta).decode()
        nest = "[" * depth + "]" * depth if rng.random() < 0.5 else '{"a":' * depth + "1" + "}" * depth
        return f'{text[:-1]},"deep":{nest}}}'.encode(), f"nesting {depth}", True
    junk = rng.choice([b"", b"null", b"[]", b"\xff\xfe", b"{", dumps(meta)[:-1], b'{"a":1,"a":2}',
                       dumps(meta).replace(b'"', b"'"), b"1" * 5000])
    return junk, "not a metadata object", True


def mutate_table(meta_bytes, sections, rng):
    """-> (file bytes, what). The file's sections or table, boundaries moved."""
    sections = list(sections)
    r = rng.random()
    if r < 0.25 and len(sections) > 1:
        i = rng.randrange(len(sections) - 1)
        joined = sections[i] + sections[i + 1]
        cut = rng.randrange(len(joined) + 1)
        sections[i], sections[i + 1] = joined[:cut], joined[cut:]
        return raw_pack(meta_bytes, sections), "move a section boundary"
    if r < 0.45 and len(sections) > 1:
        i, j = rng.sample(range(len(sections)), 2)
        sections[i], sections[j] = sections[j], sections[i]
        return raw_pack(meta_bytes, sections), "swap sections"
    if r < 0.6:
        del sections[rng.randrange(len(sections))]
        return raw_pack(meta_bytes, sections), "drop a section"
    if r < 0.75:
        sections.insert(rng.randrange(len(sections) + 1), rng.choice(sections))
        return raw_pack(meta_bytes, sections), "duplicate a section"
    if r < 0.85:
        n = max(0, len(sections) + rng.choice([-1, 1, 100, 2 ** 22]))
        return raw_pack(meta_bytes, sections, n_sections=min(n, 2 ** 22)), "section count"
    lengths = [len(s) for s in sections]
    i = rng.randrange(len(lengths))
    lengths[i] = rng.choice([0, lengths[i] + 1, max(0, lengths[i] - 1), 2 ** 32 - 1])
    return raw_pack(meta_bytes, sections, lengths=lengths), "section length"


def mutate_payload(sections, rng):
    sections = [bytearray(s) for s in sections]
    i = rng.randrange(len(sections))
    s = sections[i]
    r = rng.random()
    if r < 0.3 and s:
        for _ in range(rng.choice([1, 1, 2, 8])):
            s[rng.randrange(len(s))] ^= 1 << rng.randrange(8)
        what = "flip bits"
    elif r < 0.45 and s:
        s[0] = rng.randrange(256)  # flag / frame-type byte
        what = "first byte"
    elif r < 0.6 and s:
        s[rng.randrange(len(s))] = rng.choice([0, 0xFF, 0x80, 0x7F])
        what = "set a byte"
    elif r < 0.7:
        del s[rng.randrange(len(s) + 1):]
        what = "truncate"
    elif r < 0.8:
        s += bytes(rng.randrange(256) for _ in range(rng.choice([1, 7, 100])))
        what = "extend"
    elif r < 0.9 and s:
        pos = rng.randrange(len(s))
        del s[pos:pos + rng.choice([1, 4, 16])]
        what = "delete bytes"
    else:
        pos = rng.randrange(len(s) + 1)
        s[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.choice([1, 4])))
        what = "insert bytes"
    return [bytes(x) for x in sections], f"payload {what} (section {i})"


def mutate(data, rng):
    """-> (mutant bytes, kind, what, invalid)."""
    meta, sections = raw_unpack(data)
    meta_bytes = dumps(meta)
    kind = rng.choices(["header", "table", "payload", "combo"], weights=[45, 15, 30, 10])[0]
    if kind == "header":
        mb, what, invalid = mutate_header(meta, rng)
        return raw_pack(mb, sections), kind, what, invalid
    if kind == "table":
        blob, what = mutate_table(meta_bytes, sections, rng)
        return blob, kind, what, False
    if kind == "payload":
        secs, what = mutate_payload(sections, rng)
        return raw_pack(meta_bytes, secs), kind, what, False
    mb, what1, invalid = mutate_header(meta, rng)
    secs, what2 = mutate_payload(sections, rng)
    return raw_pack(mb, secs), kind, f"{what1}; {what2}", invalid


# ----------------------------------------------------------------------------- worker
def _vm(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def worker_main(budget):
    """Read mutants (u32 length + bytes) on stdin, answer one JSON line each on stdout."""
    import resource

    import numpy as np
    import torch

    torch.set_num_threads(1)
    from learned_codec.codecs import registry
    from learned_codec.codecs.schema import check_budget
    from learned_codec.container import frame_names, unpack
    from learned_codec.errors import UserError

    cache = {}

    def decode(data):  # what `decode` does (commands/decode.py), with the codecs cached
        meta, _ = unpack(data)
        check_budget(meta, budget)
        frame_names(meta)
        model = registry.default_model_for_file(meta)
        registry.check_model_for_file(meta, model)
        key = (model, meta.mode, meta.quantizer.get("method"))
        if key not in cache:
            cache[key] = registry._codec_for_mode(meta, model, "cpu", "file")
            cache[key].max_memory = budget
        return meta, cache[key].decode(data)

    for name in ("conv5", "hyperprior", "palette"):  # load the models before the baseline
        registry.open_codec(name)
    out = sys.stdout.buffer
    base = _vm("VmSize")
    resource.setrlimit(resource.RLIMIT_AS, (base + budget + (1 << 30),) * 2)
    out.write((json.dumps({"ready": True, "vm_base": base, "rss_base": _vm("VmRSS")}) + "\n").encode())
    out.flush()
    stdin = sys.stdin.buffer
    while True:
        head = stdin.read(4)
        if len(head) < 4:
            return
        data = stdin.read(_U32.unpack(head)[0])
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")  # reset VmHWM to the current RSS
        except OSError:
            pass
        rss0 = _vm("VmRSS")
        res = {}
        try:
            meta, frames = decode(data)
            ok = (isinstance(frames, np.ndarray) and frames.dtype == np.uint8
                  and frames.shape == (meta.frames, meta.height, meta.width, 3))
            res = {"status": "decoded", "shape_ok": bool(ok),
                   "sha256": hashlib.sha256(np.ascontiguousarray(frames).tobytes()).hexdigest() if ok else ""}
        except UserError as e:
            res = {"status": "refused", "message": str(e).splitlines()[0][:200],
                   "lines": len(str(e).strip().splitlines())}
        except BaseException as e:  # noqa: BLE001: everything else is what we count
            import traceback

            res = {"status": "traceback", "message": f"{type(e).__name__}: {str(e)[:300]}",
                   "where": traceback.format_exc()[-1500:]}
        res["peak_delta"] = max(0, _vm("VmHWM") - rss0)
        res["peak_rss"] = _vm("VmHWM")
        out.write((json.dumps(res) + "\n").encode())
        out.flush()


class Worker:
    def __init__(self, budget, env=None):
        self.budget = budget
        self.proc = subprocess.Popen([sys.executable, __file__, "--worker", str(budget)], cwd=ROOT,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})
        self.info = json.loads(self._line(600) or "{}")

    def _line(self, timeout):
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        return self.proc.stdout.readline() if ready else None

    def run(self, data, timeout):
        """-> result dict, or {"status": "crash"/"hang"} (the worker is then replaced)."""
        try:
            self.proc.stdin.write(_U32.pack(len(data)) + data)
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass
        line = self._line(timeout)
        if line:
            return json.loads(line)
        if line is None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
            return {"status": "hang"}
        rc = self.proc.wait()
        return {"status": "crash" if rc < 0 else "traceback", "message": f"worker exited rc={rc}"}

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def cli_check(mutant, tmp, timeout=120):
    """Decode with the real CLI (`python -m learned_codec decode -o ...`) in a fresh folder:
    -> "ok" (rc 0 and the output there), "refused" (rc 2, one line, nothing written),
    or a description of what went wrong."""
    tmp = Path(tmp)
    tmp.mkdir(parents=True, exist_ok=True)
    src = tmp / "mutant.lcf"
    src.write_bytes(mutant)
    out = tmp / "out"
    try:
        p = subprocess.run([sys.executable, "-m", "learned_codec", "decode", str(src), "-o", str(out / "f.png"),
                            "--quiet"], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                           env={**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"})
    except subprocess.TimeoutExpired:
        return "hang"
    left = sorted(str(p.relative_to(tmp)) for p in out.rglob("*")) if out.exists() else []
    if p.returncode == 0:
        return "ok" if left else "rc 0 but no output"
    err = [ln for ln in p.stderr.splitlines() if ln.strip() and "warn" not in ln.lower()]
    if p.returncode == 2 and len(err) == 1 and not left:
        return "refused"
    return f"rc {p.returncode}, {len(err)} stderr lines, left {left[:3]}: {(err or [''])[-1][:200]}"


def run_fuzz(bases, n_mutants, seed=0, timeout=30, budget=2 << 30, cli_every=0, cli_dir=None,
             deadline=None, progress=None, keep=20, dump_dir=None,
             slow_s=2.0):
    """Decode n_mutants mutants (round robin over the bases); -> counts dict."""
    rng = random.Random(seed)
    originals = [(b, Path(b["file"]).read_bytes()) for b in bases]
    counts = {"mutants": 0, "refused": 0, "traceback": 0, "crash": 0, "hang": 0, "decoded_same": 0,
              "decoded_different": 0, "wrong": 0, "multi_line_refusals": 0, "peak_delta_max": 0,
              "peak_rss_max": 0, "by_kind": {}, "by_base": {}, "examples": {}, "cli": {}}
    worker = Worker(budget)
    counts["worker_baseline"] = worker.info
    t0 = time.time()
    try:
        for k in range(n_mutants):
            if deadline and time.time() > deadline:
                break
            base, data = originals[k % len(originals)]
            mutant, kind, what, invalid = mutate(data, rng)
            t_m = time.time()
            res = worker.run(mutant, timeout)
            t_m = time.time() - t_m
            counts["slowest_s"] = max(counts.get("slowest_s", 0), round(t_m, 3))
            if t_m > slow_s:
                counts["slow"] = counts.get("slow", 0) + 1
                ex = counts.setdefault("slow_examples", [])
                if len(ex) < keep:
                    ex.append({"base": base["name"], "kind": kind, "what": what, "seconds": round(t_m, 2),
                               "status": res["status"], "message": res.get("message", "")[:120]})
            status = res["status"]
            if status in ("crash", "hang") or worker.proc.poll() is not None:
                worker.close()
                worker = Worker(budget)
            if status == "decoded":
                if not res["shape_ok"] or invalid:
                    status = "wrong"
                else:
                    status = "decoded_same" if res["sha256"] == base["sha256"] else "decoded_different"
            counts["mutants"] += 1
            counts[status] += 1
            if status == "refused" and res.get("lines", 1) != 1:
                counts["multi_line_refusals"] += 1
            counts["peak_delta_max"] = max(counts["peak_delta_max"], res.get("peak_delta", 0))
            counts["peak_rss_max"] = max(counts["peak_rss_max"], res.get("peak_rss", 0))
            for group, key in (("by_kind", kind), ("by_base", base["name"])):
                counts[group].setdefault(key, {}).setdefault(status, 0)
                counts[group][key][status] += 1
            if status in ("traceback", "crash", "hang", "wrong"):
                ex = counts["examples"].setdefault(status, [])
                if len(ex) < keep:
                    ex.append({"base": base["name"], "kind": kind, "what": what,
                               "message": res.get("message", ""), "where": res.get("where", "")[-600:]})
                if progress:
                    print(f"{status}: {base['name']} {kind} {what}: {res.get('message', '')}",
                          file=sys.stderr, flush=True)
                if dump_dir:
                    Path(dump_dir).mkdir(parents=True, exist_ok=True)
                    (Path(dump_dir) / f"{status}-{k}.lcf").write_bytes(mutant)
            if cli_every and cli_dir and k % cli_every == 0:
                verdict = cli_check(mutant, Path(cli_dir) / f"m{k}")
                if verdict not in ("ok", "refused"):
                    verdict = "bad"
                    counts["examples"].setdefault("cli_bad", []).append(
                        {"base": base["name"], "what": what, "verdict": verdict})
                counts["cli"][verdict] = counts["cli"].get(verdict, 0) + 1
            if progress and (k + 1) % progress == 0:
                rate = counts["mutants"] / (time.time() - t0)
                print(f"{counts['mutants']} mutants, {rate:.1f}/s: refused {counts['refused']}, "
                      f"tracebacks {counts['traceback']}, crashes {counts['crash']}, hangs {counts['hang']}, "
                      f"wrong {counts['wrong']}", file=sys.stderr, flush=True)
    finally:
        worker.close()
    counts["seconds"] = round(time.time() - t0, 1)
    counts["budget_bytes"] = budget
    return counts


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        worker_main(int(sys.argv[2]))
