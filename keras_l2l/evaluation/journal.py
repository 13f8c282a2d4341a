"""A journal of finished runs, so that an interrupted evaluation resumes run by run.

One held-out task at 5,000 steps is about 200 runs (tuning grids and evaluation
seeds) and takes hours on a shared 2-core machine; without a journal an
interruption loses every run of the (task, horizon) pair. Each finished run
appends one JSON line, flushed to disk, to a file whose name carries a digest of
everything that defines the runs (problem, steps, seeds, optimizers, grid,
learned weights), so a journal is only ever read back by the same evaluation.
"""

import hashlib
import json
import os
from pathlib import Path


class RunJournal:
    """`get(run)` / `put(run, record)` of JSON-able run records, kept in `directory`."""

    def __init__(self, directory, identity):
        digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
        self.path = Path(directory) / f"runs-{digest[:16]}.jsonl"
        self.records = {}
        if self.path.is_file():
            self._load()

    def _load(self):
        """Read every whole line; a line cut short by the interruption is dropped (and the
        file rewritten without it, so later lines are not appended after it)."""
        lines = self.path.read_text().splitlines()
        kept = []
        for line in lines:
            try:
                entry = json.loads(line)
                self.records[entry["run"]] = entry["record"]
                kept.append(line)
            except (json.JSONDecodeError, KeyError, TypeError):
                continue
        if len(kept) < len(lines) or not self.path.read_text().endswith("\n"):
            partial = self.path.with_suffix(".tmp")
            partial.write_text("".join(line + "\n" for line in kept))
            os.replace(partial, self.path)

    def __len__(self):
        return len(self.records)

    def get(self, run):
        """The record of a finished run, or None."""
        return self.records.get(run)

    def put(self, run, record):
        """Record a finished run (appended and flushed before returning)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a") as f:
            f.write(json.dumps({"run": run, "record": record}) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.records[run] = record



def remove_journals(directory):
    """Delete the run journals in `directory`: call once its results are written."""
    for path in Path(directory).glob("runs-*.jsonl"):
        path.unlink()
