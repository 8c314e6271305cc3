"""The top functions of a py-spy profile, with their share of the samples.

Record a daphne process while a benchmark runs (the visitors' process is the busier one;
`--gil` keeps only samples of the thread holding the GIL: the process's CPU work):

    python bench/ws_chat.py --targets h --pairs 200 --rate 0.75 --seconds 40 &
    py-spy record -p <daphne pid> -d 15 -r 97 --gil -f raw -o profile.txt
    python bench/top_functions.py profile.txt [--top 40]

Prints each function's inclusive share (the samples in which it is on the stack) and its
self share (the samples in which it is the innermost frame).
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path


def frame_name(frame: str) -> str:
    """`fn (path/to/module.py:12)` -> `fn (module.py)`: one entry per function."""
    name, _, where = frame.partition(" (")
    if not where:
        return frame
    return f"{name} ({where.split(':')[0].rsplit('/', 1)[-1]})"


def summarise(path: Path) -> tuple[int, Counter[str], Counter[str]]:
    inclusive: Counter[str] = Counter()
    innermost: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [frame_name(f) for f in stack.split(";")]
        for name in set(frames):
            inclusive[name] += n
        innermost[frames[-1]] += n
    return total, inclusive, innermost


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("profile", type=Path, help="py-spy record -f raw output")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    total, inclusive, innermost = summarise(args.profile)
    print(f"{total} samples")
    print("inclusive (on the stack):")
    for name, n in inclusive.most_common(args.top):
        print(f"  {100 * n / total:5.1f} %  {name}")
    print("self (innermost frame):")
    for name, n in innermost.most_common(args.top // 2):
        print(f"  {100 * n / total:5.1f} %  {name}")


if __name__ == "__main__":
    main()
