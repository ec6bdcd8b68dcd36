"""One line per stage on stderr, with the seconds since the first: long steps (importing torch,
exporting, verifying) say where they are instead of staying silent. Standard library only."""
import sys
import time
from typing import Callable


def stage_printer(name: str) -> Callable[[str], None]:
    t0 = time.time()

    def progress(stage: str) -> None:
        print(f"[{name} {time.time() - t0:.1f}s] {stage}", file=sys.stderr, flush=True)
    return progress
