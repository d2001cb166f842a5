"""Temporal smoothing of one person's expression probabilities.

* ``ema``: exponential moving average with a time constant (irregular sampling handled by
  ``alpha = 1 - exp(-dt / tau)``), low-quality faces count less.
* ``hmm``: a hidden Markov model over the classes (sticky transitions, the classifier's
  probabilities as emission likelihoods tempered by face quality); forward-backward gives
  smoothed class probabilities, so labels stop flickering while real changes survive.
"""

from __future__ import annotations

import numpy as np


def ema(times: np.ndarray, probs: np.ndarray, weights: np.ndarray, tau_s: float = 1.0) -> np.ndarray:
    """Causal-and-anticausal (zero-lag) EMA over (N, K) probabilities."""

    def one_way(t: np.ndarray, p: np.ndarray, w: np.ndarray) -> np.ndarray:
        out = np.empty_like(p)
        state = p[0].copy()
        for i in range(len(p)):
            dt = t[i] - t[i - 1] if i else np.inf
            a = (1.0 - np.exp(-abs(dt) / tau_s)) * w[i] if i else 1.0
            state = (1 - a) * state + a * p[i]
            out[i] = state
        return out

    if len(probs) == 0:
        return probs.copy()
    fwd = one_way(times, probs, weights)
    bwd = one_way(times[::-1], probs[::-1], weights[::-1])[::-1]
    out = (fwd + bwd) / 2
    return out / out.sum(1, keepdims=True)


def hmm(times: np.ndarray, probs: np.ndarray, weights: np.ndarray, stay_per_s: float = 0.8) -> np.ndarray:
    """Forward-backward posteriors of a sticky HMM over the K classes."""
    n, k = probs.shape
    if n == 0:
        return probs.copy()
    prior = probs.mean(0) + 1e-3
    prior /= prior.sum()
    # emission likelihood p(x|c) ∝ p(c|x)/p(c), tempered by quality (0: uninformative)
    lik = np.clip(probs, 1e-4, 1.0) / prior
    lik = lik ** np.clip(weights, 0.05, 1.0)[:, None]
    alpha = np.empty((n, k))
    scale = np.empty(n)

    def trans(dt: float) -> np.ndarray:
        stay = stay_per_s ** max(dt, 1e-3)
        return stay * np.eye(k) + (1 - stay) * prior[None, :]

    mats = [trans(float(times[i] - times[i - 1])) for i in range(1, n)]
    a = prior * lik[0]
    scale[0] = a.sum()
    alpha[0] = a / scale[0]
    for i in range(1, n):
        a = (alpha[i - 1] @ mats[i - 1]) * lik[i]
        scale[i] = a.sum()
        alpha[i] = a / scale[i]
    beta = np.ones((n, k))
    for i in range(n - 2, -1, -1):
        b = mats[i] @ (lik[i + 1] * beta[i + 1])
        beta[i] = b / b.sum()
    post = alpha * beta
    return post / post.sum(1, keepdims=True)


def smooth(method: str, times: np.ndarray, probs: np.ndarray, weights: np.ndarray, tau_s: float, stay_per_s: float) -> np.ndarray:
    """Dispatch on ``method`` (``none``, ``ema``, ``hmm``)."""
    if method == "ema":
        return ema(times, probs, weights, tau_s)
    if method == "hmm":
        return hmm(times, probs, weights, stay_per_s)
    return probs.copy()
