"""Synthetic unit vectors with cluster structure, like sentence embeddings (random Gaussians are not)."""
from __future__ import annotations

import numpy as np


def clustered(n: int, dim: int = 64, clusters: int = 50, spread: float = 0.35, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    x = centres[rng.integers(0, clusters, n)] + spread * rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def keys(n: int, seed: int = 1) -> np.ndarray:
    """Distinct int64 keys spread like the hash-derived story keys."""
    rng = np.random.default_rng(seed)
    return np.unique(rng.integers(1, 2**62, n * 2, dtype=np.int64))[:n][rng.permutation(n)]


def exact(vectors: np.ndarray, ids: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    order = np.argsort(-(queries @ vectors.T), axis=1)[:, :k]
    return ids[order]


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found.tolist(), truth.tolist())]))
