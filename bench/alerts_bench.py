"""Costs of alerts and webhooks (run by hand; not part of bench/run.py's table).

    python bench/alerts_bench.py [--rows 100000]

1. a monitor pass (``roc_auc < 0.78 over 1000 labelled``, built-in PredictionLogSource)
   over a prediction log of ``--rows`` rows in batches of 10 000, 1 000 of them labelled;
2. a registry transition with no webhook configured vs one hook to a local receiver
   (what a transition pays for delivery: one signed POST and its log row, no retry).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def _median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


class _Ok(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--labels-at",
        choices=["newest", "oldest"],
        default="newest",
        help="which batch gets the 1000 labels (oldest: the pass reads every batch)",
    )
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="mm-alerts-bench-"))
    os.environ["JUPYTER_MM_STORE"] = f"sqlite:///{base / 'mm.db'}"
    os.environ["JUPYTER_CONFIG_DIR"] = str(base / "cfg")
    os.environ["JUPYTER_CONFIG_PATH"] = ""
    os.chdir(base)
    from alerts.conftest import classifier_data, register_production
    from traitlets.config import Config

    import jupyter_mm as mm
    from jupyter_mm.alerts.evaluate import check
    from jupyter_mm.alerts.rules import Monitor
    from jupyter_mm.tracking import default_store

    store = default_store()
    register_production(store)
    model = mm.load_model("fraud@production", store=store)
    for start in range(0, args.rows, 10_000):
        X, y = classifier_data(start, 10_000)
        ids = mm.log_predictions("fraud@production", X, model.predict(X),
                                 scores=model.predict_proba(X), classes=model.classes_,
                                 store=store)  # fmt: skip
        last = start + 10_000 >= args.rows
        if (args.labels_at == "newest" and last) or (args.labels_at == "oldest" and start == 0):
            mm.log_labels(ids[-1000:], 1 - y[-1000:], store=store)
    config = Config()
    config.Monitor.rules = ["roc_auc < 0.78 over 1000 labelled"]
    rules = Monitor(config=config)
    pass_ms = _median_ms(lambda: check(store, monitor=rules, dry_run=True), 5)
    print(
        f"monitor pass, {args.rows} logged, 1000 labelled in the {args.labels_at} batch: "
        f"{pass_ms:.0f} ms (median of 5)"
    )

    register_production(store, seed=1)

    def promote_the_other() -> None:  # two transitions: archived -> staging -> production
        other = next(v for v in store.list_versions("fraud") if v.stage != "production")
        mm.transition("fraud", other.version, "staging", store=store)
        mm.transition("fraud", other.version, "production", store=store)

    promote_the_other()  # warm up (imports, first connection)
    plain = _median_ms(promote_the_other, 7) / 2
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    os.environ["MM_BENCH_SECRET"] = "x"
    (base / "jupyter_mm_config.py").write_text(
        f"c.Webhooks.hooks = [{{'url': 'http://127.0.0.1:{server.server_address[1]}/h', "
        "'secret_env': 'MM_BENCH_SECRET'}]\n"
    )
    hooked = _median_ms(promote_the_other, 7) / 2
    server.shutdown()
    print(f"registry write, no webhook: {plain:.1f} ms; one webhook: {hooked:.1f} ms (median)")


if __name__ == "__main__":
    main()
