"""The launcher's log setup: docs/logging.md's format on standard error.

Owns turning Python logging records into logfmt (or JSON) lines that carry
the component and the VMI uid. Set up once, by launcher/__main__.py.
"""

from __future__ import annotations

import json
import logging
import sys
import time

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


def _timestamp(record: logging.LogRecord) -> str:
    t = time.gmtime(record.created)
    return time.strftime("%Y-%m-%dT%H:%M:%S", t) + f".{int(record.msecs):03d}Z"


def _quote(value: object) -> str:
    text = str(value)
    if text and all(c.isalnum() or c in "-_./:@" for c in text):
        return text
    return json.dumps(text, ensure_ascii=False)


class LogfmtFormatter(logging.Formatter):
    def __init__(self, fields: dict[str, str], as_json: bool = False) -> None:
        super().__init__()
        self.fields = fields
        self.as_json = as_json

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": _timestamp(record), "level": record.levelname.lower(), **self.fields,
                 "logger": record.name, "msg": record.getMessage()}
        entry.update({k: v for k, v in record.__dict__.items() if k not in _RESERVED})
        if record.exc_info and record.exc_info[1] is not None:
            entry["error"] = str(record.exc_info[1])
        if self.as_json:
            if record.exc_info:
                entry["traceback"] = self.formatException(record.exc_info)
            return json.dumps(entry, ensure_ascii=False, default=str)
        time_text = entry.pop("time")
        line = time_text + " " + " ".join(f"{k}={_quote(v)}" for k, v in entry.items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure(level: str, vmi_uid: str, as_json: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(LogfmtFormatter({"component": "launcher", "vmi": vmi_uid}, as_json))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
