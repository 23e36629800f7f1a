"""Run every benchmark at a size this machine finishes in a few minutes and print its ratios.

    python benchmarks/run_all.py            # quick sizes
    python benchmarks/run_all.py --full     # the sizes each script defaults to
"""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
QUICK = {
    "bigmath_funnel.py": ["--scale", "1", "--repeat", "1"],
    "countdown_search.py": ["--quick"],
    "episodes.py": ["--quick"],
    "owm_scoring.py": ["--quick"],
    "scale.py": ["--scale", "2"],
}


def main() -> int:
    full = "--full" in sys.argv[1:]
    failed = 0
    for script, quick_args in QUICK.items():
        args = [] if full else quick_args
        print(f"== {script} {' '.join(args)}", flush=True)
        rc = subprocess.call([sys.executable, str(HERE / script), *args])
        failed += rc != 0
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
