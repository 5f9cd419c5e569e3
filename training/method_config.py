"""Loading a method's training config (DepthNet, boost merge): a YAML mapping that names its
`method`, then `key=value` overrides. Unknown keys are errors, so a typo never silently keeps
a default."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import yaml

from .config import parse_override


def read_yaml(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'{path}: no such config file')
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise ValueError(f'{path}: a config must be a YAML mapping')
    return data


def names_method(path: str | Path, method: str) -> bool:
    """True when the YAML file says `method: <method>` (the `train` command dispatches on it)."""
    return read_yaml(path).get('method') == method


def load_method_config(cls, path: str | Path | None, overrides, values: dict, what: str):
    """`cls` (a dataclass with `validate()`) from the file, then `values`, then the overrides."""
    data = read_yaml(path) if path else {}
    data.update(values)
    data.update(parse_override(text) for text in overrides)
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - fields)
    if unknown:
        raise ValueError(f'{path or "config"}: unknown {what} config keys {unknown}; valid: {sorted(fields)}')
    return cls(**data).validate()
