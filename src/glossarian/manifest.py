"""The index manifest: one typed object describing a build (model, layout, checksums, calibration), read in one place."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from glossarian.errors import IndexInvalid

FORMAT_VERSION = 2
REBUILD_HINT = "Run `glossarian index build` to rebuild it."


@dataclass(frozen=True)
class Calibration:
    """Where this model's scores fall, measured at build time (calibrate.py), and the thresholds derived from them.

    Cosine scales differ between models (multilingual-e5-small puts unrelated text near 0.8, all-MiniLM near
    0.1), so no threshold in retrieval is an absolute cosine. Out-of-scope probes (the background passages asked
    as questions) give the location and spread (median, interquartile range) of two scores: the best entry
    cosine, and the margin of that over the best *other* background passage. Each threshold is then
    location + parameter x spread, with the unit-free parameters of data/retrieval_params.json (chosen by
    `glossarian tune`: k-fold cross-validation on the dev set). In-scope probes (`asks` lines, and definitions
    with their names removed, each against its own entry without the view it came from) are measured too: they
    must score above the out-of-scope location, or the model cannot tell the glossary from the rest.
    """

    out_cosine: float  # median best entry cosine of out-of-scope probes
    out_cosine_spread: float  # its interquartile range
    out_margin: float  # median (best entry cosine - best other background cosine) of out-of-scope probes
    out_margin_spread: float
    in_cosine: float  # median best own-entry cosine of in-scope probes
    in_margin: float  # median (own-entry cosine - best background cosine) of in-scope probes
    in_probes: int
    out_probes: int
    # Thresholds in this model's cosines (see retrieval.py for their use).
    floor: float
    named_floor: float
    margin: float
    named_margin: float
    lexical_weight: float
    named_bonus: float
    cutoff: float
    facet_penalty: float
    asks_penalty: float
    params: dict = field(default_factory=dict)  # the unit-free parameters they were derived from

    @classmethod
    def derive(cls, stats: dict, params: dict) -> "Calibration":
        """Thresholds from measured statistics (the first eight fields) and unit-free parameters."""
        cu = max(stats["out_cosine_spread"], 1e-6)
        mu = max(stats["out_margin_spread"], 1e-6)
        oc, om = stats["out_cosine"], stats["out_margin"]
        return cls(
            **{k: (round(v, 5) if isinstance(v, float) else v) for k, v in stats.items()},
            floor=round(oc + params["floor"] * cu, 5),
            named_floor=round(oc + params.get("named_floor", params["floor"]) * cu, 5),
            margin=round(om + params["margin"] * mu, 5),
            named_margin=round(om + params["named_margin"] * mu, 5),
            lexical_weight=round(params["lexical_weight"] * cu, 5),
            named_bonus=round(params["named_bonus"] * cu, 5),
            cutoff=round(params["cutoff"] * cu, 5),
            facet_penalty=round(params.get("facet_penalty", 0.0) * cu, 5),
            asks_penalty=round(params.get("asks_penalty", 0.0) * cu, 5),
            params=dict(params),
        )

    @property
    def stats(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)[:8]}

    def with_params(self, params: dict) -> "Calibration":
        """The same measurements with other parameters (the tuner's sweep)."""
        return Calibration.derive(self.stats, params)


@dataclass(frozen=True)
class Manifest:
    model: str
    model_fingerprint: str
    dim: int
    count: int  # entries
    rows: int  # view vectors
    layout: str  # views.LAYOUT
    background: str  # digest of the background passages used
    ann: str  # "flat" or "hnsw"
    corpus: str
    built_at: str
    entries: dict  # id -> content hash
    versions: dict  # package versions
    files: dict  # relative path -> sha256
    calibration: Calibration
    format: int = FORMAT_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1)

    @classmethod
    def from_dict(cls, d: dict) -> "Manifest":
        names = {f.name for f in fields(cls)}
        missing = names - set(d) - {"format"}
        if missing:
            raise ValueError(f"missing fields: {', '.join(sorted(missing))}")
        cal = d["calibration"]
        cal_names = {f.name for f in fields(Calibration)}
        return cls(**{k: v for k, v in d.items() if k in names and k != "calibration"},
                   calibration=Calibration(**{k: v for k, v in cal.items() if k in cal_names}))

    def same_model(self, model: tuple[str, str | None]) -> bool:
        name, fingerprint = model
        return self.model == name and (not fingerprint or self.model_fingerprint == fingerprint)


def read_manifest_file(folder: Path) -> Manifest:
    """The manifest of one build folder; IndexInvalid when missing, corrupt or of another format."""
    try:
        raw = json.loads((folder / "manifest.json").read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexInvalid(f"The index manifest in {folder} is missing or corrupt ({exc}).", REBUILD_HINT) from exc
    if not isinstance(raw, dict) or raw.get("format") != FORMAT_VERSION:
        raise IndexInvalid(f"The index in {folder} has an unknown or older format.", REBUILD_HINT)
    try:
        return Manifest.from_dict(raw)
    except (TypeError, ValueError, KeyError) as exc:
        raise IndexInvalid(f"The index manifest in {folder} is incomplete ({exc}).", REBUILD_HINT) from exc
