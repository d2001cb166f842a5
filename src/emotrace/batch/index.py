"""The corpus index: an embedded SQLite database of per-video, per-person and per-window summaries.

Tables (one row per ...):

* ``videos``: video (result folder name), path, id, hashes, duration, persons/speakers count,
  dominant emotion, ``share_<label>``, mean valence/arousal, processing time;
* ``persons``: (video, person_id) with the same summaries over that person's windows;
* ``windows``: (video, person_id, start_s) with emotion, confidence, ``p_<label>``, valence, arousal;
* ``status``: video, path, status (done/failed), error, attempts, hashes, seconds, updated.

Label columns are added as labels appear, so merged label spaces work too.
"""

from __future__ import annotations

import datetime as _dt
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from emotrace.errors import InputError, OutputError
from emotrace.labels import LabelError, canonical_label

if TYPE_CHECKING:
    import pandas as pd

INDEX_NAME = "index.sqlite"

_KEYS: dict[str, tuple[str, ...]] = {
    "videos": ("video",),
    "persons": ("video", "person_id"),
    "windows": ("video", "person_id", "start_s"),
    "status": ("video",),
}
_TEXT = {"video", "path", "id", "person_id", "speaker_id", "emotion", "dominant_emotion", "status", "error",
         "input_sha256", "config_sha256", "updated", "worker"}


def index_path(path: str | os.PathLike[str]) -> Path:
    """``OUT`` or ``OUT/index.sqlite`` -> the database file."""
    p = Path(path)
    return p / INDEX_NAME if p.is_dir() or not p.suffix else p


def _sql_type(col: str, value: Any) -> str:
    if col in _TEXT or isinstance(value, str):
        return "TEXT"
    if isinstance(value, bool | int):
        return "INTEGER"
    return "REAL"


class CorpusIndex:
    """Read and write the corpus index; read methods return pandas DataFrames."""

    def __init__(self, path: str | os.PathLike[str], readonly: bool = False, create: bool = False):
        """Open ``OUT/index.sqlite`` (or the file given); ``create`` makes a new one if missing,
        ``readonly`` refuses every write (for user SQL)."""
        self.path = index_path(path)
        if not create and not self.path.is_file():
            raise InputError(self.path, "no corpus index here (run `emotrace batch` first)")
        if readonly:
            self._conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        else:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._conn = sqlite3.connect(self.path)
            except (OSError, sqlite3.Error) as e:
                raise OutputError(self.path, f"cannot open index ({e})") from None
        self._columns: dict[str, set[str]] = {}

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- writing -----------------------------------------------------------------------
    def _table_columns(self, table: str) -> set[str]:
        if table not in self._columns:
            cur = self._conn.execute(f'PRAGMA table_info("{table}")')
            self._columns[table] = {r[1] for r in cur.fetchall()}
        return self._columns[table]

    def _ensure(self, table: str, rows: list[dict[str, Any]]) -> None:
        have = self._table_columns(table)
        types: dict[str, str] = {}
        for row in rows:
            for col, val in row.items():
                if col not in have and (col not in types or val is not None):
                    types[col] = _sql_type(col, val)
        if not types:
            return
        if not have:
            keys = _KEYS[table]
            cols = [f'"{c}" {types.get(c, "TEXT")}' for c in keys]
            cols += [f'"{c}" {t}' for c, t in types.items() if c not in keys]
            pk = ", ".join(f'"{k}"' for k in keys)
            self._conn.execute(f'CREATE TABLE IF NOT EXISTS "{table}" ({", ".join(cols)}, PRIMARY KEY ({pk}))')
        else:
            for col, t in types.items():
                self._conn.execute(f'ALTER TABLE "{table}" ADD COLUMN "{col}" {t}')
        self._columns.pop(table, None)

    def _insert(self, table: str, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        self._ensure(table, rows)
        for row in rows:
            cols = ", ".join(f'"{c}"' for c in row)
            marks = ", ".join("?" for _ in row)
            self._conn.execute(f'INSERT OR REPLACE INTO "{table}" ({cols}) VALUES ({marks})', list(row.values()))

    def _delete_video(self, video: str) -> None:
        for table in ("videos", "persons", "windows"):
            if self._table_columns(table):
                self._conn.execute(f'DELETE FROM "{table}" WHERE video = ?', (video,))

    def add(self, tables: dict[str, list[dict[str, Any]]], extra: dict[str, Any] | None = None) -> None:
        """Replace one video's rows with ``tables`` (from :func:`~emotrace.batch.summary.summarize`);
        ``extra`` adds columns to its ``videos`` row (id, hashes, processing time...)."""
        videos = [{**r, **(extra or {})} for r in tables.get("videos", [])]
        with self._conn:
            for r in videos:
                self._delete_video(r["video"])
            self._insert("videos", videos)
            self._insert("persons", tables.get("persons", []))
            self._insert("windows", tables.get("windows", []))

    def remove(self, video: str) -> None:
        """Drop one video's summary rows (its status row stays)."""
        with self._conn:
            self._delete_video(video)

    def set_status(self, video: str, path: str, status: str, **fields: Any) -> None:
        """Record a video's batch status (``done`` or ``failed`` with ``error``)."""
        row = {"video": video, "path": path, "status": status, "error": None, **fields}
        row["updated"] = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
        with self._conn:
            self._insert("status", [row])

    def has(self, video: str, input_sha256: str, config_sha256: str) -> bool:
        """True when ``video``'s summaries for this input and config are in the index."""
        if not self._table_columns("videos"):
            return False
        cur = self._conn.execute(
            "SELECT 1 FROM videos WHERE video = ? AND input_sha256 = ? AND config_sha256 = ?",
            (video, input_sha256, config_sha256),
        )
        return cur.fetchone() is not None

    def status_of(self, video: str) -> str | None:
        """``done``, ``failed`` or None (never seen)."""
        if not self._table_columns("status"):
            return None
        row = self._conn.execute("SELECT status FROM status WHERE video = ?", (video,)).fetchone()
        return row[0] if row else None

    # ---- reading -----------------------------------------------------------------------
    def sql(self, query: str, params: Iterable[Any] = ()) -> pd.DataFrame:
        """Run any SQL and return a DataFrame (errors become one-line InputErrors)."""
        import pandas as pd

        try:
            cur = self._conn.execute(query, tuple(params))
            rows = cur.fetchall()
        except sqlite3.Error as e:
            raise InputError("query", str(e).splitlines()[0]) from None
        cols = [d[0] for d in cur.description or ()]
        return pd.DataFrame(rows, columns=cols)

    def _table(self, table: str, where: str = "", params: Iterable[Any] = ()) -> pd.DataFrame:
        import pandas as pd

        if not self._table_columns(table):
            return pd.DataFrame()
        return self.sql(f'SELECT * FROM "{table}" {where}', params)

    def videos(self) -> pd.DataFrame:
        """One row per video: shares of each emotion, dominant emotion, mean valence/arousal..."""
        return self._table("videos", "ORDER BY video")

    def overview(self) -> pd.DataFrame:
        """Every video seen with its status and headline numbers (failed ones with their error)."""
        import pandas as pd

        if not self._table_columns("status"):
            return pd.DataFrame()
        if not self._table_columns("videos"):
            return self.sql("SELECT video, status, error FROM status ORDER BY video")
        return self.sql(
            "SELECT s.video, s.status, v.duration_s, v.n_persons, v.dominant_emotion, v.mean_valence, "
            "v.mean_arousal, s.error FROM status s LEFT JOIN videos v ON v.video = s.video ORDER BY s.video"
        )

    def persons(self, video: str | None = None) -> pd.DataFrame:
        """One row per person per video."""
        if video:
            return self._table("persons", "WHERE video = ? ORDER BY person_id", (video,))
        return self._table("persons", "ORDER BY video, person_id")

    def windows(self, video: str | None = None) -> pd.DataFrame:
        """One row per fused window (per person) per video."""
        if video:
            return self._table("windows", "WHERE video = ? ORDER BY person_id, start_s", (video,))
        return self._table("windows", "ORDER BY video, person_id, start_s")

    def status(self) -> pd.DataFrame:
        """Batch status of every video seen (done / failed with the error line)."""
        return self._table("status", "ORDER BY video")

    def share_column(self, emotion: str) -> str:
        """``anger`` / ``Angry`` / ``surprise+disgust`` -> the ``share_...`` column name."""
        name = emotion.strip().lower()
        cols = self._table_columns("videos")
        if f"share_{name}" not in cols:
            try:
                canon = canonical_label(name)
            except LabelError:
                canon = None
            if canon is None or f"share_{canon}" not in cols:
                known = sorted(c.removeprefix("share_") for c in cols if c.startswith("share_"))
                raise InputError(emotion, f"unknown emotion (index has: {', '.join(known) or 'none'})")
            name = canon
        return f"share_{name}"

    def rank(self, emotion: str, per: str = "video", limit: int | None = None) -> pd.DataFrame:
        """Videos (``per="video"``) or persons (``per="person"``) ranked by their share of ``emotion``."""
        col = self.share_column(emotion)
        if per == "video":
            cols = f'video, "{col}", dominant_emotion, mean_valence, mean_arousal, duration_s, n_persons'
            table = "videos"
        elif per == "person":
            cols = f'video, person_id, speaker_id, "{col}", dominant_emotion, mean_valence, mean_arousal, covered_s'
            table = "persons"
        else:
            raise InputError(per, "rank per 'video' or 'person'")
        lim = f" LIMIT {int(limit)}" if limit else ""
        return self.sql(f'SELECT {cols} FROM {table} WHERE "{col}" IS NOT NULL ORDER BY "{col}" DESC, video{lim}')

    def per_speaker(self) -> pd.DataFrame:
        """Per-speaker averages: each person's shares and valence/arousal, plus their video's mean
        over its persons (``video_mean_*``) to compare a speaker with the others in the same video."""
        df = self.persons()
        if df.empty:
            return df
        metrics = [c for c in df.columns if c.startswith("share_")] + ["mean_valence", "mean_arousal"]
        cols = ["video", "person_id", "speaker_id", "covered_s", "dominant_emotion", *metrics]
        out = df[cols].copy()
        means = df.groupby("video")[["mean_valence", "mean_arousal"]].transform("mean")
        out["video_mean_valence"] = means["mean_valence"].round(5)
        out["video_mean_arousal"] = means["mean_arousal"].round(5)
        return out

    def export_parquet(self, folder: str | os.PathLike[str]) -> list[Path]:
        """Write every table as ``<table>.parquet`` into ``folder``."""
        out = Path(folder)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise OutputError(out, f"cannot create folder ({e.strerror or e})") from None
        written = []
        for table in ("videos", "persons", "windows", "status"):
            df = self._table(table)
            if df.empty and not self._table_columns(table):
                continue
            path = out / f"{table}.parquet"
            df.to_parquet(path, index=False)
            written.append(path)
        return written
