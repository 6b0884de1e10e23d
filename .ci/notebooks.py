#!/usr/bin/env python3
"""CI for notebooks/: fails when a committed notebook holds outputs or execution counts (they are stripped in git),
then executes each notebook headless with nbclient, a time limit per notebook, and fails on the first failing cell.
The executed copies go to target/notebooks/ beside the figures the notebooks save there (MIXTRAL_NOTEBOOK_OUT).

    python .ci/notebooks.py [--check-only] [--timeout SECONDS] [NOTEBOOK...]
"""
import argparse
import os
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent


def unstripped(path: Path) -> list:
    nb = nbformat.read(path, as_version=4)
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if cell.get("outputs"):
            problems.append(f"{path.relative_to(ROOT)}: cell {i} has outputs")
        if cell.get("execution_count") is not None:
            problems.append(f"{path.relative_to(ROOT)}: cell {i} has an execution count")
    return problems


def execute(path: Path, out: Path, timeout: int) -> None:
    from nbclient import NotebookClient
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    deadline = time.monotonic() + timeout
    t0 = time.monotonic()
    try:
        # the per-cell limit is the notebook's; a notebook's total is checked after each cell below
        with client.setup_kernel():
            for i, cell in enumerate(nb.cells):
                client.execute_cell(cell, i)
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{path.name} ran past its {timeout} s limit (at cell {i})")
    finally:
        nbformat.write(nb, out / path.name)
    print(f"{path.relative_to(ROOT)}: ok in {time.monotonic() - t0:.0f} s -> {(out / path.name).relative_to(ROOT)}",
          flush=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("notebooks", nargs="*", type=Path)
    ap.add_argument("--check-only", action="store_true", help="only check that the notebooks are stripped")
    ap.add_argument("--timeout", type=int, default=300, help="seconds per notebook (default 300)")
    a = ap.parse_args()
    notebooks = [p.resolve() for p in a.notebooks] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    if not notebooks:
        print("no notebooks found under notebooks/", file=sys.stderr)
        return 1
    problems = [p for nb in notebooks for p in unstripped(nb)]
    if problems:
        print("committed notebooks must have no outputs or execution counts (clear them, e.g. "
              "jupyter nbconvert --clear-output --inplace notebooks/*.ipynb):\n  " + "\n  ".join(problems),
              file=sys.stderr)
        return 1
    if a.check_only:
        return 0
    out = Path(os.environ.setdefault("MIXTRAL_NOTEBOOK_OUT", str(ROOT / "target" / "notebooks")))
    out.mkdir(parents=True, exist_ok=True)
    for nb in notebooks:
        try:
            execute(nb, out, a.timeout)
        except Exception as e:  # a failing cell: its traceback is in the executed copy; say which notebook
            print(f"{nb.relative_to(ROOT)}: FAILED: {type(e).__name__}: {str(e)[-3000:]}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
