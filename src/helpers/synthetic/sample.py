"""Deterministic synthetic sample: survey exports, attendance files and rosters for 2024-2026 in the real formats.

2024 and 2025 are census years tuned to the published figures; 2026 is an off-year rolled forward from the
2025 census (invented staff changes: leavers, joiners of whom some answer the newcomers' survey).

The population is built from the templates below (who commutes how), then a few named "tuning" people
have their distances and attendance days adjusted so that the pipeline reproduces the published figures
of the 2025 study (docs/METHOD.md §11). Names, employee numbers and e-mails are synthetic.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from helpers import config, reference
from helpers.inventory import emissions, factors, modeshare
from helpers.schemas import atomic_write_bytes

SEED = 20250314

# Published figures the sample must reproduce (docs/METHOD.md §11), used as tuning targets only.
TARGETS = {
    2024: {"daily": 272.87, "annual": 56287.09, "intensity": 0.0840, "intensity_tol": 0.0004},
    2025: {"daily": 246.43, "annual": 44950.43, "intensity": 0.0833, "intensity_tol": 0.00004},
}
BIN_COUNTS_2025 = {"<5": 50, "5-10": 37, "10-15": 17, "15-20": 5, "20-30": 15, ">=30": 7}
BIN_RANGES = {"<5": (1.0, 4.9), "5-10": (5.1, 9.9), "10-15": (10.1, 14.9), "15-20": (15.1, 19.9),
              "20-30": (20.1, 29.9), ">=30": (30.1, 48.0)}

# Templates: (count, [(days_per_week, [leg, ...]), ...]). "*mode" is the main (longest) leg; other legs
# are access legs ("walk" 0.5-1.2 km, "walk_s" a short walk of 0.2-0.45 km, asked only from 2025 on).
# "~mode" marks the leg whose length the tuner may shift against the main leg (total kept).
# Groups: A = answered 2024 and 2025 (route A in 2025: legs carried over), B24/B25 = same people, commute
# changed in 2025 (route B), D = declines in 2025 (route D), X = 2024 only (left), C = joined in 2025.
T = list[tuple[int, list[tuple[float, list[str]]]]]
ONE = 5.0
TEMPLATES: dict[str, T] = {
    "A": [
        (44, [(ONE, ["*car_petrol"])]),
        (18, [(ONE, ["*motorcycle_petrol"])]),
        (2, [(3.0, ["*motorcycle_petrol"]), (2.0, ["*car_petrol"])]),
        (8, [(ONE, ["*mrt_new_taipei"])]),
        (10, [(ONE, ["walk", "*mrt_new_taipei"])]),
        (6, [(ONE, ["*mrt_new_taipei", "walk"])]),
        (5, [(ONE, ["bus_city_diesel", "*mrt_new_taipei"])]),
        (1, [(ONE, ["car_feeder", "*tra"])]),
        (2, [(ONE, ["car_feeder", "*mrt_new_taipei"])]),
        (2, [(ONE, ["*coach_diesel", "walk"])]),
        (2, [(ONE, ["bike_public", "*mrt_new_taipei"])]),
        (3, [(ONE, ["*walk"])]),
        (2, [(ONE, ["*bike_private"])]),
    ],
    "B24": [
        (3, [(ONE, ["*car_petrol"])]),
        (3, [(ONE, ["*motorcycle_petrol"])]),
        (2, [(ONE, ["walk", "bus_city_diesel", "*mrt_new_taipei"])]),
    ],
    "B25": [
        (3, [(ONE, ["*car_petrol"])]),
        (1, [(ONE, ["*car_petrol", "walk_s"])]),
        (2, [(ONE, ["walk_s", "*mrt_new_taipei", "walk_s"])]),
        (1, [(ONE, ["*motorcycle_petrol"])]),
        (1, [(ONE, ["*walk"])]),
    ],
    "D": [
        (2, [(ONE, ["*car_petrol"])]),
        (1, [(ONE, ["*motorcycle_petrol"])]),
        (1, [(ONE, ["walk", "bus_city_diesel", "*mrt_new_taipei"])]),
    ],
    "X": [
        (3, [(ONE, ["*car_petrol"])]),
        (2, [(ONE, ["*car_petrol", "walk"])]),
        (5, [(ONE, ["*motorcycle_petrol"])]),
        (1, [(ONE, ["~car_feeder", "*mrt_new_taipei", "bus_city_diesel"])]),
        (2, [(ONE, ["walk", "~bus_city_diesel", "*mrt_new_taipei", "walk"])]),
        (2, [(ONE, ["*mrt_new_taipei", "~bus_city_diesel", "walk"])]),
        (1, [(ONE, ["walk", "~bus_city_diesel", "*mrt_new_taipei", "bus_city_diesel"])]),
        (1, [(ONE, ["*walk"])]),
        (1, [(ONE, ["*bike_private"])]),
        (1, [(ONE, ["*bike_public", "walk"])]),
        (1, [(ONE, ["walk", "*bike_public"])]),
    ],
    "C": [
        (3, [(ONE, ["*car_petrol"])]),
        (1, [(ONE, ["*car_petrol", "walk_s"])]),
        (1, [(3.0, ["*motorcycle_petrol"]), (2.0, ["*car_petrol"])]),
        (4, [(ONE, ["*motorcycle_petrol"])]),
        (2, [(ONE, ["*car_hybrid"])]),
        (1, [(ONE, ["walk_s", "~bus_city_diesel", "*mrt_taipei", "walk_s"])]),
        (2, [(ONE, ["walk_s", "~bus_city_diesel", "*mrt_new_taipei"])]),
        (1, [(ONE, ["walk_s", "~bus_city_diesel", "*tra", "mrt_taipei", "walk_s"])]),
        (1, [(ONE, ["walk_s", "*tra", "~mrt_taipei", "walk_s"])]),
        (1, [(ONE, ["walk_s", "~bus_city_diesel", "mrt_taipei", "*thsr", "mrt_taipei", "walk_s"])]),
        (1, [(ONE, ["*bike_private"])]),
    ],
}
ACCESS_KM = {"walk": (0.5, 0.9), "walk_s": (0.2, 0.45), "bike_public": (0.8, 2.5), "mrt_taipei": (1.5, 4.0),
             "mrt_new_taipei": (1.5, 4.0), "bus_city_diesel": (1.5, 4.0), "car_feeder": (2.0, 5.0)}
FEEDER_MODE = {"car_feeder": "car_petrol", "walk_s": "walk"}

SURNAMES = list("陳林黃張李王吳劉蔡楊許鄭謝郭洪曾邱廖賴周徐蘇葉莊呂江何蕭羅高")
GIVEN = list("志明俊宏淑芬怡君家豪雅婷建文美玲冠宇佳穎宗翰欣怡承恩詩涵柏宇")
DEPARTMENTS = ["運輸計畫組", "運輸工程組", "運輸安全組", "運輸資訊組", "港灣技術中心", "秘書室", "人事室", "主計室"]


@dataclass
class Person:
    """One synthetic staff member and their commute per year."""

    group: str
    employee_no: str
    name: str
    email: str
    department: str
    patterns: dict[int, list[dict]] = field(default_factory=dict)  # year -> [{days, legs: [[mode, km]]}]
    attendance: dict[int, int] = field(default_factory=dict)
    bin2025: str | None = None
    tune: tuple[int, int, int] | None = None  # (pattern index, adjustable leg, main leg) for the intensity tuner

    def one_way_km(self, year: int) -> float:
        """Pattern-share-weighted one-way km."""
        pats = self.patterns[year]
        days = sum(q["days"] for q in pats)
        return sum(q["days"] / days * sum(km for _, km in q["legs"]) for q in pats)


def _draw_patterns(rng: np.random.Generator, template: list[tuple[float, list[str]]],
                   lo: float, hi: float) -> tuple[list[dict], tuple[int, int, int] | None]:
    """Legs for a template with each pattern's one-way total in [lo, hi] km, the starred leg the longest."""
    out, tune = [], None
    for p_i, (days, tokens) in enumerate(template):
        legs: list[list] = []
        main_i = 0
        for l_i, token in enumerate(tokens):
            name = token.lstrip("*~")
            if token.startswith("~"):
                tune = (p_i, l_i, -1)
            if token.startswith("*"):
                main_i = l_i
                legs.append([FEEDER_MODE.get(name, name), None])
                continue
            a, b = ACCESS_KM.get(name, (0.5, 1.2))
            digits = 2 if name == "walk_s" else 1
            legs.append([FEEDER_MODE.get(name, name), round(float(rng.uniform(a, b)), digits)])
        access = sum(km for _, km in legs if km is not None)
        longest_access = max([km for _, km in legs if km is not None] + [0.0])
        low = max(lo, access + longest_access + 0.6)
        total = round(float(rng.uniform(low, max(low, hi))), 1)
        legs[main_i][1] = round(total - access, 1)
        if tune is not None and tune[0] == p_i:
            tune = (p_i, tune[1], main_i)
        out.append({"days": days, "legs": legs})
    return out, tune


def _frames(people: list[Person], year: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """respondents / patterns / legs frames of one year, in the processed-table shapes."""
    resp, pats, legs = [], [], []
    for p in people:
        if year not in p.patterns:
            continue
        rid = p.employee_no
        resp.append({"respondent_id": rid, "attendance_days": float(p.attendance.get(year, 200)), "in_inventory": True})
        for i, pat in enumerate(p.patterns[year], start=1):
            pats.append({"respondent_id": rid, "pattern_no": i, "days_per_week": pat["days"]})
            for j, (mode, km) in enumerate(pat["legs"], start=1):
                legs.append({"respondent_id": rid, "pattern_no": i, "leg_no": j, "mode_id": mode, "distance_km": km})
    return pd.DataFrame(resp), pd.DataFrame(pats), pd.DataFrame(legs)


def stats(people: list[Person], year: int, fac: dict[str, float]) -> dict:
    """The headline figures of one year computed from the in-memory population."""
    resp, pats, legs = _frames(people, year)
    per = emissions.per_respondent(resp, pats, legs, fac)
    main = modeshare.main_modes(pats, legs)
    out = emissions.totals(per)
    out["bins"] = emissions.distance_distribution(per).to_dict()
    out["legs"] = modeshare.leg_share_by_group(legs)["count"].to_dict()
    out["main"] = modeshare.main_share_by_group(main)["count"].to_dict()
    out["car_main"] = int((main["mode_id"] == "car_petrol").sum())
    out["car_legs"] = int((legs["mode_id"] == "car_petrol").sum())
    out["per"] = per.set_index("respondent_id")
    out["main_modes"] = main.set_index("respondent_id")["mode_id"]
    return out


def build_population(seed: int = SEED) -> list[Person]:
    """The synthetic staff with their commutes and attendance, before tuning."""
    rng = np.random.default_rng(seed)
    people: list[Person] = []
    counter = 0

    def new(group: str) -> Person:
        nonlocal counter
        counter += 1
        name = str(rng.choice(SURNAMES)) + "".join(rng.choice(GIVEN, size=2))
        return Person(group, f"T{10000 + 37 * counter:05d}", name, f"staff{counter:03d}@example.org",
                      str(rng.choice(DEPARTMENTS)))

    def expand(group: str) -> list:
        return [t for k, t in TEMPLATES[group] for _ in range(k)]

    # 2025 one-way distance bins: walkers and cyclists under 5 km, the others shuffled
    bins = [b for b, k in BIN_COUNTS_2025.items() for _ in range(k)]
    specs25 = [(g, t) for g in ("A", "B25", "C") for t in expand(g)]
    short = [i for i, (_, t) in enumerate(specs25) if any(tok.lstrip("*") in ("walk", "bike_private")
                                                            and tok.startswith("*") for tok in t[0][1])]
    long_first = [i for i, (_, t) in enumerate(specs25) if len(t[0][1]) >= 5 and i not in short]
    # commutes with a ridden access leg cannot fit under 5 km: they are kept out of the first bin
    ridden = {i for i, (_, t) in enumerate(specs25)
              if any(tok.lstrip("*~") not in ("walk", "walk_s") and not tok.startswith("*") for tok in t[0][1])}
    rest = [int(i) for i in rng.permutation(len(specs25)) if i not in short and i not in long_first]
    rest = [i for i in rest if i not in ridden] + [i for i in rest if i in ridden]
    assigned = {i: bins[k] for k, i in enumerate(short)}
    assigned |= {i: bins[-1 - k] for k, i in enumerate(long_first)}
    middle = bins[len(short): len(bins) - len(long_first)]
    assigned |= dict(zip(rest, middle))
    b24 = iter(expand("B24"))
    for i, (group, template) in enumerate(specs25):
        lo, hi = BIN_RANGES[assigned[i]]
        p = new("B" if group == "B25" else group)
        p.patterns[2025], p.tune = _draw_patterns(rng, template, lo, hi)
        if group == "B25":
            p.patterns[2024], _ = _draw_patterns(rng, next(b24), 2.0, 25.0)
        if group == "A":
            p.patterns[2024] = p.patterns[2025]
        p.bin2025 = assigned[i]
        people.append(p)
    for group in ("D", "X"):
        for template in expand(group):
            p = new(group)
            non_motor = template[0][1][0].lstrip("*~") in ("walk", "bike_private", "bike_public")
            lo, hi = (1.0, 4.9) if non_motor else (3.0, 32.0)
            p.patterns[2024], p.tune = _draw_patterns(rng, template, lo, hi)
            people.append(p)
    for p in people:
        for year in p.patterns:
            mean = 206 if year == 2024 else 182
            p.attendance[year] = int(np.clip(round(rng.normal(mean, 22)), 90, 248))
    return people


# ---------------------------------------------------------------- tuning to the published figures
BIN_LIMITS = {"<5": (0.5, 4.9), "5-10": (5.0, 9.9), "10-15": (10.0, 14.9), "15-20": (15.0, 19.9),
              "20-30": (20.0, 29.9), ">=30": (30.0, 65.0)}
FREE_LIMITS = (2.0, 45.0)


def _tune_intensity(people: list[Person], year: int, fac: dict[str, float], target: float) -> None:
    """Shift km between the marked leg and the main leg of the tuning commuters until the mean intensity hits."""
    tuners = [p for p in people if p.tune and year in p.patterns and (year == 2025) == (p.group == "C")]

    def apply(lam: float) -> None:
        for p in tuners:
            pat, adj, main = p.tune
            legs = p.patterns[year][pat]["legs"]
            if not hasattr(p, "_base"):
                p._base = [list(l) for l in legs]
            base = p._base
            total = base[adj][1] + base[main][1]
            others = max([km for i, (_, km) in enumerate(base) if i not in (adj, main)] + [0.0])
            hi_adj = (total - max(others, 0.0) - 0.2) if others else total / 2 - 0.2
            hi_adj = min(hi_adj, total / 2 - 0.2)
            new_adj = base[adj][1] + lam * ((hi_adj - base[adj][1]) if lam > 0 else (base[adj][1] - 0.3))
            new_adj = round(min(max(new_adj, 0.3), hi_adj), 1)
            legs[adj][1] = new_adj
            legs[main][1] = round(total - new_adj, 1)

    def mean(lam: float) -> float:
        apply(lam)
        return float(stats(people, year, fac)["mean_intensity_kgco2e_per_pkm"])

    lo, hi = -1.0, 1.0
    m_lo, m_hi = mean(lo), mean(hi)
    if not (min(m_lo, m_hi) <= target <= max(m_lo, m_hi)):
        best = lo if abs(m_lo - target) < abs(m_hi - target) else hi
        if abs(mean(best) - target) <= TARGETS[year]["intensity_tol"]:
            for p in tuners:
                del p._base
            return
        raise RuntimeError(f"{year}: intensity {target} out of the tuners' reach [{m_lo:.5f}, {m_hi:.5f}]")
    increasing = m_hi > m_lo
    for _ in range(40):
        mid = (lo + hi) / 2
        if (mean(mid) < target) == increasing:
            lo = mid
        else:
            hi = mid
    mean((lo + hi) / 2)
    for p in tuners:
        del p._base


def _single_legs(people: list[Person], year: int, groups: set[str]) -> list[tuple[Person, list]]:
    """Single-pattern, single-leg motor commuters of the given groups: their km moves no intensity."""
    out = []
    for p in people:
        if p.group in groups and year in p.patterns and len(p.patterns[year]) == 1:
            legs = p.patterns[year][0]["legs"]
            if len(legs) == 1 and legs[0][0] in ("car_petrol", "motorcycle_petrol"):
                out.append((p, legs[0]))
    return out


def _tune_daily(people: list[Person], year: int, fac: dict[str, float], target: float, groups: set[str],
                rng: np.random.Generator) -> None:
    """Move single-leg commuters' km (inside their 2025 distance bin) until the daily total rounds to target."""
    cands = _single_legs(people, year, groups)
    limits = [BIN_LIMITS[p.bin2025] if p.bin2025 else FREE_LIMITS for p, _ in cands]
    resid = target - stats(people, year, fac)["daily_total_kgco2e"]
    for k in rng.permutation(len(cands)):
        if abs(resid) < 0.3:
            break
        (_, leg), (lo, hi) = cands[k], limits[k]
        step = 2 * fac[leg[0]]
        new = round(min(max(leg[1] + resid / step, lo), hi), 1)
        resid -= (new - leg[1]) * step
        leg[1] = new
    # fine: a pair with different factors moved by whole 0.1 km steps lands inside +-0.002 of the target
    resid = target - stats(people, year, fac)["daily_total_kgco2e"]
    cars = [i for i, (_, l) in enumerate(cands) if l[0] == "car_petrol"]
    motos = [i for i, (_, l) in enumerate(cands) if l[0] == "motorcycle_petrol"]
    for i in cars:
        for j in motos:
            for a in range(-20, 21):
                for b in range(-20, 21):
                    delta = 0.2 * (a * fac["car_petrol"] + b * fac["motorcycle_petrol"])
                    if abs(resid - delta) < 0.002:
                        ki, kj = cands[i][1][1] + a / 10, cands[j][1][1] + b / 10
                        if limits[i][0] <= ki <= limits[i][1] and limits[j][0] <= kj <= limits[j][1]:
                            cands[i][1][1], cands[j][1][1] = round(ki, 1), round(kj, 1)
                            return
    raise RuntimeError(f"{year}: daily total {target} not reachable (residual {resid:.4f})")


def _tune_annual(people: list[Person], year: int, fac: dict[str, float], target: float) -> None:
    """Adjust whole attendance days until the annual total is within 0.002 kg of the target."""
    s = stats(people, year, fac)
    daily = s["per"]["daily_kgco2e"]
    members = [p for p in people if year in p.patterns]
    by_id = {p.employee_no: p for p in members}
    resid = target - s["annual_total_kgco2e"]
    shift = int(resid // daily.sum())
    for p in members:
        p.attendance[year] += shift
    resid -= shift * daily.sum()
    for rid, d in daily.sort_values(ascending=False).items():
        while resid >= d and by_id[rid].attendance[year] < 245:
            by_id[rid].attendance[year] += 1
            resid -= d
    ids = list(daily.index)
    vals = daily.to_numpy()
    for i in range(len(ids)):
        for j in range(i + 1, len(ids)):
            for k in range(j + 1, min(j + 40, len(ids))):
                for a in range(-4, 5):
                    for b in range(-4, 5):
                        rem = resid - a * vals[i] - b * vals[j]
                        c = round(rem / vals[k])
                        if abs(c) <= 4 and abs(rem - c * vals[k]) < 0.002:
                            for rid, n in ((ids[i], a), (ids[j], b), (ids[k], c)):
                                by_id[rid].attendance[year] += int(n)
                            return
    raise RuntimeError(f"{year}: annual total {target} not reachable")


def tuned_population(seed: int = SEED) -> list[Person]:
    """The population with distances and attendance tuned so the published figures come out."""
    fac = factors.factors_by_mode(2025)
    rng = np.random.default_rng(seed + 1)
    people = build_population(seed)
    _tune_intensity(people, 2025, fac, TARGETS[2025]["intensity"])
    _tune_daily(people, 2025, fac, TARGETS[2025]["daily"], {"A", "B", "C"}, rng)
    _tune_intensity(people, 2024, fac, TARGETS[2024]["intensity"])
    _tune_daily(people, 2024, fac, TARGETS[2024]["daily"], {"X", "D"}, rng)
    for year in (2024, 2025):
        _tune_annual(people, year, fac, TARGETS[year]["annual"])
    return people


# ---------------------------------------------------------------- attitudes (2025 form)
ALTERNATIVES_CAR_USERS = {"bus_city_diesel": 16, "bus_city_electric": 9, "mrt_taipei": 8, "motorcycle_electric": 6,
                          "tra": 5, "car_electric": 4, "bike_public": 2, "none": 2}
BARRIERS_CAR_USERS = {"flexible": 12, "wait_long": 11, "timetable": 10, "transfers": 7, "no_service": 6,
                      "station_far": 3}
CHILD_TEXTS = ["要載小孩", "接送學童上下學", "還要接小孩"]  # coded to child_transport via synonyms.yaml
INCENTIVES_ALL = {"reward_scheme": 73, "tpass_subsidy": 60, "bike_station": 42, "escooter_parking": 24,
                  "ev_parking_fee": 20, "bike_parking": 18, "showers": 14}
INCENTIVE_IDEAS = ["搭乘大眾運輸多花的通勤時間可計入工時", "推動每月綠色通勤日", "TPASS月票擴大適用範圍（例如新竹）",
                   "開闢山海線環狀鐵路路線", "增設中興新村－梧棲直達路線"]
MOTORCYCLE_ANSWERS = 8  # motorcycle users who also answer the private-vehicle questions (not in car figures)


def _attitudes(people: list[Person], main_modes: pd.Series, rng: np.random.Generator) -> dict[str, dict]:
    """Per employee number: chosen codes and free texts of the 2025 attitude questions."""
    valid = [p.employee_no for p in people if p.group in ("A", "B", "C")]
    cars = [e for e in valid if main_modes.get(e) == "car_petrol"]
    motos = [e for e in valid if main_modes.get(e) == "motorcycle_petrol"]
    out: dict[str, dict] = {e: {"alternative": None, "barrier": [], "barrier_text": [], "incentive": [],
                               "incentive_text": []} for e in valid}
    alts = [code for code, k in ALTERNATIVES_CAR_USERS.items() for _ in range(k)]
    for e, code in zip(rng.permutation(cars), alts):
        out[e]["alternative"] = code
    for code, k in BARRIERS_CAR_USERS.items():
        for e in rng.choice(cars, size=k, replace=False):
            out[e]["barrier"].append(code)
    for e, text in zip(rng.choice(cars, size=len(CHILD_TEXTS), replace=False), CHILD_TEXTS):
        out[e]["barrier_text"].append(text)
    for e in rng.choice(motos, size=MOTORCYCLE_ANSWERS, replace=False):
        out[e]["alternative"] = str(rng.choice(["bus_city_diesel", "mrt_new_taipei", "motorcycle_electric"]))
        out[e]["barrier"].append(str(rng.choice(list(BARRIERS_CAR_USERS))))
    for code, k in INCENTIVES_ALL.items():
        for e in rng.choice(valid, size=k, replace=False):
            out[e]["incentive"].append(code)
    for e, text in zip(rng.choice(valid, size=len(INCENTIVE_IDEAS), replace=False), INCENTIVE_IDEAS):
        out[e]["incentive_text"].append(text)
    return out


# ---------------------------------------------------------------- writers in the real export formats
def _google_timestamp(ts: pd.Timestamp) -> str:
    """Google Forms zh-TW timestamp, e.g. '2025/3/5 下午 2:31:07'."""
    half = "上午" if ts.hour < 12 else "下午"
    hour = ts.hour % 12 or 12
    return f"{ts.year}/{ts.month}/{ts.day} {half} {hour}:{ts.minute:02d}:{ts.second:02d}"


def _labels(mapping: dict, field_name: str) -> dict[str, str]:
    return {code: label for label, code in mapping["answers"][field_name].items()}


def survey_headers(mapping: dict) -> list[str]:
    """Column headers of a form version, in export order."""
    cols = mapping["columns"]
    pat = mapping["patterns"]
    heads = [cols[k] for k in ("timestamp", "email", "employee_no", "department", "route") if k in cols]
    for p in range(1, pat["count"] + 1):
        label = pat["labels"][p]
        heads.append(pat["days"].format(p=label))
        for leg in range(1, pat["legs"] + 1):
            heads += [pat["leg_mode"].format(p=label, l=leg), pat["leg_km"].format(p=label, l=leg)]
    heads += [cols[k] for k in ("alternative", "barrier", "incentive") if k in cols]
    return heads


def _commute_cells(mapping: dict, patterns: list[dict]) -> dict[str, object]:
    pat = mapping["patterns"]
    labels = _labels(mapping, "mode")
    cells: dict[str, object] = {}
    for i, q in enumerate(patterns, start=1):
        plabel = pat["labels"][i]
        cells[pat["days"].format(p=plabel)] = f"{q['days']:g}"
        for j, (mode, km) in enumerate(q["legs"], start=1):
            cells[pat["leg_mode"].format(p=plabel, l=j)] = labels[mode]
            cells[pat["leg_km"].format(p=plabel, l=j)] = f"{km:g}"
    return cells


def survey_frame(people: list[Person], year: int, rng: np.random.Generator) -> pd.DataFrame:
    """The survey export of one year as the online form writes it (one row per submission)."""
    mapping = reference.load_yaml(config.REFERENCE / "survey" / f"{year}.yaml")
    cols = mapping["columns"]
    sep = mapping.get("multi_select_separator", ", ")
    start = pd.Timestamp(f"{year}-03-03 08:30")
    route_label = _labels(mapping, "route") if "route" in cols else {}
    if year == 2025:
        fac = factors.factors_by_mode(year)
        att = _attitudes(people, stats(people, year, fac)["main_modes"], rng)
    rows = []
    for p in people:
        route = {"A": "A", "B": "B", "C": "C", "D": "D"}.get(p.group)
        if year == 2024 and 2024 not in p.patterns:
            continue
        if year == 2025 and route is None:
            continue
        row: dict[str, object] = {cols["employee_no"]: p.employee_no, cols["email"]: p.email,
                                  cols["department"]: p.department}
        if year == 2024 or route in ("B", "C"):
            row.update(_commute_cells(mapping, p.patterns[year]))
        if year == 2025:
            row[cols["route"]] = route_label[route]
            if route != "D":
                a = att[p.employee_no]
                if a["alternative"]:
                    row[cols["alternative"]] = _labels(mapping, "alternative")[a["alternative"]]
                blabels = _labels(mapping, "barrier")
                row[cols["barrier"]] = sep.join([blabels[c] for c in sorted(a["barrier"])] + a["barrier_text"]) or None
                ilabels = _labels(mapping, "incentive")
                row[cols["incentive"]] = sep.join([ilabels[c] for c in sorted(a["incentive"])] + a["incentive_text"]) or None
        row["_ts"] = start + pd.Timedelta(seconds=int(rng.integers(0, 18 * 24 * 3600)))
        rows.append(row)
    # resubmissions: the earlier answer is superseded by the later one (the later one counts)
    dup_pool = [r for r in rows if (year == 2024 or r.get(cols.get("route", ""), "").startswith(("B", "C")))]
    for r in rng.choice(len(dup_pool), size=2 if year == 2025 else 1, replace=False):
        first = dict(dup_pool[r])
        first["_ts"] = first["_ts"] - pd.Timedelta(hours=int(rng.integers(2, 48)))
        km_col = mapping["patterns"]["leg_km"].format(p=mapping["patterns"]["labels"][1], l=1)
        first[km_col] = f"{float(first[km_col]) + 3:g}"  # the mistake the respondent corrected later
        rows.append(first)
    frame = pd.DataFrame(rows).sort_values("_ts", kind="stable")
    frame[cols["timestamp"]] = frame.pop("_ts").map(_google_timestamp)
    return frame.reindex(columns=survey_headers(mapping))


def attendance_frame(people: list[Person], year: int) -> pd.DataFrame:
    """The personnel office's attendance list of one year (everyone in scope, decliners included)."""
    mapping = reference.load_yaml(config.REFERENCE / "survey" / f"{year}.yaml")["attendance"]["columns"]
    rows = [{mapping["employee_no"]: p.employee_no, "姓名": p.name, "單位": p.department,
             mapping["attendance_days"]: p.attendance.get(year, p.attendance.get(2024))}
            for p in people if year in p.patterns or (year == 2025 and p.group == "D")]
    return pd.DataFrame(rows).sort_values(mapping["employee_no"])


# On the roster but outside the inventory boundary (docs/METHOD.md §1): the head commutes in an agency-owned electric
# car (scope 2), outsourced cleaning and security staff are not in-house staff.
OUT_OF_SCOPE = [("T20001", "所長室", 236), ("T20002", "秘書室", 241), ("T20003", "秘書室", 238)]


def roster_frame(staff: list[Person], year: int, joiners: set[str]) -> pd.DataFrame:
    """The personnel office's roster of a year: everyone on staff (in scope or not), with attendance days.

    In scope in 2025: the 131 respondents and the 4 who declined (135, response rate 97.04 %). Joiners of the
    year (employee numbers in `joiners`) have a join date in that year.
    """
    mapping = reference.load_yaml(config.REFERENCE / "survey" / f"{year}.yaml")["roster"]
    cols, yes, no = mapping["columns"], *[next(k for k, v in mapping["in_scope_values"].items() if v is b)
                                          for b in (True, False)]
    rng = np.random.default_rng(SEED + 3)
    rows = []
    for p in staff:
        joined = (pd.Timestamp(f"{year}-01-02") + pd.Timedelta(days=int(rng.integers(0, 55))) if p.employee_no in joiners
                  else pd.Timestamp("2004-08-01") + pd.Timedelta(days=int(rng.integers(0, 7000))))
        rows.append({cols["employee_no"]: p.employee_no, "姓名": p.name, cols["department"]: p.department,
                     cols["in_scope"]: yes, cols["join_date"]: joined.strftime("%Y-%m-%d"), cols["leave_date"]: None,
                     cols["attendance_days"]: p.attendance[year]})
    for emp, dept, days in OUT_OF_SCOPE:
        rows.append({cols["employee_no"]: emp, "姓名": "（範疇外）", cols["department"]: dept, cols["in_scope"]: no,
                     cols["join_date"]: "2015-07-01", cols["leave_date"]: None, cols["attendance_days"]: days})
    return pd.DataFrame(rows).sort_values(cols["employee_no"])


def xlsx_bytes(frame: pd.DataFrame, sheet: str) -> bytes:
    """An xlsx file with fixed metadata and zip timestamps, so the same frame gives the same bytes."""
    import zipfile

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(list(frame.columns))
    for row in frame.itertuples(index=False):
        ws.append(list(row))
    fixed = pd.Timestamp("2025-01-01").to_pydatetime()
    wb.properties.created = wb.properties.modified = fixed
    wb.properties.creator = "commute-carbon-workbench sample"
    raw = io.BytesIO()
    wb.save(raw)
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = _fix_core_xml(data)
            dst.writestr(zipfile.ZipInfo(info.filename, date_time=(2025, 1, 1, 0, 0, 0)), data,
                         compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _fix_core_xml(data: bytes) -> bytes:
    import re

    return re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*", rb"\g<1>2025-01-01T00:00:00Z", data)


def write_sample(out_dir: Path = config.RAW / config.DEFAULT_DATASET) -> None:
    """Write data/raw/sample/<year>/: survey.csv, attendance.xlsx or roster.xlsx, 2025 business-travel claims,
    for 2024-2026."""
    out_dir = Path(out_dir)
    people = tuned_population()
    rng = np.random.default_rng(SEED + 2)
    for year in (2024, 2025):
        mapping = reference.load_yaml(config.REFERENCE / "survey" / f"{year}.yaml")
        year_dir = out_dir / str(year)
        survey = survey_frame(people, year, rng)
        atomic_write_bytes(year_dir / mapping["survey_file"],
                           survey.to_csv(index=False, lineterminator="\n").encode(mapping["encoding"]))
        att = mapping["attendance"]
        if "roster" in mapping:  # 2025: the respondents and the decliners are the staff in scope
            staff = [p for p in people if p.group in ("A", "B", "C", "D")]
            for p in staff:
                if year not in p.attendance:  # decliners: their 2024 days, as before
                    p.attendance[year] = p.attendance[2024]
            joiners = {p.employee_no for p in staff if p.group == "C"}
            atomic_write_bytes(year_dir / mapping["roster"]["file"],
                               xlsx_bytes(roster_frame(staff, year, joiners), mapping["roster"]["sheet"]))
        if att["file"] != mapping.get("roster", {}).get("file"):
            atomic_write_bytes(year_dir / att["file"], xlsx_bytes(attendance_frame(people, year), att["sheet"]))
    write_off_year(people, out_dir / str(OFF_YEAR))
    from helpers.synthetic import travel_sample

    travel_sample.write_sample_claims(out_dir / "2025")


# ---------------------------------------------------------------- 2026: an off-year rolled forward from 2025
OFF_YEAR = 2026  # its form mapping says roll_forward_from: 2025
OFF_YEAR_LEAVERS = 7  # of the 135 staff in scope in 2025
OFF_YEAR_JOINERS = (6, 3)  # newcomers who answer the newcomers' survey (route C), who do not


def off_year_staff(people: list[Person], seed: int = SEED) -> tuple[list[Person], list[Person], list[Person]]:
    """Synthetic staff changes for 2026: (stayers, leavers, joiners); joiners who answer have a 2026 commute.

    Every 2026 staff member gets 2026 attendance days. The figures are invented (no published 2026 survey).
    """
    rng = np.random.default_rng(seed + 4)
    staff25 = [p for p in people if p.group in ("A", "B", "C", "D")]
    gone = set(rng.choice(len(staff25), size=OFF_YEAR_LEAVERS, replace=False).tolist())
    stayers = [p for i, p in enumerate(staff25) if i not in gone]
    leavers = [p for i, p in enumerate(staff25) if i in gone]
    templates = [t for k, t in TEMPLATES["C"] for _ in range(k)]
    joiners = []
    for k in range(sum(OFF_YEAR_JOINERS)):
        answered = k < OFF_YEAR_JOINERS[0]
        name = str(rng.choice(SURNAMES)) + "".join(rng.choice(GIVEN, size=2))
        p = Person("J" if answered else "N", f"T{30001 + 13 * k:05d}", name, f"new{k + 1:02d}@example.org",
                   str(rng.choice(DEPARTMENTS)))
        if answered:
            lo, hi = BIN_RANGES[str(rng.choice(list(BIN_RANGES)[:5]))]
            p.patterns[OFF_YEAR], _ = _draw_patterns(rng, templates[int(rng.integers(0, len(templates)))], lo, hi)
        joiners.append(p)
    for p in stayers + joiners:
        p.attendance[OFF_YEAR] = int(np.clip(round(rng.normal(188, 20)), 90, 248))
    return stayers, leavers, joiners


def write_off_year(people: list[Person], year_dir: Path) -> None:
    """data/raw/sample/2026/: the newcomers' survey (route C) and the 2026 roster (also the attendance file)."""
    mapping = reference.load_yaml(config.REFERENCE / "survey" / f"{OFF_YEAR}.yaml")
    stayers, _, joiners = off_year_staff(people)
    cols = mapping["columns"]
    route_c = _labels(mapping, "route")["C"]
    start = pd.Timestamp(f"{OFF_YEAR}-03-02 09:00")
    rows = []
    for k, p in enumerate(j for j in joiners if OFF_YEAR in j.patterns):
        row = {cols["timestamp"]: _google_timestamp(start + pd.Timedelta(hours=7 * k + 1, minutes=13 * k)),
               cols["email"]: p.email, cols["employee_no"]: p.employee_no, cols["department"]: p.department,
               cols["route"]: route_c, **_commute_cells(mapping, p.patterns[OFF_YEAR])}
        rows.append(row)
    survey = pd.DataFrame(rows).reindex(columns=survey_headers(mapping))
    atomic_write_bytes(year_dir / mapping["survey_file"],
                       survey.to_csv(index=False, lineterminator="\n").encode(mapping["encoding"]))
    roster = roster_frame(stayers + joiners, OFF_YEAR, {p.employee_no for p in joiners})
    atomic_write_bytes(year_dir / mapping["roster"]["file"], xlsx_bytes(roster, mapping["roster"]["sheet"]))
