"""The learned-codec command: every subcommand answers --help, errors are one line."""
import subprocess
import sys

import pytest

from learned_codec import cli


@pytest.mark.parametrize("name", [name for name, _ in cli.COMMANDS])
def test_each_subcommand_explains_itself(name, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main([name, "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: learned-codec {name}")
    assert len(out.splitlines()) >= 3


def test_top_level_help_lists_all_subcommands(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for name, _ in cli.COMMANDS:
        assert name in out


def test_unknown_subcommand_exits_nonzero(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["no-such-command"])
    assert e.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_user_error_is_one_line_and_exit_2(capsys, monkeypatch):
    from learned_codec.errors import UserError

    real_build = cli.build_parser

    def build_with_failing_bench():
        parser = real_build()
        sub = next(a for a in parser._actions if a.dest == "command")
        sub.choices["bench"].set_defaults(_run=_raise(UserError("the input is missing")))
        return parser

    monkeypatch.setattr(cli, "build_parser", build_with_failing_bench)
    assert cli.main(["bench"]) == 2
    assert capsys.readouterr().err == "learned-codec bench: error: the input is missing\n"


def _raise(exc):
    def run(args):
        raise exc

    return run


def test_console_script_runs_as_a_module():
    r = subprocess.run([sys.executable, "-m", "learned_codec", "--version"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0
    assert r.stdout.startswith("learned-codec ")


def test_native_module_imports_on_its_own():
    # The extension links no torch libraries, so it loads without torch.
    code = "import sys, learned_codec._C as C; print(type(C.cuda_built).__name__, 'torch' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["bool", "False"]


def test_every_option_of_every_command_says_what_it_does():
    import argparse

    missing = []

    def walk(parser, path):
        for a in parser._actions:
            if isinstance(a, argparse._SubParsersAction):
                for name, sub in a.choices.items():
                    walk(sub, path + [name])
            elif not a.help and a.dest != "help":
                missing.append(" ".join(path + (a.option_strings or [a.dest])))

    walk(cli.build_parser(), ["learned-codec"])
    assert missing == []
