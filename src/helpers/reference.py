"""Reference data loaders: mode catalogue and mode groups (data/reference/modes.yaml)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd
import yaml

from helpers import config

GROUPS = ("public", "non_motorised", "private")


def load_yaml(path: Path) -> dict:
    """Read a YAML reference file, naming the file in any error."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: reference file not found")
    try:
        with path.open(encoding="utf-8") as fh:
            return yaml.safe_load(fh) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from None


@lru_cache(maxsize=4)
def _modes(path: str) -> pd.DataFrame:
    data = load_yaml(Path(path))
    frame = pd.DataFrame(data["modes"]).rename(columns={"id": "mode_id"})
    bad = frame.loc[~frame["group"].isin(GROUPS), ["mode_id", "group"]]
    if len(bad):
        raise ValueError(f"{path}: unknown group for {bad.to_dict('records')}; expected one of {GROUPS}")
    if frame["mode_id"].duplicated().any():
        raise ValueError(f"{path}: duplicate mode ids {sorted(frame.loc[frame['mode_id'].duplicated(), 'mode_id'])}")
    return frame.astype({"priority": "int64", "hired": "bool"})


def modes(path: Path | None = None) -> pd.DataFrame:
    """Mode catalogue: mode_id, name_zh, name_en, group, hired, fuel, priority."""
    return _modes(str(path or config.REFERENCE / "modes.yaml")).copy()


def groups(path: Path | None = None) -> pd.DataFrame:
    """Mode groups: id, name_zh, name_en in report order."""
    data = load_yaml(path or config.REFERENCE / "modes.yaml")
    return pd.DataFrame(data["groups"]).rename(columns={"id": "group"})


def mode_names(lang: str = "zh") -> dict[str, str]:
    """Mapping mode_id -> display name (zh or en)."""
    frame = modes()
    return dict(zip(frame["mode_id"], frame[f"name_{lang}"]))


def group_names(lang: str = "zh") -> dict[str, str]:
    """Mapping group id -> display name (zh or en)."""
    frame = groups()
    return dict(zip(frame["group"], frame[f"name_{lang}"]))


def group_label(group: str) -> str:
    """Display name of a mode group, '大眾運輸 Public transport'; other values as they are."""
    zh, en = group_names("zh"), group_names("en")
    return f"{zh[group]} {en[group]}" if group in zh else str(group)


LABELS_FILE = "labels.yaml"


@lru_cache(maxsize=4)
def _labels(path: str) -> dict[str, dict[str, dict[str, str]]]:
    families = load_yaml(Path(path)).get("families") or {}
    for family, entries in families.items():
        bad = [code for code, entry in (entries or {}).items() if not isinstance(entry, dict) or not entry.get("zh")]
        if bad:
            raise ValueError(f"{path}: family '{family}': code(s) {bad} lack a zh label ({{zh: ..., en: ...}})")
    return families


def labels(family: str, lang: str = "zh", path: Path | None = None) -> dict[str, str]:
    """code -> display label (zh or en) of one code family of data/reference/labels.yaml."""
    file = path or config.REFERENCE / LABELS_FILE
    families = _labels(str(file))
    if family not in families:
        raise KeyError(f"{file}: no label family '{family}'; families: {sorted(families)}")
    return {str(code): str(entry.get(lang) or entry["zh"]) for code, entry in families[family].items()}


def label_pairs(family: str, path: Path | None = None) -> dict[str, tuple[str, str]]:
    """code -> (zh-TW label, English gloss) of one code family of data/reference/labels.yaml."""
    zh, en = labels(family, "zh", path), labels(family, "en", path)
    return {code: (zh[code], en[code]) for code in zh}


def require_label(family: str, code: str) -> None:
    """Raise if a code has no label in its family: every code a reader may see must be named in zh-TW."""
    if code not in labels(family):
        raise KeyError(f"code {code!r} has no label in {config.REFERENCE / LABELS_FILE} (family {family}); add it there")
