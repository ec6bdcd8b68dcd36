"""Make random BERT models (shapes and trace orders drawn from a seed), with reference answers.

Usage: "${BERT_SERVE_PYTHON:-/usr/bin/python3}" scripts/make_generated_models.py OUT_DIR --count N [--seed S]

Builds N model directories OUT_DIR/gen-<seed+i> in this one process (bert/generated.py draws each
spec, bert/zoo.py builds it: the model file, config.json, the tokenizer files and case.json with
the inputs and the eager reference's answers), and OUT_DIR/generated.json listing them with what
was drawn. Directories already built from the same spec and scripts are kept. Prints one line with
what it covered (architectures, ways of saving, shapes).
"""
import argparse
import json
import os
import shutil
import sys
import time
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in scripts/ (it is not git-ignored)

from bert import stamp  # noqa: E402  (standard library only)


def main() -> int:
    ap = argparse.ArgumentParser(description="Make random BERT models with reference answers.")
    ap.add_argument("out_dir")
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    t0 = time.time()
    import torch
    from bert import generated, zoo
    torch.set_num_threads(1)
    log = print if args.verbose else (lambda _line: None)
    specs = [generated.spec(args.seed + i) for i in range(args.count)]
    built = 0
    with stamp.build_lock(args.out_dir):
        for s in specs:
            d = os.path.join(args.out_dir, s["name"])
            if stamp.stamp_matches(d, __file__, s, ["case.json"]):
                continue
            if os.path.isdir(d):
                shutil.rmtree(d)
            zoo.build_case(d, s, log, inputs_per_case=4)
            stamp.write_stamp(d, __file__, s)
            built += 1
        with open(os.path.join(args.out_dir, "generated.json"), "w", encoding="utf-8") as f:
            json.dump({s["name"]: s for s in specs}, f, indent=2, sort_keys=True)
            f.write("\n")
    count = Counter(s["architecture"] for s in specs)
    saves = Counter(s["save"] + (f"-{s['stored']}" if s.get("stored") else "") for s in specs)
    hidden = sorted(s["shape"]["hidden_size"] for s in specs)
    print(f"make_generated_models: {args.out_dir}: {built} built, {len(specs) - built} up to date; "
          f"{dict(count)}; {dict(saves)}; hidden {hidden[0]}-{hidden[-1]}; "
          f"{sum(1 for s in specs if s['expect'] != 'ok')} expected refusals ({time.time() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
