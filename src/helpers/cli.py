"""Command line: `python -m helpers <command>`; each command lives in the module that does the work.

Exit codes (README, "Scheduling the annual run"): 0 done; 1 a year's run failed or a data check stopped it (its
previous report and processed data are kept); 2 the command, its folders, the key or the inputs are not usable
(nothing was run); 3 another run holds the dataset's lock; 130 interrupted (Ctrl-C / SIGTERM); 141 the output
pipe was closed (e.g. `factors | head`). An expected failure prints one `error:` line, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from helpers import config


def _years(values: list[str]) -> list[int]:
    years: list[int] = []
    for value in values:
        for part in str(value).replace(",", " ").split():
            years.append(config.to_gregorian(part))
    return sorted(dict.fromkeys(years))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m helpers", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the notebooks for one or more years and render the HTML reports")
    run.add_argument("--year", nargs="+", required=True, help="Gregorian or ROC years, e.g. 2025 or 114 113")
    run.add_argument("--raw-dir", type=Path, default=config.RAW / config.DEFAULT_DATASET,
                     help="folder holding <year>/ raw inputs (default: the bundled sample)")
    run.add_argument("--processed-dir", type=Path, default=config.PROCESSED / config.DEFAULT_DATASET,
                     help="folder for processed tables (default: data/processed/sample)")
    run.add_argument("--out", type=Path, default=config.REPORTS, help="folder for reports (default: reports/)")
    run.add_argument("--base-year", default=None, help="year to compare with (default: the year before)")
    run.add_argument("--main-mode-rule", default="longest", choices=["longest", "public_first"],
                     help="how the main mode of a multi-leg trip is chosen")
    run.add_argument("--min-cell", type=int, default=3, help="suppress breakdown cells below this count")
    run.add_argument("--route-a-max-unmatched", type=float, default=0.2,
                     help="stop when a larger share of route-A respondents has no record last year (1: never)")
    run.add_argument("--min-accepted-share", type=float, default=0.5,
                     help="stop when a smaller share of the survey's raw rows ends in the inventory (0: only when none)")
    run.add_argument("--jobs", type=int, default=2, help="notebooks executed at once where independent")
    run.add_argument("--cell-timeout", type=float, default=config.CELL_TIMEOUT_S,
                     help="seconds one notebook cell may run before the run stops with an error (0: no limit)")
    run.add_argument("--notebooks-dir", type=Path, default=config.NOTEBOOKS,
                     help="folder of the NN_*.ipynb notebooks to run (default: notebooks/)")

    fac = sub.add_parser("factors", help="derive the emission factors of a year from their inputs (CSV)")
    fac.add_argument("--year", required=True, help="factor-set year, Gregorian or ROC")

    summ = sub.add_parser("summary", help="print a year's summary.json")
    summ.add_argument("--year", required=True)
    summ.add_argument("--out", type=Path, default=config.REPORTS)
    summ.add_argument("--raw-dir", type=Path, default=config.RAW / config.DEFAULT_DATASET)
    summ.add_argument("--processed-dir", type=Path, default=config.PROCESSED / config.DEFAULT_DATASET)

    sam = sub.add_parser("sample", help="(re)write the synthetic sample under data/raw/sample")
    sam.add_argument("--out", type=Path, default=config.RAW / config.DEFAULT_DATASET)

    pur = sub.add_parser("purge", help="delete a year's personal data past its retention date, with a record")
    pur.add_argument("--dataset", required=True)
    pur.add_argument("--year", required=True)
    pur.add_argument("--dry-run", action="store_true")
    pur.add_argument("--data-dir", type=Path, default=config.DATA)

    bench = sub.add_parser("bench", help="scale benchmark (make bench)")
    bench.add_argument("--sizes", default="1000,10000,100000,1000000")
    bench.add_argument("--full-run-sizes", default="100000",
                       help="staff sizes of the full annual run (all notebooks, both years, HTML); '' for none")
    bench.add_argument("--out", type=Path, default=config.REPORTS / "bench")
    bench.add_argument("--workbench", default="100000",
                       help="respondents per year of the workbench section (5 generated years; 0 skips it)")
    return parser


EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_LOCKED, EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 0, 1, 2, 3, 130, 141


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        status = _dispatch(args)
        sys.stdout.flush()  # inside the try: a closed pipe shows here, not in the interpreter's exit
        return status
    except BrokenPipeError:  # `python -m helpers factors | head`: the reader has gone, nothing to say
        try:  # the interpreter's final flush of stdout would fail again, with a message: point stdout at devnull
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return EXIT_BROKEN_PIPE
    except RuntimeError as exc:
        from helpers.publish.runguard import LockedError
        if not isinstance(exc, LockedError):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_LOCKED
    except KeyboardInterrupt:
        print("error: interrupted; the previous report and processed data of the year being run are kept",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ValueError, FileNotFoundError, LookupError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # permission denied, read-only mount, disk full
        where = f" ({exc.filename})" if getattr(exc, "filename", None) and str(exc.filename) not in str(exc) else ""
        print(f"error: {exc}{where}", file=sys.stderr)
        return EXIT_FAILED


def _dispatch(args) -> int:
    if args.command == "run":
        from helpers.publish import runner
        return runner.run_cli(args, _years(args.year))
    if args.command == "factors":
        from helpers.inventory import factors
        factors.write_csv(config.to_gregorian(args.year), sys.stdout)
        return 0
    if args.command == "summary":
        from helpers.publish import runner
        return runner.summary_cli(args, config.to_gregorian(args.year))
    if args.command == "sample":
        from helpers.synthetic import sample
        sample.write_sample(args.out)
        return 0
    if args.command == "purge":
        from helpers import privacy
        return privacy.purge_cli(args)
    if args.command == "bench":
        from helpers.synthetic import bench
        return bench.main(args)
    return EXIT_FAILED
