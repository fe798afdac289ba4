"""The package's shape: imports run one way, the library never imports the CLI, and the CLI
answers user mistakes before it loads torch."""
import ast
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _modules():
    mods = {}
    for top in ("learned_codec", "data_tools"):
        for f in (ROOT / top).rglob("*.py"):
            parts = list(f.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            mods[".".join(parts)] = f
    return mods


def _graph():
    """module -> modules it imports (anywhere in its body), package __init__ re-exports excluded."""
    mods = _modules()
    graph = {m: set() for m in mods}
    for m, f in mods.items():
        pkg = m if f.name == "__init__.py" else m.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                names = [base] + [f"{base}.{a.name}" for a in node.names]
            else:
                continue
            for n in names:
                while n and n not in mods:
                    n = n.rpartition(".")[0]
                if n and n != m and mods[n].name != "__init__.py":
                    graph[m].add(n)
    return graph


def _cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    assert _cycles(_graph()) == []


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_library_never_imports_the_commands():
    offenders = {m: sorted(d for d in deps if d.startswith("learned_codec.commands"))
                 for m, deps in _graph().items() if not m.startswith("learned_codec.commands")
                 and m != "learned_codec.cli"}
    assert {m: d for m, d in offenders.items() if d} == {}


def test_stages_import_downwards():
    """ops and container import no stage above them; models no codec, eval, training or CLI."""
    above = {
        "learned_codec.ops": ("codecs", "eval", "training", "palette", "quant", "models", "container"),
        "learned_codec.container": ("codecs", "eval", "training", "palette", "quant", "models", "ops"),
        "learned_codec.models": ("codecs", "eval", "training", "quant.entropy", "commands"),
        "learned_codec.quant": ("codecs", "eval", "training", "palette", "commands"),
    }
    bad = []
    for m, deps in _graph().items():
        for stage, banned in above.items():
            if m == stage or m.startswith(stage + "."):
                bad += [(m, d) for d in deps for b in banned if d.startswith(f"learned_codec.{b}")]
    assert bad == []


def test_modules_stay_small():
    big = {str(f.relative_to(ROOT)): n for f in (ROOT / "learned_codec").rglob("*.py")
           if (n := len(f.read_text().splitlines())) > 420}
    assert big == {}


def _cli(*args):
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "learned_codec", *args], capture_output=True, text=True,
                       cwd=ROOT, timeout=120)
    return r, time.perf_counter() - t0


def test_user_mistakes_are_answered_before_torch_loads(tmp_path):
    """A missing file, a missing model and --help answer without importing torch (checked by
    -X importtime, not by the clock: machines are noisy); the bound on time is generous."""
    cases = [("decode", "/nonexistent.lcf", "-o", str(tmp_path / "x")),
             ("encode", str(tmp_path), "-o", str(tmp_path / "y.lcf"), "--model", "no-such-model"),
             ("--help",)]
    for args in cases:
        r = subprocess.run([sys.executable, "-X", "importtime", "-m", "learned_codec", *args],
                           capture_output=True, text=True, cwd=ROOT, timeout=120)
        imported = {line.split("|")[-1].strip() for line in r.stderr.splitlines() if line.startswith("import time:")}
        assert "torch" not in imported, args
        assert "compressai" not in imported, args
        if args != ("--help",):
            assert r.returncode == 2 and "Traceback" not in r.stderr, (args, r.stderr[-500:])
        r, seconds = _cli(*args)
        assert seconds < 10, (args, seconds)
