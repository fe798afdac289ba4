"""Decode fuzzing, fast subset (issue 20): a few hundred mutants of files of every codec mode,
CRCs recomputed, decoded in a worker under a memory cap (benchmarks/fuzz_lib.py; the long run
is benchmarks/fuzz_decode.py, its counts in benchmarks/results/fuzz/)."""
import random

import pytest

from benchmarks.fuzz_lib import build_bases, cli_check, mutate, raw_pack, raw_unpack, run_fuzz, dumps


@pytest.fixture(scope="module")
def bases(tmp_path_factory):
    return build_bases(tmp_path_factory.mktemp("bases"))


def test_raw_pack_is_the_container_format(bases):
    from pathlib import Path

    from learned_codec.container import unpack

    for b in bases:
        data = Path(b["file"]).read_bytes()
        meta, sections = raw_unpack(data)
        assert raw_pack(dumps(meta), sections) == data  # CRCs recomputed exactly as pack() does
        unpack(data)


def test_mutants_are_refused_cleanly_or_decode(bases, tmp_path):
    counts = run_fuzz(bases, 320, seed=20, timeout=60)
    assert counts["mutants"] == 320
    assert counts["examples"] == {}, counts["examples"]
    assert counts["traceback"] == counts["crash"] == counts["hang"] == counts["wrong"] == 0
    assert counts["multi_line_refusals"] == 0
    assert counts["refused"] > 200 and counts["decoded_same"] + counts["decoded_different"] > 0
    assert set(counts["by_base"]) == {b["name"] for b in bases} and set(counts["by_kind"]) == {
        "header", "table", "payload", "combo"}
    assert 0 < counts["peak_delta_max"] < counts["budget_bytes"]


def test_cli_decode_of_mutants_leaves_nothing_on_failure(bases, tmp_path):
    from pathlib import Path

    rng = random.Random(5)
    verdicts = []
    for i, b in enumerate(bases[::4]):  # conv5 intra, hyperprior intra
        data = Path(b["file"]).read_bytes()
        while True:
            mutant, kind, what, invalid = mutate(data, rng)
            if kind == "header":
                break
        verdicts.append(cli_check(mutant, tmp_path / f"m{i}"))
    verdicts.append(cli_check(Path(bases[0]["file"]).read_bytes(), tmp_path / "original"))
    assert all(v in ("ok", "refused") for v in verdicts), verdicts
    assert verdicts[-1] == "ok"
