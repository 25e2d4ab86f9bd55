"""Scale benchmark (`make bench`): synthetic surveys of 10^3..10^6 respondents, and the annual run against its floor.

Generate (vectorised) / Measure (each size in a fresh subprocess: wall time per stage and peak memory) /
Report (a table to the terminal and to <out>/bench.md and bench.json, with the machine it ran on).

Every size is a staff of n people answering the 2025 form (routes A/B/C/D, 1-3 commute patterns of
1-4 legs, about 3 legs a person, the attitude questions) and the personnel office's attendance workbook, in the
real raw formats. Route A reuses the previous year's answers, so a 2024 survey of the same staff is
generated and ingested first (not timed): the measured time is the 2025 ingestion (read, validate,
pseudonymise, carry route-A legs over, write) plus emissions, mode shares and attitudes on its tables.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from helpers import config, privacy, reference

YEAR, PREV_YEAR = 2025, 2024
SEED = 20250601
BENCH_KEY = "workbench-benchmark"  # pseudonym key of the synthetic runs (never the real key file)
FLOOR_REPEATS = 5  # the floor is the median of this many empty-notebook runs (after one warm-up)
RUN_REPEATS = 3  # the full annual run: median of this many runs (after one warm-up, as the floor)
TARGET_RUN_RATIO = 1.5  # full annual run <= 1.5 x (notebooks x floor)
TARGET_1M_SECONDS = 60.0
FULL_RUN_SIZES = (100_000,)  # staff sizes of the full annual run (all notebooks, both years, HTML)
TARGET_FULL_RUN_SECONDS = 20.0  # the product's goal for the full annual run of 10^5 staff
RSS_SAMPLE_S = 0.2  # how often the process tree's memory is sampled during the full run
TARGET_1M_PEAK_MB = 4096.0
TARGET_OPEN_S = 5.0  # the researcher's workbench: five years of 10^5 respondents open in under 5 s
TARGET_VIEW_S = 1.0  # and each widget change redraws in under 1 s
BOOTSTRAP_N = 100_000  # respondents of the bootstrap timing (helpers.inventory.uncertainty)
BOOTSTRAP_REPEATS = 3
TARGET_BOOTSTRAP_SECONDS = 10.0  # 1,000 resamples at 10^5 respondents

# Route shares of the measured year (the 2025 sample: 105 A / 8 B / 18 C / 4 D of 135).
ROUTE_SHARES = {"A": 0.74, "B": 0.08, "C": 0.15, "D": 0.03}
LEAVERS_SHARE = 0.08  # answered the previous year only (left since)
NON_RESPONDENT_SHARE = 0.05  # staff on the attendance list who did not answer
RESUBMIT_SHARE = 0.01  # B/C answers submitted twice (the earlier one is superseded)
MESSY_SHARE = 0.03  # cells typed with a unit or in full-width digits ("5 km", "１２")

# Commute templates: (weight, [(days per week, [(mode, km low, km high), ...]), ...]); about 3 legs on average.
COMMUTES: list[tuple[float, list[tuple[int, list[tuple[str, float, float]]]]]] = [
    (0.08, [(5, [("car_petrol", 3, 45)])]),
    (0.10, [(5, [("car_petrol", 3, 40), ("walk", 0.2, 0.6)])]),
    (0.06, [(5, [("motorcycle_petrol", 2, 25)])]),
    (0.03, [(5, [("motorcycle_petrol", 2, 25), ("walk", 0.1, 0.4)])]),
    (0.03, [(5, [("motorcycle_electric", 2, 15)])]),
    (0.03, [(5, [("car_hybrid", 5, 40), ("walk", 0.2, 0.5)])]),
    (0.20, [(5, [("walk", 0.3, 1.2), ("bus_city_diesel", 1.5, 6), ("mrt_taipei", 3, 15), ("walk", 0.2, 0.8)])]),
    (0.14, [(5, [("walk", 0.3, 1.2), ("mrt_new_taipei", 3, 18), ("walk", 0.2, 0.8)])]),
    (0.06, [(5, [("bike_public", 0.8, 2.5), ("mrt_taipei", 2, 12), ("walk", 0.2, 0.6)])]),
    (0.06, [(5, [("walk", 0.3, 1.0), ("tra", 8, 60), ("mrt_taipei", 1.5, 6), ("walk", 0.2, 0.6)])]),
    (0.02, [(5, [("car_petrol", 2, 6), ("thsr", 40, 180), ("mrt_taipei", 2, 6), ("walk", 0.2, 0.6)])]),
    (0.04, [(5, [("walk", 0.3, 1.0), ("coach_diesel", 15, 60), ("walk", 0.3, 1.0)])]),
    (0.03, [(5, [("walk", 0.5, 3.5)])]),
    (0.02, [(5, [("bike_private", 1, 8)])]),
    (0.04, [(3, [("motorcycle_petrol", 2, 20)]),
            (2, [("walk", 0.3, 1.0), ("bus_city_electric", 2, 8), ("mrt_taipei", 2, 12), ("walk", 0.2, 0.6)])]),
    (0.04, [(3, [("car_petrol", 5, 40)]), (2, [("walk", 0.3, 1.0), ("mrt_new_taipei", 4, 20), ("walk", 0.2, 0.8)])]),
    (0.02, [(2, [("car_electric", 5, 40)]), (2, [("bike_public", 0.8, 2), ("mrt_taipei", 2, 10)]),
            (1, [("walk", 0.5, 3)])]),
]
PRIVATE_MOTOR = {"car_petrol", "car_hybrid", "car_electric", "motorcycle_petrol", "motorcycle_electric"}
# attitude answers of private-motor main-mode users (alternative: one; barriers: several) and everyone (incentives)
ALTERNATIVES = {"bus_city_diesel": 0.22, "bus_city_electric": 0.14, "mrt_taipei": 0.16, "motorcycle_electric": 0.12,
                "tra": 0.08, "car_electric": 0.1, "bike_public": 0.05, "none": 0.13}
BARRIERS = {"flexible": 0.35, "wait_long": 0.3, "timetable": 0.25, "transfers": 0.2, "no_service": 0.15,
            "station_far": 0.1}
INCENTIVES = {"reward_scheme": 0.55, "tpass_subsidy": 0.45, "bike_station": 0.3, "escooter_parking": 0.18,
              "ev_parking_fee": 0.15, "bike_parking": 0.14, "showers": 0.1}
BARRIER_TEXTS = ["要載小孩", "接送學童上下學", "下雨天不方便", "公司附近沒有停車位以外的選擇"]
INCENTIVE_TEXTS = ["搭乘大眾運輸多花的通勤時間可計入工時", "推動每月綠色通勤日", "增設接駁車"]
SURNAMES = np.array(list("陳林黃張李王吳劉蔡楊許鄭謝郭洪曾邱廖賴周徐蘇葉莊呂江何蕭羅高"), dtype=object)
GIVEN = np.array(list("志明俊宏淑芬怡君家豪雅婷建文美玲冠宇佳穎宗翰欣怡承恩詩涵柏宇"), dtype=object)
DEPARTMENTS = np.array(["運輸計畫組", "運輸工程組", "運輸安全組", "運輸資訊組", "港灣技術中心", "秘書室", "人事室",
                        "主計室", "政風室", "資訊室"], dtype=object)
FULL_WIDTH = str.maketrans("0123456789.", "０１２３４５６７８９．")


# ---------------------------------------------------------------------------------------------- generate

def _labels(mapping: dict, field: str) -> dict[str, str]:
    """code -> the form's answer label (the first label of a code)."""
    out: dict[str, str] = {}
    for label, code in mapping["answers"][field].items():
        out.setdefault(code, label)
    return out


def _staff(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """n staff of the measured year plus the previous year's leavers: employee number, name, department,
    route, commute template (previous and measured year) and attendance days."""
    total = n + int(round(n * LEAVERS_SHARE))
    routes = np.array(list(ROUTE_SHARES) + ["X"])
    shares = np.array(list(ROUTE_SHARES.values()))
    route = np.concatenate([rng.choice(routes[:-1], size=n, p=shares / shares.sum()),
                            np.full(total - n, "X")])
    weights = np.array([w for w, _ in COMMUTES])
    prev = rng.choice(len(COMMUTES), size=total, p=weights / weights.sum())
    changed = rng.choice(len(COMMUTES), size=total, p=weights / weights.sum())
    # route B changed commute; A kept it; C is new (no previous year); D and X answered the previous year
    current = np.where(route == "B", changed, prev)
    numbers = pd.Series(np.arange(total) * 7 + 100003).astype(str).str.zfill(7)
    return pd.DataFrame({
        "employee_no": ("E" + numbers).to_numpy(dtype=object),
        "name": SURNAMES[rng.integers(0, len(SURNAMES), total)] + GIVEN[rng.integers(0, len(GIVEN), total)]
        + GIVEN[rng.integers(0, len(GIVEN), total)],
        "department": DEPARTMENTS[rng.integers(0, len(DEPARTMENTS), total)],
        "route": route, "prev_commute": prev, "commute": current,
        "days_prev": np.clip(np.round(rng.normal(206, 22, total)), 90, 248).astype(int),
        "days": np.clip(np.round(rng.normal(182, 22, total)), 90, 248).astype(int),
    })


def _main_mode(template: int) -> str:
    """The main mode of a commute template: the longest leg of the pattern with the most days."""
    patterns = COMMUTES[template][1]
    _, legs = max(patterns, key=lambda pattern: pattern[0])
    return max(legs, key=lambda leg: leg[2])[0]


def _messy(values: np.ndarray, rng: np.random.Generator, suffix: str) -> np.ndarray:
    """A few cells typed the way people do: with a unit, or in full-width digits."""
    out = values.copy()
    k = rng.random(len(out))
    unit, wide = k < MESSY_SHARE / 2, (k >= MESSY_SHARE / 2) & (k < MESSY_SHARE)
    out[unit] = out[unit] + suffix
    out[wide] = np.array([v.translate(FULL_WIDTH) for v in out[wide]], dtype=object)
    return out


def _commute_columns(templates: np.ndarray, mapping: dict, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The days/mode/km cells of every respondent's commute template (blank where not used)."""
    pat = mapping["patterns"]
    labels = _labels(mapping, "mode")
    n = len(templates)
    cells: dict[str, np.ndarray] = {}

    def column(name: str) -> np.ndarray:
        return cells.setdefault(name, np.full(n, "", dtype=object))

    for t, (_, patterns) in enumerate(COMMUTES):
        rows = np.flatnonzero(templates == t)
        if not len(rows):
            continue
        for p, (days, legs) in enumerate(patterns, start=1):
            plabel = pat["labels"][p]
            column(pat["days"].format(p=plabel))[rows] = _messy(np.full(len(rows), str(days), dtype=object), rng, "天")
            for leg, (mode, lo, hi) in enumerate(legs, start=1):
                column(pat["leg_mode"].format(p=plabel, l=leg))[rows] = labels[mode]
                km = np.round(rng.uniform(lo, hi, len(rows)), 1).astype(str).astype(object)
                column(pat["leg_km"].format(p=plabel, l=leg))[rows] = _messy(km, rng, " km")
    return cells


def _multi_select(mask: np.ndarray, options: dict[str, float], labels: dict[str, str], texts: list[str],
                  sep: str, rng: np.random.Generator) -> np.ndarray:
    """Multi-select cells: each option ticked with its probability, sometimes an 'other' free text."""
    n = len(mask)
    out = np.full(n, "", dtype=object)
    for code, prob in options.items():
        hit = mask & (rng.random(n) < prob)
        out[hit] = np.where(out[hit] == "", labels[code], out[hit] + sep + labels[code])
    other = mask & (rng.random(n) < 0.03)
    text = np.array(texts, dtype=object)[rng.integers(0, len(texts), n)]
    out[other] = np.where(out[other] == "", text[other], out[other] + sep + text[other])
    return out


def _google(ts: pd.Series) -> np.ndarray:
    """Google Forms zh-TW timestamps, e.g. '2025/3/5 下午 2:31:07'."""
    dt = ts.dt
    half = np.where(dt.hour < 12, "上午", "下午")
    hour = (dt.hour % 12).replace(0, 12).astype(str)
    text = (dt.year.astype(str) + "/" + dt.month.astype(str) + "/" + dt.day.astype(str) + " " + half + " " + hour
            + ":" + dt.minute.astype(str).str.zfill(2) + ":" + dt.second.astype(str).str.zfill(2))
    return text.to_numpy(dtype=object)


def survey_table(staff: pd.DataFrame, year: int, rng: np.random.Generator) -> pd.DataFrame:
    """The survey export of one year in the form's column layout (text cells), resubmissions included."""
    from helpers.synthetic.sample import survey_headers

    mapping = reference.load_yaml(config.REFERENCE / "survey" / f"{year}.yaml")
    cols = mapping["columns"]
    measured = year == YEAR
    people = staff[staff["route"] != "X"] if measured else staff[staff["route"] != "C"]
    people = people.reset_index(drop=True)
    n = len(people)
    answers_commute = ~people["route"].isin(["A", "D"]).to_numpy() if measured else np.ones(n, bool)
    template = (people["commute"] if measured else people["prev_commute"]).to_numpy()
    table: dict[str, np.ndarray] = {
        cols["email"]: ("staff." + people["employee_no"].str.lower() + "@example.org").to_numpy(dtype=object),
        cols["employee_no"]: people["employee_no"].to_numpy(dtype=object),
        cols["department"]: people["department"].to_numpy(dtype=object),
    }
    commute = _commute_columns(np.where(answers_commute, template, -1), mapping, rng)
    table.update(commute)
    if measured:
        table[cols["route"]] = people["route"].map(_labels(mapping, "route")).to_numpy(dtype=object)
        main_private = np.array([_main_mode(t) in PRIVATE_MOTOR for t in range(len(COMMUTES))])[template]
        asked = main_private & (people["route"] != "D").to_numpy()
        sep = mapping.get("multi_select_separator", ", ")
        alt_codes = np.array(list(ALTERNATIVES), dtype=object)
        p = np.array(list(ALTERNATIVES.values()))
        alt = alt_codes[rng.choice(len(alt_codes), size=n, p=p / p.sum())]
        alt_labels = _labels(mapping, "alternative")
        table[cols["alternative"]] = np.where(asked & (rng.random(n) < 0.9),
                                              pd.Series(alt).map(alt_labels).to_numpy(dtype=object), "")
        table[cols["barrier"]] = _multi_select(asked, BARRIERS, _labels(mapping, "barrier"), BARRIER_TEXTS, sep, rng)
        table[cols["incentive"]] = _multi_select((people["route"] != "D").to_numpy(), INCENTIVES,
                                                 _labels(mapping, "incentive"), INCENTIVE_TEXTS, sep, rng)
    frame = pd.DataFrame(table)
    submitted = pd.Timestamp(f"{year}-03-03 08:30") + pd.to_timedelta(rng.integers(0, 18 * 24 * 3600, n), unit="s")
    # resubmissions: an earlier answer with another first distance, superseded by the later one
    again = np.flatnonzero(answers_commute & (rng.random(n) < RESUBMIT_SHARE))
    first_km = mapping["patterns"]["leg_km"].format(p=mapping["patterns"]["labels"][1], l=1)
    earlier = frame.iloc[again].assign(**{first_km: "99"})
    hours_before = pd.to_timedelta(rng.integers(2 * 3600, 48 * 3600, len(again)), unit="s")
    frame = pd.concat([frame, earlier], ignore_index=True)
    frame["_ts"] = np.concatenate([submitted.to_numpy(), (submitted[again] - hours_before).to_numpy()])
    frame = frame.sort_values("_ts", kind="stable", ignore_index=True)  # the export is in submission order
    frame[cols["timestamp"]] = _google(frame.pop("_ts"))
    return frame.reindex(columns=survey_headers(mapping), fill_value="")


def attendance_table(staff: pd.DataFrame, year: int, rng: np.random.Generator) -> pd.DataFrame:
    """The personnel office's attendance list: everyone in scope that year (non-respondents too); the whole roster
    (in scope, join and leave dates) when the year's mapping reads attendance from its roster."""
    form = reference.load_yaml(config.REFERENCE / "survey" / f"{year}.yaml")
    mapping = form["attendance"]["columns"]
    in_year = staff["route"] != ("X" if year == YEAR else "C")
    people = staff[in_year]
    extra = int(round(len(people) * NON_RESPONDENT_SHARE))
    numbers = pd.Series(np.arange(extra) * 7 + 5).astype(str).str.zfill(7)
    days = people["days" if year == YEAR else "days_prev"].to_numpy()
    table = pd.DataFrame({
        mapping["employee_no"]: np.concatenate([people["employee_no"].to_numpy(dtype=object),
                                                ("N" + numbers).to_numpy(dtype=object)]),
        "姓名": np.concatenate([people["name"].to_numpy(dtype=object), np.full(extra, "王小明", dtype=object)]),
        "單位": np.concatenate([people["department"].to_numpy(dtype=object),
                               DEPARTMENTS[rng.integers(0, len(DEPARTMENTS), extra)]]),
        mapping["attendance_days"]: np.concatenate([days, np.clip(np.round(rng.normal(190, 20, extra)), 90, 248)
                                                    .astype(int)]),
    })
    roster = form.get("roster")
    if roster and roster["file"] == form["attendance"]["file"]:
        cols = roster["columns"]
        joined = np.concatenate([np.where(people["route"] == "C", f"{year}-02-01", "2010-01-04"),
                                 np.full(extra, "2012-03-01")])
        yes = next(label for label, value in roster["in_scope_values"].items() if value is True)
        table = table.assign(**{cols["in_scope"]: yes, cols["join_date"]: joined, cols["leave_date"]: ""})
    return table


def write_xlsx(frame: pd.DataFrame, path: Path, sheet: str) -> None:
    """One-sheet xlsx with openpyxl's write_only mode (streams rows; the normal mode holds every cell in memory)."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    ws.append(list(frame.columns))
    for row in zip(*(frame[c].tolist() for c in frame.columns)):
        ws.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)


def generate(n: int, raw_dir: Path, seed: int = SEED) -> dict:
    """Write <raw_dir>/2024 and /2025 survey.csv + attendance (2025: the roster) for a staff of n; returns counts
    and seconds."""
    raw_dir = Path(raw_dir)
    rng = np.random.default_rng(seed + n)
    staff = _staff(n, rng)
    out: dict = {"respondents": n}
    for year in (PREV_YEAR, YEAR):
        started = time.perf_counter()
        mapping = reference.load_yaml(config.REFERENCE / "survey" / f"{year}.yaml")
        folder = raw_dir / str(year)
        folder.mkdir(parents=True, exist_ok=True)
        survey = survey_table(staff, year, rng)
        (folder / mapping["survey_file"]).write_bytes(
            survey.to_csv(index=False, lineterminator="\n").encode(mapping["encoding"]))
        csv_s = time.perf_counter() - started
        att = mapping["attendance"]
        attendance = attendance_table(staff, year, rng)
        write_xlsx(attendance, folder / att["file"], att["sheet"])
        out[year] = {"survey_rows": len(survey), "attendance_rows": len(attendance), "csv_s": csv_s,
                     "xlsx_s": time.perf_counter() - started - csv_s,
                     "csv_mb": (folder / mapping["survey_file"]).stat().st_size / 2**20,
                     "xlsx_mb": (folder / att["file"]).stat().st_size / 2**20}
    return out


# ----------------------------------------------------------------------------------------------- measure

def _peak_rss_mb() -> float:
    """Peak resident memory of this process so far, MiB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def prepare(n: int, work: Path) -> dict:
    """Generate the raw files of a staff of n and ingest the previous year (route A's carry-over store)."""
    from helpers.survey import ingest

    started = time.perf_counter()
    info = generate(n, work / "raw")
    info["generate_s"] = time.perf_counter() - started
    started = time.perf_counter()
    ingest.ingest_year(PREV_YEAR, work / "raw", work / "processed", key=BENCH_KEY.encode())
    info["previous_year_ingest_s"] = time.perf_counter() - started
    return info


def measure(work: Path, main_mode_rule: str = "longest") -> dict:
    """Time the measured year's stages on the files of `prepare`; returns seconds per stage and peak memory."""
    from helpers.inventory import emissions, factors, modeshare
    from helpers.survey import attitudes, ingest

    raw, processed = work / "raw", work / "processed"
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[stage] = now - clock
        clock = now

    report = ingest.ingest_year(YEAR, raw, processed, key=BENCH_KEY.encode())
    lap("ingest")
    data = ingest.load_year(processed, YEAR)
    lap("load")
    fac = factors.factors_by_mode(YEAR)
    per = emissions.per_respondent(data["respondents"], data["patterns"], data["legs"], fac)
    emissions.totals(per)
    emissions.by_mode(data["legs"], data["patterns"], per, fac)
    emissions.distance_distribution(per)
    lap("emissions")
    main = modeshare.main_modes(data["patterns"], data["legs"], rule=main_mode_rule)
    modeshare.leg_share_by_group(data["legs"])
    modeshare.leg_share_by_mode(data["legs"])
    modeshare.main_share_by_group(main)
    modeshare.main_share_by_mode(main)
    lap("mode_shares")
    coded = attitudes.code_free_text(data["attitudes"])
    cars = attitudes.petrol_car_users(main)
    for question, who in (("alternative", cars), ("barrier", cars), ("incentive", None)):
        attitudes.persons_by_code(coded, question, who)
    attitudes.themes(coded, cars)
    attitudes.by_emission_band(coded, "barrier", per, cars)
    attitudes.by_emission_band(coded, "incentive", per)
    lap("attitudes")
    return {"seconds": seconds, "total_s": sum(seconds.values()), "peak_rss_mb": _peak_rss_mb(),
            "respondents": int(report["accepted"] + report["declined"]), "in_inventory": int(report["accepted"]),
            "legs": int(report["legs"]), "raw_rows": int(report["raw_rows"]), "reconciles": bool(report["reconciles"])}


def _child(step: str, n: int, work: Path) -> dict:
    """Run one step in a fresh interpreter (its own peak memory); returns its JSON result."""
    command = [sys.executable, "-m", "helpers.synthetic.bench", step, str(n), str(work)]
    done = subprocess.run(command, capture_output=True, text=True, env=_child_env())
    if done.returncode != 0:
        raise RuntimeError(f"bench {step} at n={n} failed (exit {done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


@contextlib.contextmanager
def _bench_key():
    """The benchmark's own pseudonym key for the notebooks' kernels: the real key is neither used nor created."""
    previous = os.environ.get(privacy.KEY_ENV)
    os.environ[privacy.KEY_ENV] = BENCH_KEY
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(privacy.KEY_ENV, None)
        else:
            os.environ[privacy.KEY_ENV] = previous


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env[privacy.KEY_ENV] = BENCH_KEY
    src = str(Path(__file__).resolve().parents[2])  # the helpers package, also when it is not installed
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p)
    return env


def _children(steps: tuple[str, ...], n: int, work: Path) -> list[dict]:
    """Run the steps one after the other, each in a fresh interpreter (_child); the work folder is removed after."""
    try:
        return [_child(step, n, work) for step in steps]
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measure_size(n: int, work: Path) -> dict:
    """Prepare (untimed) and measure one size, each in its own subprocess; the work folder is removed after."""
    prepared, result = _children(("prepare", "measure"), n, work)
    result["prepare"] = prepared
    result["n"] = n
    result["s_per_1e5"] = result["total_s"] / n * 1e5
    return result


# ----------------------------------------------------------------------------------- the researcher's workbench

WORKBENCH_YEARS = (2024, 2025, 2026, 2027, 2028)  # factor set 2024 serves every later year
WORKBENCH_ROUTES = {"A": 0.80, "B": 0.17, "D": 0.03}  # of the previous year's people still on staff (rest: C)
WORKBENCH_LEAVERS = 0.08  # of the previous year's people, replaced by as many joiners (route C)
WORKBENCH_ATTITUDE_SHARE = 0.6  # respondents answering the incentive question (several codes each)


def _template_legs(person: np.ndarray, templates: np.ndarray, rng: np.random.Generator
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Patterns and legs of people commuting by the given COMMUTES templates (km rounded to 0.1 as typed)."""
    pats, legs = [], []
    for t, (_, patterns) in enumerate(COMMUTES):
        who = person[templates == t]
        if not len(who):
            continue
        for p, (days, template_legs) in enumerate(patterns, start=1):
            pats.append(pd.DataFrame({"person": who, "pattern_no": p, "days_per_week": float(days)}))
            for leg, (mode, lo, hi) in enumerate(template_legs, start=1):
                legs.append(pd.DataFrame({"person": who, "pattern_no": p, "leg_no": leg, "mode_id": mode,
                                          "distance_km": np.round(rng.uniform(lo, hi, len(who)), 1)}))
    return pd.concat(pats, ignore_index=True), pd.concat(legs, ignore_index=True)


def workbench_years(n: int, processed: Path, years: tuple[int, ...] = WORKBENCH_YEARS, seed: int = SEED) -> dict:
    """Processed tables (written by ingest.save_year, schema-validated) of `years` survey years of a staff of n
    followed over time: leavers replaced by joiners (route C), stayers reusing (A), changing (B) or declining (D)
    their answers, COMMUTES templates, attendance days, incentive answers. Returns rows written per year."""
    from helpers import schemas
    from helpers.survey import ingest

    rng = np.random.default_rng(seed + 7 * n)
    weights = np.array([w for w, _ in COMMUTES])
    weights = weights / weights.sum()
    people = np.arange(n)  # person numbers; their pseudonyms are derived below
    routes = np.full(n, "C")
    next_person = n
    patterns, legs = _template_legs(people, rng.choice(len(COMMUTES), n, p=weights), rng)
    codes = np.array(list(INCENTIVES), dtype=object)
    probabilities = np.array(list(INCENTIVES.values()))
    written = {}
    for i, year in enumerate(years):
        if i:  # this year's staff: stayers of last year (less leavers), then joiners
            staying = rng.random(len(people)) >= WORKBENCH_LEAVERS
            stay, declined_before = people[staying], routes[staying] == "D"
            joiners = np.arange(next_person, next_person + n - len(stay))
            next_person += len(joiners)
            draw = rng.random(len(stay))
            a, b = WORKBENCH_ROUTES["A"], WORKBENCH_ROUTES["A"] + WORKBENCH_ROUTES["B"]
            stay_routes = np.where(draw < a, "A", np.where(draw < b, "B", "D"))
            # last year's decliners had their answers deleted: nothing to reuse, they answer anew
            stay_routes = np.where(declined_before & (stay_routes == "A"), "B", stay_routes)
            people, routes = np.concatenate([stay, joiners]), np.concatenate([stay_routes, np.full(len(joiners), "C")])
            new = people[np.isin(routes, ["B", "C"])]
            new_pats, new_legs = _template_legs(new, rng.choice(len(COMMUTES), len(new), p=weights), rng)
            kept = people[routes == "A"]
            patterns = pd.concat([patterns[patterns["person"].isin(kept)], new_pats], ignore_index=True)
            legs = pd.concat([legs[legs["person"].isin(kept)], new_legs], ignore_index=True)
        ids = pd.Series(people).map(lambda p: f"{(p * 0x9E3779B97F4A7C15 + 12345) % 2**64:016x}")
        id_of = dict(zip(people, ids))
        in_inv = routes != "D"
        respondents = pd.DataFrame({
            "respondent_id": ids, "year": year, "source_row": np.arange(1, len(people) + 1),
            "submitted_at": pd.Timestamp(f"{year}-03-03 08:30"), "route": routes,
            "department": DEPARTMENTS[(people * 7 + 3) % len(DEPARTMENTS)],
            "attendance_days": np.where(in_inv, np.clip(np.round(rng.normal(200, 22, len(people))), 90, 248), np.nan),
            "legs_source": np.where(~in_inv, "none", np.where(routes == "A", "carried_over", "survey")),
            "in_inventory": in_inv})
        members = set(people[in_inv])
        year_pats = patterns[patterns["person"].isin(members)]
        year_legs = legs[legs["person"].isin(members)]
        answering = people[in_inv & (rng.random(len(people)) < WORKBENCH_ATTITUDE_SHARE)]
        picks = rng.random((len(answering), len(codes))) < probabilities
        who, which = np.nonzero(picks)
        attitudes = pd.DataFrame({"respondent_id": pd.Series(answering[who]).map(id_of), "question": "incentive",
                                  "code": codes[which], "free_text": pd.NA})
        routes_count = {r: int((routes == r).sum()) for r in ("A", "B", "C", "D")}
        report = {"year": year, "file": "generated", "walk_rule": "all_walks", "raw_rows": len(people),
                  "accepted": int(in_inv.sum()), "declined": int((~in_inv).sum()), "duplicates": 0, "rejected": 0,
                  "carried_over": routes_count["A"], "routes": routes_count, "patterns": len(year_pats),
                  "legs": len(year_legs), "reconciles": True}
        tables = {"respondents": respondents,
                  "patterns": year_pats.assign(respondent_id=year_pats["person"].map(id_of)).drop(columns="person"),
                  "legs": year_legs.assign(respondent_id=year_legs["person"].map(id_of)).drop(columns="person"),
                  "attitudes": attitudes, "rejects": schemas.REJECTS.empty()}
        ingest.save_year(Path(processed), year, tables, report)
        written[year] = {"respondents": len(people), "in_inventory": int(in_inv.sum()), "legs": len(year_legs)}
    return written


STAYERS_VIEWS = (("car", "public"), ("private", "public"), ("motorcycle", "mrt"))  # switchers shown: from, to
OPENS = {  # how the workbench is opened, each in a fresh interpreter, in this order
    "uncached": "no cache (`cache=False`): every year computed",
    "first": "first open: every year computed, tables kept in `<year>/.derived/`",
    "cached": "next open, fresh process: the kept tables read",
}


def measure_workbench_open(n: int, work: Path, cache: bool = True) -> dict:
    """Seconds (wall, CPU) and peak memory of opening the workbench on the processed tables under work/."""
    from helpers import workbench

    wall, cpu = time.perf_counter(), time.process_time()
    wb = workbench.open_workbench(work / "processed", cache=cache)
    return {"seconds": time.perf_counter() - wall, "cpu_seconds": time.process_time() - cpu,
            "peak_rss_mb": _peak_rss_mb(), "cache_status": sorted(set(wb.cache_status.values())),
            "load_average": os.getloadavg()}


def _redraw(wb, a: int, b: int, **selection) -> None:
    """What a widget change does in the explore notebook (workbench.live): the view, its table as HTML and its
    chart as PNG, as IPython's inline backend renders a figure (bbox_inches="tight")."""
    from helpers.publish import tables

    view = wb.view(a, b, **selection)
    tables.show(view.table)._repr_html_()
    view.figure.savefig(io.BytesIO(), format="png", bbox_inches="tight")


def _redraw_stayers(wb, a: int, b: int, **selection) -> None:
    """The explore notebook's stayers' view on a widget change: transition_view, its two tables as HTML."""
    from helpers.publish import tables

    view = wb.transition_view(a, b, **selection)
    tables.show(view.matrix)._repr_html_()
    tables.show(view.switchers)._repr_html_()


def measure_workbench(n: int, work: Path, measures: tuple[str, ...] | None = None,
                      breakdowns: tuple[str, ...] | None = None) -> dict:
    """Seconds (wall and CPU) and peak memory to open the workbench on five generated years of n respondents (see
    OPENS: without the cache, first open, next open; each in a fresh process), then to draw each view (the
    explore notebook's widget change: wb.view) for every measure x breakdown, all staff and one department (or
    the given measures and breakdowns); the processed tables are generated first (not timed) and removed after."""
    import matplotlib.pyplot as plt

    from helpers import workbench

    processed = work / "processed"
    try:
        started = time.perf_counter()
        written = workbench_years(n, processed)
        generate_s = time.perf_counter() - started
        opens = {kind: _child("workbench_open" if kind != "uncached" else "workbench_open_uncached", n, work)
                 for kind in OPENS}
        wb = workbench.open_workbench(processed)
        a, b = wb.years[-2], wb.years[-1]
        wall, cpu = time.perf_counter(), time.process_time()
        _redraw(wb, a, b)  # the first view also imports matplotlib and sets the fonts up: reported apart
        plt.close("all")
        opened = {"first_view_s": time.perf_counter() - wall, "first_view_cpu_s": time.process_time() - cpu}
        views, cpus = {}, {}
        for department in (None, wb.departments()[0]):
            for measure in measures or tuple(workbench.MEASURES):
                for by in breakdowns or tuple(workbench.BREAKDOWNS):
                    key = f"{measure}/{by}/{'one department' if department else 'all'}"
                    wall, cpu = time.perf_counter(), time.process_time()
                    _redraw(wb, a, b, measure=measure, by=by, department=department)
                    views[key], cpus[key] = time.perf_counter() - wall, time.process_time() - cpu
                    plt.close("all")
        stayers = {}
        for department in (None, wb.departments()[0]):
            for from_, to in STAYERS_VIEWS:
                wall = time.perf_counter()
                _redraw_stayers(wb, a, b, from_=from_, to=to, department=department)
                stayers[f"{from_}→{to}/{'one department' if department else 'all'}"] = time.perf_counter() - wall
    finally:
        shutil.rmtree(work, ignore_errors=True)
    slowest = max(views, key=views.get)
    return {"n": n, "years": list(written), "rows": written, "generate_s": generate_s, "opens": opens, **opened,
            "view_median_s": statistics.median(views.values()), "view_max_s": views[slowest],
            "view_max_cpu_s": max(cpus.values()), "slowest_view": slowest, "views": len(views),
            "stayers_median_s": statistics.median(stayers.values()), "stayers_max_s": max(stayers.values()),
            "slowest_stayers": max(stayers, key=stayers.get), "stayers_views": len(stayers), "peak_rss_mb": _peak_rss_mb(), "load_average": os.getloadavg()}


# --------------------------------------------------------------------------------------- the annual run

def measure_bootstrap(n: int = BOOTSTRAP_N, resamples: int | None = None,
                      repeats: int = BOOTSTRAP_REPEATS) -> dict:
    """Time uncertainty.bootstrap (default 1,000 resamples) on n synthetic respondents with ~3 legs each; median."""
    from helpers.inventory import uncertainty

    resamples = resamples or uncertainty.RESAMPLES
    rng = np.random.default_rng(SEED)
    ids = pd.Series([f"{i:016x}" for i in range(n)], dtype="string")
    daily = rng.gamma(2.0, 1.0, n)
    per = pd.DataFrame({"respondent_id": ids, "daily_kgco2e": daily, "annual_kgco2e": daily * rng.integers(90, 248, n),
                        "intensity_kgco2e_per_pkm": rng.uniform(0, 0.15, n)})
    modes = reference.modes()
    main = pd.DataFrame({"respondent_id": ids, "group": rng.choice(list(reference.GROUPS), n)})
    legs = pd.DataFrame({"respondent_id": ids.repeat(3).reset_index(drop=True),
                         "mode_id": rng.choice(modes["mode_id"].to_numpy(), 3 * n)})
    runs, cpu = [], []
    for _ in range(repeats):
        started, started_cpu = time.perf_counter(), time.process_time()
        uncertainty.bootstrap(per, main, legs, resamples=resamples)
        runs.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return {"n": n, "resamples": resamples, "runs_s": runs, "seconds": statistics.median(runs),
            "cpu_seconds": statistics.median(cpu)}


def floor_notebook(folder: Path) -> Path:
    """An empty notebook: one parameters cell and nothing else (kernel start, papermill, nbconvert only)."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(cells=[new_code_cell("year: int = 2025  # survey year, Gregorian",
                                           metadata={"tags": ["parameters"]})],
                      metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    path = folder / "00_floor.ipynb"
    nbformat.write(nb, path)
    return path


def measure_floor(folder: Path, repeats: int = FLOOR_REPEATS) -> dict:
    """Wall seconds of the empty notebook through runner.execute_notebook + render_html (median after a warm-up)."""
    from helpers.publish import pages, runner

    path = floor_notebook(folder)
    times = []
    for i in range(repeats + 1):
        started = time.perf_counter()
        runner.execute_notebook(path, folder / "executed.ipynb", {"year": YEAR})
        pages.render_html(folder / "executed.ipynb", folder / "floor.html")
        if i:  # the first run warms imports and the HTML exporter
            times.append(time.perf_counter() - started)
    return {"seconds": statistics.median(times), "runs_s": times}


def measure_annual_run(folder: Path, repeats: int = RUN_REPEATS, jobs: int | None = None) -> dict:
    """report.run_year(2025) on the bundled sample, 2024 already processed (not timed); median wall seconds
    of `repeats` runs after a warm-up run (first-run effects: font and file caches)."""
    import inspect

    from helpers.publish import runner
    from helpers.survey import ingest

    raw = config.RAW / config.DEFAULT_DATASET
    processed = folder / "processed"
    ingest.ingest_year(PREV_YEAR, raw, processed)
    jobs = jobs or inspect.signature(runner.run_year).parameters["jobs"].default
    times = []
    for i in range(repeats + 1):
        started = time.perf_counter()
        final = runner.run_year(YEAR, raw_dir=raw, processed_dir=processed, out=folder / "out", jobs=jobs)
        if i:
            times.append(time.perf_counter() - started)
    notebooks = runner.discover()
    return {"seconds": statistics.median(times), "runs_s": times, "jobs": jobs, "notebooks": len(notebooks),
            "per_notebook": _notebook_durations(final / "executed")}


def _notebook_durations(executed: Path) -> dict[str, dict[str, float]]:
    """Per executed notebook: papermill's total seconds, its first code cell (imports) and the other cells."""
    import nbformat

    out = {}
    for path in sorted(executed.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        cells = [cell.metadata.get("papermill", {}).get("duration") or 0.0
                 for cell in nb.cells if cell.cell_type == "code"]
        out[path.stem] = {"total_s": float(nb.metadata.get("papermill", {}).get("duration") or 0.0),
                          "imports_s": float(cells[0]) if cells else 0.0, "cells_s": float(sum(cells[1:]))}
    return out


def _tree_rss_mb(root: int) -> float:
    """Resident memory of a process and all its descendants now, MiB (Linux /proc; 0 elsewhere)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(stat[1]), []).append(int(entry.name))
        rss[int(entry.name)] = int(stat[21])  # pages
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo += children.get(pid, [])
    return total * resource.getpagesize() / 2**20


def full_run(work: Path) -> dict:
    """Time `helpers run --year 2024 2025` (all notebooks, HTML) on the raw files of `generate` in <work>/raw.

    Wall seconds of the whole run; peak memory of its largest process (the runner or a notebook kernel,
    ru_maxrss) and the peak of all its processes together (sampled every RSS_SAMPLE_S)."""
    import threading

    from helpers.publish import runner

    peak = {"tree": 0.0}
    done = threading.Event()

    def sample() -> None:
        while not done.wait(RSS_SAMPLE_S):
            peak["tree"] = max(peak["tree"], _tree_rss_mb(os.getpid()))

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    seconds = {}
    started = time.perf_counter()
    try:
        with _bench_key():
            for year in (PREV_YEAR, YEAR):
                lap = time.perf_counter()
                runner.run_year(year, raw_dir=work / "raw", processed_dir=work / "processed", out=work / "reports")
                seconds[year] = time.perf_counter() - lap
    finally:
        done.set()
        watcher.join()
    largest = max(_peak_rss_mb(), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    return {"seconds": time.perf_counter() - started, "year_s": seconds, "peak_process_mb": largest,
            "peak_all_mb": max(peak["tree"], largest), "notebooks": len(runner.discover())}


def measure_full_run(n: int, work: Path) -> dict:
    """Generate a staff of n (untimed) and time the full annual run on it, each in a fresh subprocess."""
    generated, result = _children(("generate", "full_run"), n, work)
    return {"n": n, "generate_s": generated["seconds"], "survey_rows": generated[str(YEAR)]["survey_rows"],
            **result}


# ------------------------------------------------------------------------------------------------ report

def machine() -> dict:
    """CPU model, cores, memory, and the versions that matter for the figures."""
    import importlib.metadata as md

    cpu = next((line.split(":", 1)[1].strip() for line in _read_lines("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor() or platform.machine())
    mem_kb = next((int(line.split()[1]) for line in _read_lines("/proc/meminfo") if line.startswith("MemTotal")), 0)
    versions = {}
    for package in ("pandas", "numpy", "pyarrow", "openpyxl", "python-calamine", "papermill", "nbconvert"):
        try:
            versions[package] = md.version(package)
        except md.PackageNotFoundError:
            versions[package] = "not installed"
    from helpers.survey import ingest

    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem_kb / 2**20, 1),
            "os": f"{platform.system()} {platform.release()}", "python": platform.python_version(),
            **versions, "xlsx_reader": ingest.xlsx_engine()}


def _read_lines(path: str) -> list[str]:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []


def markdown(results: dict) -> str:
    """The benchmark as a Markdown section: machine, scale table, annual run against the floor."""
    m = results["machine"]
    lines = [f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB RAM, {m['os']}; Python {m['python']}, "
             f"pandas {m['pandas']}, numpy {m['numpy']}, pyarrow {m['pyarrow']}, xlsx reader {m['xlsx_reader']} "
             f"(python-calamine {m['python-calamine']}, openpyxl {m['openpyxl']}). Run {results['date']}"
             + (f", load average {results['load_average']:.1f} at the start (2 cores busy elsewhere slow every figure)."
                if results.get("load_average") is not None else ".")]
    scale = ["", "Scale: the 2025 stages on a synthetic staff (each size in a fresh process; the previous year's "
             "ingestion, needed by route A, and the file generation are not timed).", "",
             "| respondents | survey rows | legs | ingest s | load s | emissions s | mode shares s | attitudes s "
             "| total s | s per 10^5 | peak MiB |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    lines += scale if results["sizes"] else []
    for r in results["sizes"]:
        s = r["seconds"]
        lines.append(f"| {r['n']:,} | {r['raw_rows']:,} | {r['legs']:,} | {s['ingest']:.2f} | {s['load']:.2f} "
                     f"| {s['emissions']:.2f} | {s['mode_shares']:.2f} | {s['attitudes']:.2f} | {r['total_s']:.2f} "
                     f"| {r['s_per_1e5']:.2f} | {r['peak_rss_mb']:,.0f} |")
    big = next((r for r in results["sizes"] if r["n"] == 10**6), None)
    if big is not None:
        lines += ["", f"10^6 respondents: {big['total_s']:.1f} s (target <= {TARGET_1M_SECONDS:.0f} s: "
                      f"{'met' if big['total_s'] <= TARGET_1M_SECONDS else 'NOT met'}), peak {big['peak_rss_mb']:,.0f} "
                      f"MiB (target <= {TARGET_1M_PEAK_MB:,.0f}: "
                      f"{'met' if big['peak_rss_mb'] <= TARGET_1M_PEAK_MB else 'NOT met'})."]
    gen = [f"{r['n']:,}: {r['prepare']['generate_s']:.1f} s generating, "
           f"{r['prepare']['previous_year_ingest_s']:.1f} s ingesting {PREV_YEAR}" for r in results["sizes"]]
    lines += ["", "Not timed (per size): " + "; ".join(gen) + "."] if gen else []
    full = results.get("full_runs") or []
    if full:
        lines += ["", "Full annual run: `helpers run --year 2024 2025` (all notebooks of both years, HTML rendered) on a "
                      "generated staff, in a fresh process (generation not timed); peak memory of its largest process "
                      "(runner or notebook kernel) and of all its processes together (sampled).", "",
                  "| staff | notebooks x years | wall s | 2024 s | 2025 s | peak MiB (largest process) "
                  "| peak MiB (all processes) | goal |", "|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in full:
            goal = (f"<= {TARGET_FULL_RUN_SECONDS:.0f} s ({'met' if r['seconds'] <= TARGET_FULL_RUN_SECONDS else 'NOT met'})"
                    if r["n"] == 10**5 else "")
            lines.append(f"| {r['n']:,} | {r['notebooks']} x 2 | {r['seconds']:.1f} | {r['year_s'][str(PREV_YEAR)]:.1f} "
                         f"| {r['year_s'][str(YEAR)]:.1f} | {r['peak_process_mb']:,.0f} | {r['peak_all_mb']:,.0f} "
                         f"| {goal} |")
    wb = results.get("workbench")
    if wb:
        cached = wb["opens"]["cached"]["seconds"]
        loads = [o["load_average"][0] for o in wb["opens"].values()] + [wb["load_average"][0]]
        lines += ["", f"Researcher's workbench (`helpers.open`): {len(wb['years'])} generated years of {wb['n']:,} "
                      "respondents each (processed tables written by ingest.save_year; generation not timed). Each "
                      "open in a fresh process. View = the explore notebook's redraw on a widget change: "
                      "`wb.view(a, b, measure, by, department)`, its table as HTML and its chart as PNG; "
                      f"{wb['views']} views (every measure x breakdown, all "
                      "staff and one department), after a cached open; stayers' view = `wb.transition_view(a, b, from_, to, "
                      "department)` with its two tables as HTML (car → public, private → public, motorcycle → MRT; "
                      "all staff and one department). Load average (1 min) while measuring: "
                      f"{', '.join(f'{x:.1f}' for x in loads)}.", "",
                  "| step | wall s | CPU s | peak MiB | target |", "|---|---:|---:|---:|---:|"]
        for kind, label in OPENS.items():
            o = wb["opens"][kind]
            goal = (f"< {TARGET_OPEN_S:.0f} s ({'met' if o['seconds'] < TARGET_OPEN_S else 'NOT met'})"
                    if kind != "uncached" else "")
            lines.append(f"| open ({len(wb['years'])} years), {label} | {o['seconds']:.2f} | {o['cpu_seconds']:.2f} "
                         f"| {o['peak_rss_mb']:,.0f} | {goal} |")
        lines += [f"| first view (imports matplotlib, fonts) | {wb['first_view_s']:.2f} | {wb['first_view_cpu_s']:.2f} "
                  "| | |",
                  f"| view, median | {wb['view_median_s']:.2f} | | | < {TARGET_VIEW_S:.0f} s "
                  f"({'met' if wb['view_median_s'] < TARGET_VIEW_S else 'NOT met'}) |",
                  f"| view, slowest ({wb['slowest_view']}) | {wb['view_max_s']:.2f} | {wb['view_max_cpu_s']:.2f} | "
                  f"| < {TARGET_VIEW_S:.0f} s ({'met' if wb['view_max_s'] < TARGET_VIEW_S else 'NOT met'}) |",
                  f"| stayers' view, median of {wb['stayers_views']} | {wb['stayers_median_s']:.2f} | | | "
                  f"< {TARGET_VIEW_S:.0f} s ({'met' if wb['stayers_median_s'] < TARGET_VIEW_S else 'NOT met'}) |",
                  f"| stayers' view, slowest ({wb['slowest_stayers']}) | {wb['stayers_max_s']:.2f} | | | "
                  f"< {TARGET_VIEW_S:.0f} s ({'met' if wb['stayers_max_s'] < TARGET_VIEW_S else 'NOT met'}) |", "",
                  f"Peak memory of the views' process {wb['peak_rss_mb']:,.0f} MiB (it also generated the tables). "
                  f"Opening reads the kept tables ({cached:.2f} s) unless a processed file, a reference file or the "
                  "code changed since they were computed."]
    boot = results.get("bootstrap")
    if boot:
        met = "met" if boot["seconds"] <= TARGET_BOOTSTRAP_SECONDS else "NOT met"
        lines += ["", f"Bootstrap (helpers.inventory.uncertainty): {boot['resamples']:,} resamples of {boot['n']:,} "
                      f"respondents (annual total, daily total, mean intensity, 3 main-mode and 3 leg-share groups): "
                      f"{boot['seconds']:.2f} s wall ({boot['cpu_seconds']:.2f} s CPU), median of "
                      f"{len(boot['runs_s'])} (target <= {TARGET_BOOTSTRAP_SECONDS:.0f} s: {met})."]
    run = results.get("annual_run")
    if run:
        lines += ["", "Annual run: `runner.run_year(2025)` on the bundled sample (2024 already processed), "
                      f"jobs={run['jobs']}, median of {len(run['runs_s'])} after a warm-up run; floor = an empty "
                      "notebook (one parameters cell) through execute_notebook + render_html, median of "
                      f"{len(results['floor']['runs_s'])} after a warm-up.", "",
                  "| notebooks | floor s | notebooks x floor s | annual run s | ratio | target |",
                  "|---:|---:|---:|---:|---:|---:|",
                  f"| {run['notebooks']} | {results['floor']['seconds']:.2f} | {run['budget_s']:.2f} "
                  f"| {run['seconds']:.2f} | {run['ratio']:.2f} | <= {TARGET_RUN_RATIO} "
                  f"({'met' if run['ratio'] <= TARGET_RUN_RATIO else 'NOT met'}) |", "",
                  "| notebook | papermill s | imports s | other cells s |", "|---|---:|---:|---:|"]
        for name, d in run["per_notebook"].items():
            lines.append(f"| {name} | {d['total_s']:.2f} | {d['imports_s']:.2f} | {d['cells_s']:.2f} |")
    return "\n".join(lines) + "\n"


def main(args) -> int:
    """`python -m helpers bench`: measure every size and the annual run; print and write <out>/bench.md, .json."""
    sizes = [int(float(s)) for s in str(args.sizes).replace(",", " ").split()]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results: dict = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": machine(), "sizes": [],
                     "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="workbench-bench-") as tmp:
        for n in sizes:
            print(f"bench: {n:,} respondents ...", file=sys.stderr, flush=True)
            r = measure_size(n, Path(tmp) / f"n{n}")
            results["sizes"].append(r)
            print(f"bench: {n:,} respondents: {r['total_s']:.2f} s, peak {r['peak_rss_mb']:,.0f} MiB",
                  file=sys.stderr, flush=True)
        full_sizes = [int(float(v)) for v in str(getattr(args, "full_run_sizes", "") or "").replace(",", " ").split()]
        results["full_runs"] = []
        for n in full_sizes:
            print(f"bench: full annual run on {n:,} staff ...", file=sys.stderr, flush=True)
            r = measure_full_run(n, Path(tmp) / f"full{n}")
            results["full_runs"].append(r)
            print(f"bench: full annual run on {n:,} staff: {r['seconds']:.1f} s, peak {r['peak_process_mb']:,.0f} MiB "
                  f"(largest process), {r['peak_all_mb']:,.0f} MiB (all)", file=sys.stderr, flush=True)
        workbench_n = int(float(getattr(args, "workbench", 0) or 0))
        if workbench_n:
            print(f"bench: workbench, {len(WORKBENCH_YEARS)} years of {workbench_n:,} respondents ...",
                  file=sys.stderr, flush=True)
            results["workbench"] = _child("workbench", workbench_n, Path(tmp) / "workbench")
        if getattr(args, "full_run", True):
            print(f"bench: bootstrap at {BOOTSTRAP_N:,} respondents ...", file=sys.stderr, flush=True)
            results["bootstrap"] = measure_bootstrap()
            print("bench: floor and annual run ...", file=sys.stderr, flush=True)
            results["floor"] = measure_floor(Path(tmp))
            with _bench_key():
                run = measure_annual_run(Path(tmp) / "run")
            run["budget_s"] = run["notebooks"] * results["floor"]["seconds"]
            run["ratio"] = run["seconds"] / run["budget_s"]
            results["annual_run"] = run
    results["bench_s"] = time.perf_counter() - started
    text = markdown(results)
    (out / "bench.md").write_text("# Benchmark\n\n" + text, encoding="utf-8")
    (out / "bench.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(text)
    print(f"written: {out / 'bench.md'} and bench.json ({results['bench_s']:.0f} s in all)")
    return 0


def _generate_step(n: int, work: Path) -> dict:
    started = time.perf_counter()
    info = generate(n, work / "raw")
    return {**info, "seconds": time.perf_counter() - started}


STEPS = {"prepare": prepare, "measure": lambda n, work: measure(work), "generate": _generate_step,
         "full_run": lambda n, work: full_run(work), "workbench": measure_workbench,
         "workbench_open": measure_workbench_open,
         "workbench_open_uncached": lambda n, work: measure_workbench_open(n, work, cache=False)}

if __name__ == "__main__":  # the subprocesses: python -m helpers.synthetic.bench <a step of STEPS> N WORK
    _step, _n, _work = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    print(json.dumps(STEPS[_step](_n, _work), default=str))
