"""The synthetic business-travel sample: 2025 expense claims and long trips that reproduce the study's pilot
(47 claims, 42 taxi, 3 with MRT, 5 with bus, 69.63 kgCO2e) in the expense system's export format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from helpers import config
from helpers.schemas import atomic_write_bytes


SAMPLE_SEED = 20251030


# ------------------------------------------------------------------------------------------------- sample

# The synthetic export: (kind, count). Taxi distances are drawn with the seed; the TUNING_* values were chosen
# once so that the pipeline gives the pilot's 69.63 kgCO2e at its centre (|total - 69.63| < 0.0005).
SAMPLE_START, SAMPLE_END = "2025-10-30", "2025-12-31"
SAMPLE_EMPLOYEES = 16
SAMPLE_PLACES = ("交通部", "國家發展委員會", "行政院", "立法院", "臺北市政府", "新北市政府", "臺北車站", "松山機場",
                 "南港展覽館", "臺大醫院國際會議中心", "經濟部", "環境部", "基隆市政府", "內湖科學園區", "公路局")
SAMPLE_PURPOSES = ("出席會議", "業務協調", "現場勘查", "送件", "研討會", "計畫審查", "訪談")
SAMPLE_TAXI_KM = (2.0, 15.0)  # range of drawn one-way taxi distances, km
TUNING_TAXI_FARE = 185        # NTD, the last single day taxi claim
TUNING_ELECTRIC_FARE = 230    # NTD, the electric taxi claim (note says 電動)
TUNING_OFF_GRID_FARE = 186    # NTD, a fare not on the tariff grid (flagged)
TUNING_BUS_SPEND_FARE = 20    # NTD, a bus fare that is not n x 15 (spend-based fallback)
HEADERS = ("單據編號", "申請人員工編號", "申請人", "日期", "時間", "事由", "起點", "迄點", "起站", "迄站",
           "單程/來回", "交通工具", "金額", "備註")
LONG_HEADERS = ("出差單號", "申請人員工編號", "申請人", "方向", "段次", "日期", "交通工具", "起站", "迄站")


def _grid_fare(km: np.ndarray) -> np.ndarray:
    """Day fare (NTD) the Greater-Taipei meter shows for a distance (km), for the sample only."""
    return 85 + 5 * np.ceil(np.maximum(km - 1.25, 0) / 0.2 - 1e-9)


def sample_frames(seed: int = SAMPLE_SEED) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The synthetic 2025 export (47 valid claims + 3 bad rows) and long-trip legs, as text tables."""
    rng = np.random.default_rng(seed)
    taxi_single = _grid_fare(rng.uniform(*SAMPLE_TAXI_KM, size=30))
    taxi_return = 2 * _grid_fare(rng.uniform(*SAMPLE_TAXI_KM, size=6))
    night_fare = _grid_fare(rng.uniform(*SAMPLE_TAXI_KM, size=1))[0] + 20
    # (modes, trip type, amount, time, origin station, destination station, note)
    spec = [("計程車", "單程", f, None, None, None, None) for f in taxi_single]
    spec += [("計程車", "單程", TUNING_TAXI_FARE, None, None, None, None)]
    spec += [("計程車", "來回", f, None, None, None, None) for f in taxi_return]
    spec += [("計程車", "單程", night_fare, "23:20", None, None, None),
             ("計程車", "單程", TUNING_ELECTRIC_FARE, None, None, None, "搭乘電動計程車"),
             ("計程車", "單程", TUNING_OFF_GRID_FARE, None, None, None, None),
             ("計程車、捷運", "單程", 205, None, None, None, None),
             ("計程車、公車", "單程", 180, None, None, None, None),
             ("捷運、公車", "單程", 45, None, None, None, None),
             ("捷運", "來回", 40, None, "南京復興", "台北車站", None),
             ("公車", "單程", 15, None, None, None, None),
             ("公車", "來回", 30, None, None, None, None),
             ("公車", "單程", TUNING_BUS_SPEND_FARE, None, None, None, None),
             # rows the pipeline must not count: a refund line, a blank amount, an agency car
             ("計程車", "單程", -150, None, None, None, "退費沖銷"),
             ("計程車", "單程", None, None, None, None, None),
             ("公務車", "來回", 300, None, None, None, "機關公務車油資")]
    n = len(spec)
    days = pd.bdate_range(SAMPLE_START, SAMPLE_END)
    dates = np.sort(rng.choice(days.to_numpy(), size=n, replace=True))
    order = rng.permutation(n)  # which claim falls on which date
    employees = rng.integers(1, SAMPLE_EMPLOYEES + 1, size=n)
    hours, minutes = rng.integers(8, 18, size=n), rng.choice([0, 10, 15, 20, 30, 40, 45, 50], size=n)
    places = rng.choice(len(SAMPLE_PLACES), size=n)
    purposes = rng.choice(len(SAMPLE_PURPOSES), size=n)
    rows = []
    for pos, i in enumerate(order):  # builds the synthetic file, not a pass over claims being processed
        modes, trip, amount, clock, o_st, d_st, note = spec[i]
        date = pd.Timestamp(dates[pos])
        place = SAMPLE_PLACES[places[i]]
        rows.append({
            "單據編號": f"BT114-{pos + 1:04d}", "申請人員工編號": f"E9{employees[i]:04d}",
            "申請人": f"範例人員{employees[i]:02d}", "日期": f"{date.year - config.ROC_OFFSET}/{date.month:02d}/{date.day:02d}",
            "時間": clock or f"{hours[i]:02d}:{minutes[i]:02d}", "事由": SAMPLE_PURPOSES[purposes[i]],
            "起點": "本所", "迄點": d_st and "臺北車站" or place, "起站": o_st or "", "迄站": d_st or "",
            "單程/來回": trip, "交通工具": modes, "金額": "" if amount is None else f"{amount:g}", "備註": note or "",
        })
    claims = pd.DataFrame(rows, columns=list(HEADERS))
    legs = [  # trip no, employee, direction, leg, date, mode, from, to
        ("LT114-001", 3, "去程", 1, "114/11/12", "高鐵", "台北", "台中"),
        ("LT114-001", 3, "回程", 1, "114/11/13", "高鐵", "台中", "台北"),
        ("LT114-002", 7, "去程", 1, "114/11/20", "臺鐵", "台北", "花蓮"),
        ("LT114-002", 7, "回程", 1, "114/11/21", "臺鐵", "花蓮", "台北"),
        ("LT114-003", 11, "去程", 1, "114/12/03", "飛機", "松山機場", "金門機場"),
        ("LT114-003", 11, "回程", 1, "114/12/05", "飛機", "金門機場", "松山機場"),
        ("LT114-004", 5, "去程", 1, "114/12/16", "高鐵", "台北", "嘉義"),  # pair not in the table: great-circle
        ("LT114-004", 5, "回程", 1, "114/12/17", "高鐵", "嘉義", "台北"),
    ]
    long_trips = pd.DataFrame(
        [{"出差單號": t, "申請人員工編號": f"E9{e:04d}", "申請人": f"範例人員{e:02d}", "方向": d, "段次": str(leg),
          "日期": day, "交通工具": m, "起站": a, "迄站": b} for t, e, d, leg, day, m, a, b in legs],
        columns=list(LONG_HEADERS))
    return claims, long_trips


def write_sample_claims(year_dir: Path) -> None:
    """Write the synthetic 2025 expense export claims.csv and long_trips.csv (UTF-8 with BOM) into year_dir."""
    year_dir = Path(year_dir)
    claims, long_trips = sample_frames()
    for name, frame in (("claims.csv", claims), ("long_trips.csv", long_trips)):
        atomic_write_bytes(year_dir / name, frame.to_csv(index=False, lineterminator="\n").encode("utf-8-sig"))
