"""The personnel office's roster: who is in scope in a year (the denominator), and the response counts.

The roster (roster.xlsx: employee no., department, in scope yes/no, join and leave dates, attendance days) is
mapped in the year's form file (`roster:` in data/reference/survey/<year>.yaml). The attendance file may be
that same roster (`attendance.file: roster.xlsx`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from helpers import privacy
from helpers.rejects import FIRST_DATA_ROW, PSEUDONYM_SHOWN, Rejects, one_of
from helpers.schemas import STAFF, isin_ids

STATUSES = ("valid", "declined", "not_answered")


def read_roster(path: Path, mapping: dict, key: bytes, rejects: Rejects, year: int) -> pd.DataFrame:
    """Roster xlsx -> the `staff` table (pseudonymous); bad rows go to `rejects` with file, row, column, value.

    A row is rejected when the employee number is blank, "in scope" is not one of the mapped answers, a date is
    not a date, or the employee appears twice. Attendance days that are not a valid number are kept as blank
    here (the attendance reader rejects them when the roster is also the attendance file).
    """
    from helpers.survey import ingest  # the survey side's cell parsers (ingest calls this function)

    spec = mapping["roster"]
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: roster from the personnel office not found (named in {mapping['_path']}, "
                                "roster.file)")
    frame, need = ingest.read_mapped_sheet(path, mapping, "roster")
    name = path.name
    rows = pd.Series(frame.index + FIRST_DATA_ROW, index=frame.index)
    text = {k: ingest.clean_text(frame[v]) for k, v in need.items()}
    blank = pd.concat(text.values(), axis=1).isna().all(axis=1)
    frame, rows, text = frame[~blank], rows[~blank], {k: v[~blank] for k, v in text.items()}
    emp = privacy.normalise_employee_no(frame[need["employee_no"]])
    bad = emp.isna()
    rejects.add(name, rows[bad], need["employee_no"], None, "roster_no_employee")
    answers = {ingest.norm_header(k): bool(v) for k, v in spec["in_scope_values"].items()}
    in_scope = text["in_scope"].map(answers)
    wrong = ~bad & in_scope.isna()
    rejects.add(name, rows[wrong], need["in_scope"], text["in_scope"][wrong], "roster_in_scope_unknown",
                one_of(spec["in_scope_values"]))
    bad |= wrong
    dates = {}
    for field in ("join_date", "leave_date"):
        if field not in need:
            dates[field] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
            continue
        dates[field] = _parse_dates(text[field])
        wrong = ~bad & text[field].notna() & dates[field].isna()
        rejects.add(name, rows[wrong], need[field], text[field][wrong], "roster_date_invalid",
                    "例：2025-03-01、2025/3/1")
        bad |= wrong
    days = ingest.parse_number(frame[need["attendance_days"]], ingest.DAY_UNITS)
    days = days.where((days > 0) & (days <= 366))
    out = pd.DataFrame({"respondent_id": privacy.pseudonymise(emp[~bad], key), "year": int(year),
                        "department": text["department"][~bad] if "department" in text else pd.NA,
                        "in_scope": in_scope[~bad].astype(bool), "join_date": dates["join_date"][~bad],
                        "leave_date": dates["leave_date"][~bad], "attendance_days": days[~bad], "_row": rows[~bad]})
    dup = out["respondent_id"].duplicated(keep=False)
    rejects.add(name, out.loc[dup, "_row"], need["employee_no"], out.loc[dup, "respondent_id"], "roster_duplicate",
                PSEUDONYM_SHOWN)
    return STAFF.validate(out[~dup].drop(columns="_row"), source=name)


def _parse_dates(text: pd.Series) -> pd.Series:
    """Dates as the personnel office types them: 2025-03-01, 2025/3/1, or an Excel date cell read as text."""
    iso = pd.to_datetime(text.str.replace("/", "-", regex=False).str.slice(0, 10), errors="coerce",
                         format="%Y-%m-%d")
    loose = pd.to_datetime(text.where(iso.isna()), errors="coerce", format="mixed")
    return iso.fillna(loose).astype("datetime64[ns]")


def staff_status(staff: pd.DataFrame, respondents: pd.DataFrame) -> pd.DataFrame:
    """Everyone in scope with their response status: valid (in the inventory), declined (route D), not_answered.

    Returns respondent_id, department (roster's), attendance_days (roster's), status.
    """
    scope = staff.loc[staff["in_scope"], ["respondent_id", "department", "attendance_days"]].reset_index(drop=True)
    valid = respondents.loc[respondents["in_inventory"], "respondent_id"]
    declined = respondents.loc[respondents["route"] == "D", "respondent_id"]
    ids = scope["respondent_id"]
    status = np.where(isin_ids(ids, valid), "valid", np.where(isin_ids(ids, declined), "declined", "not_answered"))
    return scope.assign(status=pd.Series(status, index=scope.index, dtype="string"))


def response_counts(staff: pd.DataFrame, respondents: pd.DataFrame) -> dict:
    """Staff in scope, valid / declined / not answered, response rate (valid / in scope), respondents not in scope."""
    status = staff_status(staff, respondents)
    counts = status["status"].value_counts()
    n = int(len(status))
    valid = int(counts.get("valid", 0))
    members = respondents.loc[respondents["in_inventory"], "respondent_id"]
    outside = int((~isin_ids(members, status["respondent_id"])).sum())
    return {"staff_in_scope": n, **{s: int(counts.get(s, 0)) for s in STATUSES},
            "response_rate": valid / n if n else None, "respondents_not_in_scope": outside}
