"""Secret redaction: throughput (MB/s) on five kinds of notebook text, and recall on the
external corpus (tests/capture/secret_corpus.py), for this project's rules, the rules of an
earlier commit (``--baseline REF``, default ``main``) and Yelp's detect-secrets (when it is
installed: ``pip install detect-secrets``; it is not a dependency).

    python bench/redaction_bench.py            # 2 MB per kind, best of 25 runs
    python bench/redaction_bench.py --quick    # 512 KB per kind, best of 5
    python bench/redaction_bench.py --quick --real-code   # and what is redacted in the
                                                          # installed packages' source

detect-secrets is driven as its own scanner runs: every line through ``scan_line`` with its
default plugins, and each reported value replaced in the line.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "capture"))

import secret_corpus  # noqa: E402

Engine = Callable[[str], str]
REAL_CODE = ("sklearn", "pandas", "IPython", "jupyter_server", "requests", "urllib3", "tornado",
             "sqlalchemy", "nbformat")  # fmt: skip


def text_kinds(size: int) -> dict[str, str]:
    """Five kinds of text a notebook's outputs and sources are made of."""
    rng = random.Random(1)

    def repeat(make: Callable[[int], str]) -> str:
        parts, total, i = [], 0, 0
        while total < size:
            part = make(i)
            parts.append(part)
            total += len(part) + 1
            i += 1
        return "\n".join(parts)

    return {
        "training log": repeat(
            lambda i: f"Epoch {i} - loss: {rng.random():.4f} - key: value_{i} token count {i * 3}"
        ),
        "python source": repeat(
            lambda i: (
                rng.choice(secret_corpus.BENIGN)
                + f"\nfor step, batch in enumerate(loader_{i}):\n    out = model(**batch)"
            )
        ),
        "json output": repeat(
            lambda i: json.dumps(
                {
                    "step": i,
                    "metrics": {"acc": rng.random(), "f1": rng.random()},
                    "config": {"max_tokens": 512, "key_dim": 64, "tokenizer": "bert"},
                }
            )
        ),
        "html table": repeat(
            lambda i: (
                f"<tr><th>{i}</th><td>{rng.random():.6f}</td><td>run-{i:05d}</td>"
                f"<td>{rng.choice(['train', 'valid', 'test'])}</td></tr>"
            )
        ),
        "ansi traceback": repeat(
            lambda i: (
                f"\x1b[32m----> {i}\x1b[39m \x1b[38;5;241mresult\x1b[39m "
                f"\x1b[38;5;250m=\x1b[39m model\x1b[38;5;241m.\x1b[39mfit(X_{i}, y)"
            )
        ),
    }


def ours() -> Engine:
    from jupyter_mm.capture.redact import Redactor

    redactor = Redactor()
    return lambda text: redactor.redact_text(text)[0]


def baseline(ref: str, workdir: Path) -> Engine | None:
    """The single-module redactor of an earlier commit, loaded from git."""
    try:
        source = subprocess.run(
            ["git", "-C", str(REPO), "show", f"{ref}:jupyter_mm/capture/redact.py"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    except subprocess.CalledProcessError:
        return None
    path = workdir / "redact_baseline.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("redact_baseline", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules["redact_baseline"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    redactor = module.Redactor()
    return lambda text: redactor.redact_text(text)[0]


def detect_secrets() -> Engine | None:
    try:
        from detect_secrets.core.scan import scan_line
        from detect_secrets.settings import default_settings
    except ImportError:
        return None

    def redact(text: str) -> str:
        lines = []
        with default_settings():
            for line in text.split("\n"):
                for found in scan_line(line):
                    if found.secret_value:
                        line = line.replace(found.secret_value, "‹redacted›")
                lines.append(line)
        return "\n".join(lines)

    return redact


def throughputs(engines: dict[str, Engine], text: str, repeats: int) -> dict[str, float]:
    """MB/s of each engine: the best of ``repeats`` runs, the engines interleaved so that
    load from other processes on a shared machine falls on all of them alike."""
    best = dict.fromkeys(engines, float("inf"))
    for _ in range(repeats):
        for name, engine in engines.items():
            started = time.perf_counter()
            engine(text)
            best[name] = min(best[name], time.perf_counter() - started)
    return {name: len(text.encode()) / t / 1e6 for name, t in best.items()}


def recall(engine: Engine, per_pair: int) -> tuple[dict[str, float], float, int]:
    """(recall per context, false-positive rate on the look-alikes, cases)."""
    found: dict[str, list[bool]] = {}
    for fmt in secret_corpus.FORMATS:
        for context in secret_corpus.CONTEXTS:
            if not secret_corpus.applicable(fmt, context):
                continue
            for _ in range(per_pair):
                text, secret = secret_corpus.case(fmt, context)
                found.setdefault(context, []).append(secret not in engine(text))
    looks = [line for line in secret_corpus.BENIGN]
    false_positive = sum(engine(line) != line for line in looks) / len(looks)
    rates = {c: sum(v) / len(v) for c, v in found.items()}
    return rates, false_positive, sum(len(v) for v in found.values())


def installed_source(packages: tuple[str, ...]) -> list[tuple[str, str]]:
    """(path, text) of the Python files of installed packages: code nobody here wrote."""
    import glob
    import sysconfig

    root = sysconfig.get_paths()["purelib"]
    found = []
    for package in packages:
        for path in sorted(glob.glob(f"{root}/{package}/**/*.py", recursive=True)):
            try:
                found.append((path[len(root) + 1 :], Path(path).read_text(encoding="utf-8")))
            except (OSError, UnicodeDecodeError):
                continue
    return found


def real_code_report(packages: tuple[str, ...]) -> None:
    """What our rules redact in real packages' source, by rule, with every credential line
    (to read: most are example passwords and test fixtures; the rest are false positives)."""
    from jupyter_mm.capture.redact import Redactor, _ScanPlan

    redactor = Redactor()
    files = installed_source(packages)
    by_rule: dict[str, int] = {}
    lines = []
    for path, text in files:
        lower = text.lower()
        for start, end, rule in redactor._spans(text, lower, _ScanPlan(lower)):
            by_rule[rule] = by_rule.get(rule, 0) + 1
            line_start = text.rfind("\n", 0, start) + 1
            line_end = text.find("\n", end)
            lines.append(f"  {path}: {text[line_start:line_end].strip()[:100]}")
    size = sum(len(t) for _, t in files) / 1e6
    print(f"\n{len(files)} files, {size:.1f} MB of {', '.join(packages)}: {by_rule}")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--baseline", default="main", help="git ref of the rules to compare")
    parser.add_argument(
        "--real-code",
        action="store_true",
        help="also list what the rules redact in installed packages' source",
    )
    args = parser.parse_args()
    size = 512 * 1024 if args.quick else 2 * 1024 * 1024
    with tempfile.TemporaryDirectory() as tmp:
        engines: dict[str, Engine | None] = {
            "ours": ours(),
            f"ours@{args.baseline}": baseline(args.baseline, Path(tmp)),
            "detect-secrets": detect_secrets(),
        }
        available = {name: e for name, e in engines.items() if e is not None}
        kinds = text_kinds(size)
        repeats = 5 if args.quick else 25
        print(
            f"throughput, MB/s, best of {repeats} interleaved runs on {size // 1024} KB per kind "
            "(detect-secrets: one run on 64 KB)"
        )
        print(f"{'kind':16s}" + "".join(f"{name:>18s}" for name in available))
        for kind, text in kinds.items():
            fast = {n: e for n, e in available.items() if n != "detect-secrets"}
            rates = throughputs(fast, text, repeats)
            if "detect-secrets" in available:
                rates.update(throughputs({"detect-secrets": available["detect-secrets"]},
                                         text[: 64 * 1024], 1))  # fmt: skip
            print(f"{kind:16s}" + "".join(f"{rates[name]:18.2f}" for name in available))
        print("\nrecall on the external corpus, per context")
        results = {name: recall(e, 1 if args.quick else 2) for name, e in available.items()}
        contexts = list(next(iter(results.values()))[0])
        print(f"{'context':22s}" + "".join(f"{name:>18s}" for name in available))
        for context in contexts:
            print(f"{context:22s}" + "".join(f"{r[0][context]:18.3f}" for r in results.values()))
        overall = {
            name: sum(rates.values()) / len(rates) for name, (rates, _, _) in results.items()
        }
        print(f"{'mean':22s}" + "".join(f"{overall[n]:18.3f}" for n in available))
        print(f"{'FP on look-alikes':22s}" + "".join(f"{r[1]:18.3f}" for r in results.values()))
        print(f"({next(iter(results.values()))[2]} cases per engine)")
    if args.real_code:
        real_code_report(REAL_CODE)


if __name__ == "__main__":
    main()
