"""Claims as columns: what batch training and audits read, from a file, the database or facts.

`ClaimColumns` holds one numpy array per fact, claims in arrival order, and the billed lines as
flat arrays with per-claim offsets. Strings with few values (hospital, item code, setting, sex,
DRG) are vocabularies with integer ids; the person is a 64-bit hash of the citizen ID (or of the
database's keyed person hash), so no citizen ID is held. `fraud.batch` computes features, norms,
rules and scores over whole columns.

An NDJSON history is read once, in byte ranges parsed by worker processes (orjson), each
returning columns only: memory grows with the columns, not with the bundles.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import math
import multiprocessing
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Final

import numpy as np
import orjson

from fraud.facts import (
    THAI_TIME,
    ClaimFacts,
    _age,
    _by_url,
    _cid,
    _claim_encounter,
    _diagnoses,
    _drg,
    _first_served,
    _parse_date,
    _parse_moment,
    _provider_hcode,
    _setting,
    _stay,
    _thai_day,
    _total,
    raw_unit_price,
)
from fraud.forking import forked_pool

CHUNK_LINES: Final = 20_000
READ_BLOCK: Final = 1 << 24
PARALLEL_FROM: Final = 50_000
THAI_SUFFIX: Final = "+07:00"
NO_ID: Final = -1


def person_hash(key: str) -> int:
    """A stable signed 64-bit hash of a person key (citizen ID or the database's keyed hash)."""
    return int.from_bytes(
        hashlib.blake2b(key.encode(), digest_size=8).digest(), "little", signed=True
    )


def signature_number(codes: Sequence[str]) -> int:
    """`ClaimFacts.signature` as an integer (the same 6-byte blake2b of the sorted code set)."""
    return _signature_of(tuple(codes))


@functools.lru_cache(maxsize=1 << 16)
def _signature_of(codes: tuple[str, ...]) -> int:
    # Cached: claims repeat the same code lists (the generator's 200,000 have 35 code sets).
    digest = hashlib.blake2b("|".join(sorted(set(codes))).encode(), digest_size=6).digest()
    return int.from_bytes(digest, "big")


@dataclass(slots=True)
class ClaimColumns:
    """A claim history as columns (see the module docstring); `NO_ID` marks a missing string."""

    identifier: list[str] | None
    hcode: np.ndarray
    person: np.ndarray
    day: np.ndarray
    hour: np.ndarray
    setting: np.ndarray
    age: np.ndarray
    sex: np.ndarray
    total: np.ndarray
    total2: np.ndarray
    drg: np.ndarray
    rw: np.ndarray
    adj_rw: np.ndarray
    stay_days: np.ndarray
    signature: np.ndarray
    offsets: np.ndarray
    line_code: np.ndarray
    line_quantity: np.ndarray
    line_unit: np.ndarray
    hcodes: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    settings: list[str] = field(default_factory=list)
    sexes: list[str] = field(default_factory=list)
    drgs: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.hcode.shape[0])

    @property
    def line_claim(self) -> np.ndarray:
        """For every line, the row of its claim."""
        return np.repeat(np.arange(len(self), dtype=np.int64), np.diff(self.offsets))

    @property
    def line_position(self) -> np.ndarray:
        """For every line, its position within its claim (0 for the first billed line)."""
        counts = np.diff(self.offsets)
        first = np.repeat(self.offsets[:-1], counts)
        return np.asarray(np.arange(self.line_code.shape[0], dtype=np.int64) - first)

    def facts(self, row: int, cid: str = "") -> ClaimFacts:
        """One claim back as `ClaimFacts` (for reasons); the citizen ID is not kept, so `cid`."""
        low, high = int(self.offsets[row]), int(self.offsets[row + 1])
        return ClaimFacts(
            identifier=self.identifier[row] if self.identifier is not None else "",
            hcode=self.hcodes[self.hcode[row]],
            cid=cid,
            day=date.fromordinal(int(self.day[row])),
            hour=int(self.hour[row]),
            setting=self.settings[self.setting[row]],
            age=None if math.isnan(self.age[row]) else int(self.age[row]),
            sex=_word(self.sexes, int(self.sex[row])),
            total=float(self.total[row]),
            codes=tuple(self.codes[c] for c in self.line_code[low:high].tolist()),
            quantities=tuple(self.line_quantity[low:high].tolist()),
            unit_prices=tuple(self.line_unit[low:high].tolist()),
            drg=_word(self.drgs, int(self.drg[row])),
            rw=_maybe(self.rw[row]),
            adj_rw=_maybe(self.adj_rw[row]),
            stay_days=_maybe(self.stay_days[row]),
        )

    def take(self, rows: np.ndarray) -> ClaimColumns:
        """The claims at `rows`, in that order (with their lines)."""
        counts = np.diff(self.offsets)[rows]
        starts = self.offsets[:-1][rows]
        lines = np.repeat(starts - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
        lines = lines + np.arange(int(counts.sum()), dtype=np.int64)
        return ClaimColumns(
            identifier=None if self.identifier is None else [self.identifier[i] for i in rows],
            **{name: getattr(self, name)[rows] for name in CLAIM_ARRAYS},
            offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
            line_code=self.line_code[lines],
            line_quantity=self.line_quantity[lines],
            line_unit=self.line_unit[lines],
            hcodes=self.hcodes,
            codes=self.codes,
            settings=self.settings,
            sexes=self.sexes,
            drgs=self.drgs,
        )

    def slice(self, start: int, end: int) -> ClaimColumns:
        """Claims start..end-1 as views of these arrays (no copy; offsets rebased)."""
        low, high = int(self.offsets[start]), int(self.offsets[end])
        return ClaimColumns(
            identifier=None if self.identifier is None else self.identifier[start:end],
            **{name: getattr(self, name)[start:end] for name in CLAIM_ARRAYS},
            offsets=self.offsets[start : end + 1] - low,
            line_code=self.line_code[low:high],
            line_quantity=self.line_quantity[low:high],
            line_unit=self.line_unit[low:high],
            hcodes=self.hcodes,
            codes=self.codes,
            settings=self.settings,
            sexes=self.sexes,
            drgs=self.drgs,
        )

    def code_ids(self, names: Iterable[str]) -> np.ndarray:
        """Vocabulary ids of the given item codes that occur (unknown ones are left out)."""
        index = {c: i for i, c in enumerate(self.codes)}
        return np.array([index[n] for n in names if n in index], dtype=np.int32)


CLAIM_ARRAYS: Final = (
    "hcode",
    "person",
    "day",
    "hour",
    "setting",
    "age",
    "sex",
    "total",
    "total2",
    "drg",
    "rw",
    "adj_rw",
    "stay_days",
    "signature",
)


def _word(vocabulary: list[str], index: int) -> str | None:
    return None if index == NO_ID else vocabulary[index]


def _maybe(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


Row = tuple[
    str,
    str,
    str,
    int,
    int,
    str,
    float,
    str | None,
    float,
    float,
    str | None,
    float,
    float,
    float,
    int,
    list[str],
    list[float],
    list[float],
]


class _Builder:
    """Rows appended one at a time, turned into columns with local vocabularies."""

    def __init__(self, keep_identifiers: bool) -> None:
        self.keep = keep_identifiers
        self.rows: list[Row] = []

    def add(self, row: Row) -> None:
        self.rows.append(row)

    def columns(self) -> ClaimColumns:
        rows = self.rows
        vocab: dict[str, dict[str, int]] = {k: {} for k in ("h", "c", "s", "x", "d")}

        def ids(values: Iterable[str | None], kind: str) -> np.ndarray:
            book = vocab[kind]
            return np.array(
                [NO_ID if v is None else book.setdefault(v, len(book)) for v in values],
                dtype=np.int32,
            )

        counts = [len(r[15]) for r in rows]
        built = ClaimColumns(
            identifier=[r[0] for r in rows] if self.keep else None,
            hcode=ids((r[1] for r in rows), "h"),
            person=np.array([person_hash(r[2]) for r in rows], dtype=np.int64),
            day=np.array([r[3] for r in rows], dtype=np.int64),
            hour=np.array([r[4] for r in rows], dtype=np.int64),
            setting=ids((r[5] for r in rows), "s"),
            age=np.array([r[6] for r in rows], dtype=np.float64),
            sex=ids((r[7] for r in rows), "x"),
            total=np.array([r[8] for r in rows], dtype=np.float64),
            total2=np.array([r[9] for r in rows], dtype=np.float64),
            drg=ids((r[10] for r in rows), "d"),
            rw=np.array([r[11] for r in rows], dtype=np.float64),
            adj_rw=np.array([r[12] for r in rows], dtype=np.float64),
            stay_days=np.array([r[13] for r in rows], dtype=np.float64),
            signature=np.array([r[14] for r in rows], dtype=np.int64),
            offsets=np.concatenate([[0], np.cumsum(counts, dtype=np.int64)]).astype(np.int64),
            line_code=ids((c for r in rows for c in r[15]), "c"),
            line_quantity=np.array([q for r in rows for q in r[16]], dtype=np.float64),
            line_unit=np.array([u for r in rows for u in r[17]], dtype=np.float64),
        )
        built.hcodes, built.codes, built.settings = (list(vocab[k]) for k in ("h", "c", "s"))
        built.sexes, built.drgs = list(vocab["x"]), list(vocab["d"])
        return built


def _none_nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


def row_of_facts(f: ClaimFacts) -> Row:
    """A builder row from `ClaimFacts` (tests, the online path's facts, small batches)."""
    return (
        f.identifier,
        f.hcode,
        f.cid,
        f.day.toordinal(),
        f.hour,
        f.setting,
        _none_nan(f.age),
        f.sex,
        f.total,
        round(f.total, 2),
        f.drg,
        _none_nan(f.rw),
        _none_nan(f.adj_rw),
        _none_nan(f.stay_days),
        signature_number(f.codes),
        list(f.codes),
        list(f.quantities),
        list(f.unit_prices),
    )


def from_facts(facts: Iterable[ClaimFacts], *, keep_identifiers: bool = True) -> ClaimColumns:
    """Columns of claims given as facts, in the given (arrival) order."""
    builder = _Builder(keep_identifiers)
    for f in facts:
        builder.add(row_of_facts(f))
    return builder.columns()


def concat(parts: Sequence[ClaimColumns]) -> ClaimColumns:
    """One history from consecutive parts, their vocabularies merged."""
    if len(parts) == 1:
        return parts[0]
    merged: dict[str, list[str]] = {}
    remaps: dict[str, list[np.ndarray]] = {}
    for kind in ("hcodes", "codes", "settings", "sexes", "drgs"):
        book: dict[str, int] = {}
        remaps[kind] = []
        for part in parts:
            words = getattr(part, kind)
            remaps[kind].append(
                np.array([book.setdefault(w, len(book)) for w in words] + [NO_ID], dtype=np.int32)
            )
        merged[kind] = list(book)

    def joined(name: str, kind: str | None = None) -> np.ndarray:
        arrays = [getattr(p, name) for p in parts]
        if kind is not None:
            arrays = [remaps[kind][i][a] for i, a in enumerate(arrays)]
        return np.concatenate(arrays)

    counts = np.concatenate([np.diff(p.offsets) for p in parts])
    identifiers = (
        None
        if any(p.identifier is None for p in parts)
        else [i for p in parts for i in (p.identifier or [])]
    )
    vocab_of = {"hcode": "hcodes", "setting": "settings", "sex": "sexes", "drg": "drgs"}
    arrays: dict[str, Any] = {name: joined(name, vocab_of.get(name)) for name in CLAIM_ARRAYS}
    vocabularies: dict[str, Any] = merged
    return ClaimColumns(
        identifier=identifiers,
        **arrays,
        offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        line_code=joined("line_code", "codes"),
        line_quantity=joined("line_quantity"),
        line_unit=joined("line_unit"),
        **vocabularies,
    )


# ---------------------------------------------------------------- raw bundles, fast
def row_of_bundle(bundle: Mapping[str, Any], days: dict[str, int]) -> Row:
    """The builder row of a raw bundle: `facts_from_bundle` without building ClaimFacts.

    Equal to it fact by fact (tested); a Thai-time `billablePeriod.start` is read from the
    string without a datetime, and service days are cached in `days`.
    """
    resources = _by_url(bundle)
    claim = bundle["entry"][0]["resource"]
    period = claim.get("billablePeriod") or {}
    text = period.get("start")
    items = claim.get("item") or []
    if text and len(text) == 25 and text.endswith(THAI_SUFFIX):
        day_text, hour = text[:10], int(text[11:13])
        day = days.get(day_text)
        if day is None:
            day = days[day_text] = date.fromisoformat(day_text).toordinal()
        start: datetime | None = None
    else:
        start = _parse_moment(text)
        served = _thai_day(start) if start else _first_served(items)
        day = served.toordinal()
        hour = start.astimezone(THAI_TIME).hour if start and start.tzinfo else -1
    patient = _patient(resources, claim)
    encounter = _claim_encounter(claim, resources)
    setting = _setting(encounter, claim)
    drg, rw, adj_rw = _drg(claim)
    codes, quantities, units = [], [], []
    for item in items:
        codes.append(_code(item))
        quantities.append(float((item.get("quantity") or {}).get("value", 1)))
        units.append(raw_unit_price(item))
    total = _total(claim, items)
    stay = math.nan
    if setting == "IPD":
        stay = _none_nan(_ipd_stay(encounter, period, start, text))
    return (
        str(((claim.get("identifier") or [{}])[0]).get("value", "")),
        _provider_hcode(resources, claim),
        _cid(patient),
        day,
        hour,
        setting,
        _age_of(patient, day),
        (patient or {}).get("gender"),
        total,
        round(total, 2),
        drg,
        _none_nan(rw),
        _none_nan(adj_rw),
        stay,
        signature_number(codes),
        codes,
        quantities,
        units,
    )


def _patient(
    resources: dict[str, dict[str, Any]], claim: Mapping[str, Any]
) -> dict[str, Any] | None:
    ref = str((claim.get("patient") or {}).get("reference", ""))
    target = resources.get(ref)
    if target is None and "/" in ref:
        target = resources.get("/".join(ref.rsplit("/", 2)[-2:]))
    return target if target and target.get("resourceType") == "Patient" else None


def _code(item: Mapping[str, Any]) -> str:
    for coding in (item.get("productOrService") or {}).get("coding") or []:
        if coding.get("code"):
            return str(coding["code"])
    return "unknown"


def _age_of(patient: Mapping[str, Any] | None, day: int) -> float:
    birth = _parse_date((patient or {}).get("birthDate"))
    age = _age(birth, date.fromordinal(day)) if birth else None
    return _none_nan(age)


def _ipd_stay(
    encounter: Mapping[str, Any] | None,
    period: Mapping[str, Any],
    start: datetime | None,
    start_text: str | None,
) -> float | None:
    moment = start or _parse_moment(start_text)
    own = (encounter or {}).get("period") or {}
    return _stay(
        _parse_moment(own.get("start")) or moment,
        _parse_moment(own.get("end")) or _parse_moment(period.get("end")),
    )


def facts_of_row(row: Row) -> ClaimFacts:
    """A builder row back as facts (tests compare it with `facts_from_bundle`)."""
    return ClaimFacts(
        identifier=row[0],
        hcode=row[1],
        cid=row[2],
        day=date.fromordinal(row[3]),
        hour=row[4],
        setting=row[5],
        age=None if math.isnan(row[6]) else int(row[6]),
        sex=row[7],
        total=row[8],
        codes=tuple(row[15]),
        quantities=tuple(row[16]),
        unit_prices=tuple(row[17]),
        drg=row[10],
        rw=_maybe(row[11]),
        adj_rw=_maybe(row[12]),
        stay_days=_maybe(row[13]),
    )


def diagnoses_of(bundle: Mapping[str, Any]) -> tuple[str, ...]:
    """The claim's diagnosis codes (not a column: scoring does not use them)."""
    return _diagnoses(bundle["entry"][0]["resource"], _by_url(bundle))


# ---------------------------------------------------------------- NDJSON in parallel
@dataclass(frozen=True, slots=True)
class FileColumns:
    """A file's claims as columns, the line numbers that were not claim bundles, hospital names."""

    columns: ClaimColumns
    refused: list[int]
    names: dict[str, str]


def _ranges(path: Path, parts: int) -> list[tuple[int, int]]:
    """Byte ranges that split the file at line ends."""
    size = path.stat().st_size
    cuts = [0]
    with path.open("rb") as handle:
        for k in range(1, parts):
            handle.seek(max(size * k // parts, cuts[-1]))
            handle.readline()
            cuts.append(min(handle.tell(), size))
    cuts.append(size)
    return [(a, b) for a, b in zip(cuts, cuts[1:], strict=False) if b > a]


def _lines(path: Path, start: int, end: int) -> Iterator[bytes]:
    """The lines of a byte range (ending at a line end), read in large blocks.

    A bundle is a few kilobytes: read line by line, most lines cost a system call.
    """
    with path.open("rb") as handle:
        handle.seek(start)
        left, rest = end - start, b""
        while left > 0:
            block = handle.read(min(READ_BLOCK, left))
            if not block:
                break
            left -= len(block)
            lines = (rest + block).split(b"\n")
            rest = lines.pop()
            yield from lines
        rest += handle.readline() if rest else b""  # a line that starts in the range ends it
        if rest:
            yield rest


def _read_range(
    job: tuple[str, int, int, bool, bool],
) -> tuple[list[ClaimColumns], list[int], dict[str, str], int]:
    """Columns of one byte range, in chunks; refused lines are numbered within the range."""
    path, start, end, keep, tolerant = job
    # The parsed bundles hold no reference cycles, and the rows kept grow by the thousand:
    # without the cyclic collector, which would walk them again and again, a range reads
    # about a tenth faster (27 → 24 µs of CPU per claim).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _read_rows(Path(path), start, end, keep, tolerant)
    finally:
        if collecting:
            gc.enable()


def _read_rows(
    path: Path, start: int, end: int, keep: bool, tolerant: bool
) -> tuple[list[ClaimColumns], list[int], dict[str, str], int]:
    parts: list[ClaimColumns] = []
    refused: list[int] = []
    names: dict[str, str] = {}
    builder, days = _Builder(keep), dict[str, int]()
    number = 0
    for number, line in enumerate(_lines(path, start, end), start=1):  # noqa: B007
        if not line.strip():
            continue
        try:
            bundle = orjson.loads(line)
            _check(bundle, tolerant)
            row = row_of_bundle(bundle, days)
        except (
            orjson.JSONDecodeError,
            KeyError,
            IndexError,
            TypeError,
            ValueError,
            AttributeError,
        ):
            if not tolerant:
                raise
            refused.append(number)
            continue
        builder.add(row)
        if tolerant and row[1] not in names:
            name = _organisation_name(bundle)
            if name:
                names[row[1]] = name
        if len(builder.rows) == CHUNK_LINES:
            parts.append(builder.columns())
            builder = _Builder(keep)
    parts.append(builder.columns())
    return parts, refused, names, number


def _check(bundle: Any, tolerant: bool) -> None:
    """A cheap structural check for audits: a collection Bundle whose first entry is a Claim."""
    if tolerant and (
        not isinstance(bundle, dict)
        or bundle.get("resourceType") != "Bundle"
        or bundle.get("type") != "collection"
        or (bundle.get("entry") or [{}])[0].get("resource", {}).get("resourceType") != "Claim"
    ):
        raise ValueError("not a claim bundle")


def _organisation_name(bundle: Mapping[str, Any]) -> str:
    """The first Organization's name in the bundle (the billing hospital, for reports)."""
    for entry in bundle.get("entry") or []:
        resource = entry.get("resource") or {}
        if resource.get("resourceType") == "Organization" and resource.get("name"):
            return str(resource["name"])
    return ""


def workers() -> int:
    """Worker processes for reading: the CPUs this process may use."""
    return max(1, len(os.sched_getaffinity(0)))


def workers_for(claims: int) -> int:
    """Processes or threads worth starting for work over `claims` claims.

    One below `PARALLEL_FROM` claims (a fork costs more than it saves there: tests, small
    audits), and one inside a daemonic worker process, which may not start processes.
    """
    if claims < PARALLEL_FROM or multiprocessing.current_process().daemon:
        return 1
    return workers()


def read_ndjson(
    path: Path,
    *,
    keep_identifiers: bool = True,
    tolerant: bool = False,
    processes: int | None = None,
) -> FileColumns:
    """Columns of every claim bundle in an NDJSON file, read once in parallel byte ranges.

    `tolerant`: a line that is not a claim bundle is refused (its line number kept) instead of
    failing the read.
    """
    count = processes or workers()
    # Eight ranges per worker: whichever worker finishes first takes the next range, so at the
    # end one worker waits for at most an eighth of its share.
    jobs = [
        (str(path), a, b, keep_identifiers, tolerant) for a, b in _ranges(path, max(count * 8, 1))
    ]
    if count == 1 or len(jobs) == 1:
        results = [_read_range(job) for job in jobs]
    else:
        with forked_pool(count) as pool:
            results = list(pool.map(_read_range, jobs))
    parts: list[ClaimColumns] = []
    refused: list[int] = []
    names: dict[str, str] = {}
    offset = 0
    for chunk_parts, chunk_refused, chunk_names, lines in results:
        parts.extend(p for p in chunk_parts if len(p) or len(parts) == 0)
        refused.extend(offset + n for n in chunk_refused)
        for hcode, name in chunk_names.items():
            names.setdefault(hcode, name)
        offset += lines
    return FileColumns(concat([p for p in parts if len(p)] or parts[:1]), refused, names)


def from_rows(rows: Iterable[Row], *, keep_identifiers: bool = True) -> ClaimColumns:
    """Columns of builder rows (e.g. read from the database's fact columns), in order."""
    parts, builder = [], _Builder(keep_identifiers)
    for row in rows:
        builder.add(row)
        if len(builder.rows) == CHUNK_LINES * 5:
            parts.append(builder.columns())
            builder = _Builder(keep_identifiers)
    parts.append(builder.columns())
    return concat(parts)
