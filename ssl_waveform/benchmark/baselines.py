"""Evaluations that need no fine-tuning: k-NN on frozen embeddings and a classical FFT-feature classifier."""

from __future__ import annotations

import itertools

import numpy as np
import torch
import torch.nn.functional as F


def knn_predict(
    train_emb: np.ndarray, train_y: np.ndarray, test_emb: np.ndarray, k: int = 5
) -> np.ndarray:
    """Cosine k-NN with similarity-weighted votes; ``k`` is capped at the training set size.

    Args:
        train_emb: ``[N, D]`` embeddings of labeled windows.
        train_y: ``[N]`` their labels.
        test_emb: ``[M, D]`` embeddings to classify.

    Returns:
        ``[M]`` predicted labels.
    """
    a = F.normalize(torch.as_tensor(train_emb, dtype=torch.float32), dim=1)
    b = F.normalize(torch.as_tensor(test_emb, dtype=torch.float32), dim=1)
    k = min(k, len(a))
    sim, idx = (b @ a.T).topk(k, dim=1)
    labels = torch.as_tensor(train_y, dtype=torch.long)[idx]
    votes = torch.zeros(len(b), int(train_y.max()) + 1)
    votes.scatter_add_(1, labels, sim.exp())
    return votes.argmax(dim=1).numpy()


def fft_features(x: np.ndarray, bands: int = 48) -> np.ndarray:
    """Hand-made features of windows ``[N, C, T]``: per-channel DC offset, RMS share and log band energies.

    Each window is scaled by its overall RMS first (scale invariance), so the features describe the waveform's
    shape: the DC offset and the even harmonics that an open switch leaves, and the channel balance.
    """
    x = np.asarray(x, dtype=np.float64)
    scale = np.sqrt(np.mean(np.square(x), axis=(1, 2), keepdims=True)) + 1e-9
    x = x / scale
    dc = x.mean(axis=-1)
    rms = np.sqrt(np.mean(np.square(x - dc[..., None]), axis=-1))
    spec = np.abs(np.fft.rfft(x - dc[..., None], axis=-1)) ** 2
    edges = np.unique(np.geomspace(1, spec.shape[-1], bands + 1).astype(int))
    energy = np.stack([spec[..., a:b].sum(axis=-1) for a, b in itertools.pairwise(edges)], axis=-1)
    feats = [dc, rms, np.log1p(energy).reshape(len(x), -1)]
    return np.concatenate(feats, axis=1).astype(np.float32)


def logistic_regression(
    train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, num_classes: int, l2: float = 1e-3
) -> np.ndarray:
    """Multinomial logistic regression (standardised features, L2, full-batch L-BFGS); predicted labels."""
    mu, sd = train_x.mean(axis=0), train_x.std(axis=0) + 1e-6
    a = torch.as_tensor((train_x - mu) / sd, dtype=torch.float64)
    b = torch.as_tensor((test_x - mu) / sd, dtype=torch.float64)
    y = torch.as_tensor(train_y, dtype=torch.long)
    w = torch.zeros(a.shape[1], num_classes, dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(num_classes, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w, bias], max_iter=300, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(a @ w + bias, y) + l2 * (w**2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        return (b @ w + bias).argmax(dim=1).numpy()
