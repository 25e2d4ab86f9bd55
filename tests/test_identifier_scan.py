"""No employee number, e-mail or name from the raw inputs reaches a processed file, an executed notebook or a report.

The identifiers are read from the raw sample itself (survey exports, attendance workbooks, business-travel
claims); every output file of a real run (the session's `pipeline_run`) is scanned as raw bytes and decoded:
parquet cells read with pandas, JSON/notebooks parsed, HTML entities unescaped.
"""

from __future__ import annotations

import html
import io
import json
import re
import unicodedata
from pathlib import Path

import pandas as pd

from helpers import config, reference

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# headers of identifier columns, beyond the ones the form mappings name
NAME_HEADERS = {"姓名", "申請人", "申請人姓名"}


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", str(text)).strip()


def _identifier_headers() -> tuple[set[str], set[str], set[str]]:
    """(employee-number, e-mail, name) headers from the survey mappings and the business-travel mapping."""
    emp, mail, names = set(), set(), set(NAME_HEADERS)
    for path in sorted((config.REFERENCE / "survey").glob("[0-9][0-9][0-9][0-9].yaml")):
        mapping = reference.load_yaml(path)
        emp.add(mapping["columns"]["employee_no"])
        emp.add(mapping["attendance"]["columns"]["employee_no"])
        if "roster" in mapping:
            emp.add(mapping["roster"]["columns"]["employee_no"])
        if "email" in mapping["columns"]:
            mail.add(mapping["columns"]["email"])
    bt = reference.load_yaml(config.REFERENCE / "business_travel" / "claims_mapping.yaml")
    for section in bt.values():
        fields = section.get("fields", {}) if isinstance(section, dict) else {}
        emp.update(fields.get("employee_no", {}).get("headers", []))
        names.update(fields.get("applicant_name", {}).get("headers", []))
    return {_norm(h) for h in emp}, {_norm(h) for h in mail}, {_norm(h) for h in names}


def _raw_tables(raw_dir: Path) -> list[tuple[Path, pd.DataFrame]]:
    tables = []
    for path in sorted(raw_dir.rglob("*")):
        if path.suffix == ".csv":
            data = path.read_bytes()
            for encoding in ("utf-8-sig", "cp950"):
                try:
                    text = data.decode(encoding)
                    break
                except UnicodeDecodeError:
                    continue
            tables.append((path, pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)))
        elif path.suffix == ".xlsx":
            for sheet in pd.read_excel(path, sheet_name=None, dtype=str, engine="openpyxl").values():
                tables.append((path, sheet.fillna("")))
    return tables


def raw_identifiers(raw_dir: Path) -> dict[str, set[str]]:
    """Employee numbers, e-mails and names found in the raw files under raw_dir (all years)."""
    emp_heads, mail_heads, name_heads = _identifier_headers()
    found: dict[str, set[str]] = {"employee_no": set(), "email": set(), "name": set()}
    for _path, frame in _raw_tables(raw_dir):
        frame.columns = [_norm(c) for c in frame.columns]
        for column in frame.columns:
            values = {_norm(v) for v in frame[column] if _norm(v)}
            if column in emp_heads:
                found["employee_no"] |= values
            elif column in mail_heads:
                found["email"] |= values
            elif column in name_heads:
                found["name"] |= values
            found["email"] |= {m for v in values for m in EMAIL.findall(v)}
    return found


def _texts(path: Path) -> list[str]:
    """The file's bytes as text, plus decoded views: parquet cells, parsed JSON, unescaped HTML."""
    data = path.read_bytes()
    texts = [data.decode("utf-8", errors="replace")]
    if path.suffix == ".parquet":
        frame = pd.read_parquet(path)
        texts.append("\n".join(frame.columns.astype(str)))
        for column in frame.columns:
            texts.append("\n".join(frame[column].dropna().astype(str)))
    elif path.suffix in (".json", ".ipynb"):
        texts.append(json.dumps(json.loads(data.decode("utf-8")), ensure_ascii=False))
    elif path.suffix in (".html", ".htm"):
        texts.append(html.unescape(texts[0]))
    elif path.suffix == ".jsonl":
        texts += [json.dumps(json.loads(line), ensure_ascii=False) for line in texts[0].splitlines() if line.strip()]
    return texts


def _pattern(identifiers: set[str]) -> re.Pattern:
    """One regex for all identifiers (longest first), not inside a longer code such as base64 image data."""
    alternatives = "|".join(re.escape(v) for v in sorted(identifiers, key=lambda v: (-len(v), v)))
    return re.compile(rf"(?<![A-Za-z0-9])(?:{alternatives})(?![A-Za-z0-9])", re.IGNORECASE)


def scan_for_identifiers(folders: list[Path], identifiers: dict[str, set[str]]) -> list[str]:
    """Every (file, kind, identifier) hit in the files under `folders`; an empty list means clean."""
    patterns = {kind: _pattern(values) for kind, values in identifiers.items() if values}
    hits = set()
    for folder in folders:
        for path in sorted(Path(folder).rglob("*")):
            if not path.is_file():
                continue
            for text in _texts(path):
                for kind, pattern in patterns.items():
                    hits |= {f"{path}: {kind} {match!r}" for match in pattern.findall(text)}
    return sorted(hits)


def test_the_sample_has_identifiers_to_look_for(pipeline_run):
    found = raw_identifiers(pipeline_run.raw_dir)
    assert len(found["employee_no"]) >= 140 and len(found["email"]) >= 135 and len(found["name"]) >= 100, \
        {k: len(v) for k, v in found.items()}
    assert any(e.startswith("E") for e in found["employee_no"])  # business-travel applicants too


def test_the_scan_finds_a_planted_identifier(tmp_path: Path, pipeline_run):
    found = raw_identifiers(pipeline_run.raw_dir)
    emp, mail, name = sorted(found["employee_no"])[0], sorted(found["email"])[0], sorted(found["name"])[0]
    pd.DataFrame({"x": [f"note about {emp}"]}).to_parquet(tmp_path / "a.parquet")
    (tmp_path / "b.html").write_text(f"<p>{html.escape(mail)}</p><p>&#{ord(name[0])};{name[1:]}</p>", encoding="utf-8")
    hits = scan_for_identifiers([tmp_path], found)
    assert any("a.parquet" in h and emp in h for h in hits)
    assert any("b.html" in h and mail in h for h in hits) and any("b.html" in h and name in h for h in hits)


def test_no_identifiers_in_outputs(pipeline_run):
    found = raw_identifiers(pipeline_run.raw_dir)
    folders = [pipeline_run.processed_dir, pipeline_run.out_dir]
    outputs = [p for folder in folders for p in folder.rglob("*") if p.is_file()]
    assert any(p.suffix == ".parquet" for p in outputs)
    assert any(p.suffix == ".ipynb" for p in outputs) and any(p.suffix == ".html" for p in outputs)
    log = pipeline_run.processed_dir.parent / "destruction_log"
    hits = scan_for_identifiers(folders + ([log] if log.exists() else []), found)
    assert hits == [], "\n".join(hits[:50])


def test_no_typed_in_personal_data_in_outputs(hostile_run):
    """Respondents typed e-mails, phone numbers, staff numbers, names and an address into answers, distance cells
    and claims (tests/hostile.py): none of it reaches processed files, executed notebooks or reports."""
    from hostile import typed_personal_data

    typed = typed_personal_data(hostile_run.raw_dir)
    found = raw_identifiers(hostile_run.raw_dir)
    assert set(typed["email"]) <= found["email"]  # the typed e-mail is found in the raw answers
    assert set(typed["name"]) <= found["name"] and set(typed["employee_no"]) <= found["employee_no"]
    found |= {"phone": set(typed["phone"]), "address": set(typed["address"])}
    hits = scan_for_identifiers([hostile_run.processed_dir, hostile_run.out_dir], found)
    assert hits == [], "\n".join(hits[:50])
    # the answers themselves are kept, with the identifying span masked
    attitudes = pd.read_parquet(hostile_run.processed_dir / "2025" / "attitudes.parquet")
    assert "要接送小孩 [已遮蔽]" in set(attitudes["free_text"].dropna().str.split(", ").explode())
