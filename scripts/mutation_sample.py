"""Mutation testing of the modules that decide correctness, on a fixed sample (make mutation).

The modules are the `[tool.mutmut] only_mutate` list in pyproject.toml. A surviving mutant
costs a run of every test that reaches its function, and most functions are reached by the
whole-run tests: about 200 s of tests each on two cores, so the full set (about 1900 mutants)
takes many hours. The default is a deterministic sample instead: each module's mutant names
sorted by function and mutant number, then every STEP-th of them (the 1st, the STEP+1-th,
...; STEP is 20, about 100 mutants). The same rule picks the same mutants on every run of the
same code, so scores before and after new tests compare like with like.

    python scripts/mutation_sample.py run [--step 20 | --all] [--max-children 2]
    python scripts/mutation_sample.py report [--step 20 | --all] [--diffs]

`run` starts from a fresh mutants/ (unless --keep), generates the mutants, runs the sampled
ones with mutmut and prints the table; `report` prints the table again from mutants/, and the
survivors (with their diffs under --diffs). Score = (killed + timeout) / sampled: a mutant
no test reaches counts against it.

`--carry DIR` (a project copy whose mutants/ holds an earlier run) takes over a sampled
mutant's result instead of running it when the earlier run detected it and the mutated
function's source is unchanged (mutmut's own hash of it): tests only added since cannot let
it survive. Survivors and mutants of changed functions are always run again.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MUTMUT = Path(sys.executable).parent / "mutmut"
DEFAULT_STEP = 20
DETECTED = ("killed", "timeout", "caught by type check")
COLUMNS = ("killed", "survived", "timeout", "no tests")


def _module_of(name: str) -> str:
    """`tap_acefone.auth.xǁLoginAuthenticatorǁ_accept__mutmut_3` -> `tap_acefone.auth`."""
    return name.split(".x", 1)[0] if ".x" in name else name.rsplit(".", 1)[0]


def _sort_key(name: str) -> tuple[str, int]:
    base, _, number = name.rpartition("__mutmut_")
    return base, int(number) if number.isdigit() else 0


def generate() -> dict[str, list[str]]:
    """Write mutants/ (source copy plus mutated modules); every mutant name, by module."""
    from mutmut.__main__ import (  # noqa: PLC0415 (only the mutation extra installs mutmut)
        copy_also_copy_files,
        copy_src_dir,
        create_mutants,
        set_mutant_under_test,
        setup_source_paths,
    )

    set_mutant_under_test("mutant_generation")
    Path("mutants").mkdir(exist_ok=True)
    copy_src_dir()
    copy_also_copy_files()
    setup_source_paths()
    create_mutants(2)
    return results_by_module(only_names=True)


def results_by_module(*, only_names: bool = False) -> dict[str, list[str]]:
    """Mutant names by module, as mutants/*.meta record them (sorted)."""
    from mutmut.mutation.data import SourceFileMutationData  # noqa: PLC0415
    from mutmut.utils.file_utils import walk_mutatable_files  # noqa: PLC0415

    names: dict[str, list[str]] = {}
    for path in walk_mutatable_files():
        data = SourceFileMutationData(path=path)
        data.load()
        for name in data.exit_code_by_key:
            names.setdefault(_module_of(name), []).append(name)
    return {module: sorted(found, key=_sort_key) for module, found in sorted(names.items())}


def statuses() -> dict[str, str]:
    """Each mutant's status in mutants/ (killed, survived, timeout, no tests, not checked...)."""
    from mutmut.mutation.data import SourceFileMutationData  # noqa: PLC0415
    from mutmut.stats import status_by_exit_code  # noqa: PLC0415
    from mutmut.utils.file_utils import walk_mutatable_files  # noqa: PLC0415

    found: dict[str, str] = {}
    for path in walk_mutatable_files():
        data = SourceFileMutationData(path=path)
        data.load()
        for name, code in data.exit_code_by_key.items():
            found[name] = status_by_exit_code[code]
    return found


def _function_of(name: str) -> tuple[str, str]:
    """(module, mutmut's function key): `tap_acefone.auth`, `xǁLoginAuthenticatorǁ_accept`."""
    module = _module_of(name)
    return module, name[len(module) + 1 :].rsplit("__mutmut_", 1)[0]


def function_hashes(root: Path) -> dict[tuple[str, str], str]:
    """The hash mutmut keeps of each mutated function's source (`root`/mutants/*.meta)."""
    found: dict[tuple[str, str], str] = {}
    for meta in (root / "mutants").rglob("*.py.meta"):
        module = ".".join(meta.relative_to(root / "mutants").with_suffix("").with_suffix("").parts)
        data = json.loads(meta.read_text())
        for function, digest in data.get("hash_by_function_name", {}).items():
            found[module, function] = digest
    return found


def carried(names: list[str], other: Path) -> dict[str, str]:
    """The results of `names` that an earlier run in `other` settles (see the docstring)."""
    from mutmut.stats import status_by_exit_code  # noqa: PLC0415

    here, there = function_hashes(ROOT), function_hashes(other)
    codes: dict[str, int | None] = {}
    for meta in (other / "mutants").rglob("*.py.meta"):
        codes.update(json.loads(meta.read_text())["exit_code_by_key"])
    settled = {}
    for name in names:
        function = _function_of(name)
        status = status_by_exit_code[codes[name]] if name in codes else None
        if status in DETECTED and function in here and here[function] == there.get(function):
            settled[name] = status
    return settled


def sample(names: dict[str, list[str]], step: int) -> dict[str, list[str]]:
    """Every `step`-th name of each module's sorted list, starting with the first."""
    return {module: found[::step] for module, found in names.items()}


def table(picked: dict[str, list[str]], status: dict[str, str]) -> str:
    """Per module: sampled, each status, score."""
    header = f"{'module':<28}{'sampled':>8}" + "".join(f"{c:>10}" for c in COLUMNS)
    lines = [header + f"{'other':>7}{'score':>8}"]
    total: Counter[str] = Counter()
    for module, found in picked.items():
        counts = Counter(status.get(name, "not checked") for name in found)
        total.update(counts)
        lines.append(_row(module, len(found), counts))
    lines.append(_row("total", sum(len(f) for f in picked.values()), total))
    return "\n".join(lines)


def _row(label: str, sampled: int, counts: Counter[str]) -> str:
    detected = sum(counts[s] for s in DETECTED)
    other = sampled - sum(counts[c] for c in COLUMNS)
    score = f"{100 * detected / sampled:.1f}%" if sampled else "-"
    cells = "".join(f"{counts[c]:>10}" for c in COLUMNS)
    return f"{label:<28}{sampled:>8}{cells}{other:>7}{score:>8}"


def survivors(picked: dict[str, list[str]], status: dict[str, str], *, diffs: bool) -> str:
    """The sampled mutants not detected, one a line (and each diff under `diffs`)."""
    lines = []
    for found in picked.values():
        for name in found:
            state = status.get(name, "not checked")
            if state in DETECTED:
                continue
            lines.append(f"{state}: {name}")
            if diffs:
                shown = subprocess.run(
                    [str(MUTMUT), "show", name], capture_output=True, text=True, check=False
                )
                diff = [ln for ln in shown.stdout.splitlines() if re.match(r"^[+-][^+-]", ln)]
                lines.extend(f"    {ln}" for ln in diff)
    return "\n".join(lines) if lines else "(none)"


def main() -> int:
    """Run or report the sample."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("run", "report"))
    parser.add_argument("--step", type=int, default=DEFAULT_STEP, help="every STEP-th mutant")
    parser.add_argument("--all", action="store_true", help="every mutant (hours)")
    parser.add_argument("--max-children", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="reuse mutants/ (and its stats)")
    parser.add_argument("--diffs", action="store_true", help="show each survivor's diff")
    parser.add_argument("--carry", type=Path, help="take over results of an earlier run here")
    parser.add_argument(
        "--resume", action="store_true", help="with --keep: skip mutants already checked here"
    )
    args = parser.parse_args()
    step = 1 if args.all else args.step
    # mutmut works in the directory it is started from: mutants/ lands in the project root.
    import os  # noqa: PLC0415

    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    if args.command == "run":
        if not args.keep:
            shutil.rmtree("mutants", ignore_errors=True)
        picked = sample(generate(), step)
        names = [name for found in picked.values() for name in found]
        print(f"sample: every {step}-th mutant of each module, {len(names)} mutants", flush=True)
        settled = carried(names, args.carry.resolve()) if args.carry else {}
        if settled:
            print(f"{len(settled)} detected by the run in {args.carry}, function unchanged")
        done = statuses() if args.keep and args.resume else {}
        to_run = [
            n for n in names if n not in settled and done.get(n, "not checked") == "not checked"
        ]
        command = [str(MUTMUT), "run", "--max-children", str(args.max_children), *to_run]
        if to_run:
            subprocess.run(command, check=False)
    else:
        picked = sample(results_by_module(), step)
        names = [name for found in picked.values() for name in found]
        settled = carried(names, args.carry.resolve()) if args.carry else {}
    status = statuses()
    for name, earlier in settled.items():
        if status.get(name, "not checked") == "not checked":
            status[name] = earlier
    if settled:
        print(f"({len(settled)} of the detected below were carried over from {args.carry})")
    print(table(picked, status))
    print("\nnot detected:")
    print(survivors(picked, status, diffs=args.diffs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
