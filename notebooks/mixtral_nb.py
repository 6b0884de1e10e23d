"""Helpers the notebooks share: where the repository and the run's output folder are, and running a launcher.

The notebooks drive the project through its launchers (bin/mixtral, bin/mixtral-spark) and read what they write
(Parquet, JSON): PySpark is not needed. Figures and tables go to OUT (target/notebooks/ of the repository, or
$MIXTRAL_NOTEBOOK_OUT), so that a CI run keeps them.
"""
import os
import shlex
import subprocess
import time
from pathlib import Path


def _repo_root() -> Path:
    here = Path.cwd().resolve()
    for p in (here, *here.parents):
        if (p / "bin" / "mixtral-spark").is_file() and (p / "engine").is_dir():
            return p
    raise FileNotFoundError(f"no mixtral-spark checkout above {here}: open the notebooks from its notebooks/ folder")


ROOT = _repo_root()
OUT = Path(os.environ.get("MIXTRAL_NOTEBOOK_OUT", ROOT / "target" / "notebooks")).resolve()
OUT.mkdir(parents=True, exist_ok=True)
DEMO_MODEL = ROOT / "out" / "demo-model" / "demo.gguf"


def run(*args, quiet_stderr=True, timeout=600):
    """Runs a launcher of the repository (e.g. run("bin/mixtral", "inspect", ...)) from its root; returns stdout.

    A failure raises with the command, its exit code and the end of its stderr, so a failing cell says why.
    """
    cmd = [str(a) for a in args]
    t0 = time.time()
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError(f"{shlex.join(cmd)} exited with {p.returncode}:\n{p.stderr[-4000:]}")
    if not quiet_stderr and p.stderr:
        print(p.stderr[-2000:])
    print(f"$ {shlex.join(cmd)}   ({time.time() - t0:.1f} s)")
    return p.stdout


def demo_model() -> Path:
    """The demo model (tiny, random weights), made once as bin/mixtral-spark's demo makes it."""
    if not DEMO_MODEL.is_file():
        DEMO_MODEL.parent.mkdir(parents=True, exist_ok=True)
        run("bin/mixtral", "random-model", "--out", DEMO_MODEL, "--preset", "demo", "--seed", "1")
    return DEMO_MODEL


def save(fig, name: str) -> Path:
    """Saves a matplotlib figure as OUT/<name>.png and returns the path."""
    path = OUT / f"{name}.png"
    fig.savefig(path, dpi=110, bbox_inches="tight")
    print("saved", path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return path
